/** Reading values whose type is not known (caught errors, parsed YAML and JSON) without casts. */

/** Whether a value is a plain object (not null, not an array), so its keys can be read. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The message of anything thrown: an Error's message, or the value in words. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of a thrown Node.js system error (`ENOENT`, `EPERM`), if it has one. */
export function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}
