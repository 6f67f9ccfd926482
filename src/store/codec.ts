import type { z } from 'zod';

/**
 * Something read from Redis that is not what its codec expects: a hash, record or stream entry
 * written by another version, cut short, or changed by hand. Says which key and what is wrong,
 * so it can be logged and skipped instead of crashing whatever read it.
 */
export class StoredDataError extends Error {
  readonly code = 'STORED_DATA_INVALID';
  constructor(
    readonly key: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${key} holds unreadable data: ${problem}`, options);
    this.name = 'StoredDataError';
  }
}

/** The first problem zod found, as `path: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** Reads a value through its schema; a mismatch throws a {@link StoredDataError} naming `key`. */
export function decodeStored<S extends z.ZodType>(schema: S, key: string, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new StoredDataError(key, firstIssue(parsed.error), { cause: parsed.error });
  return parsed.data;
}

/** Reads JSON text through its schema; bad JSON or a mismatch throws a {@link StoredDataError}. */
export function decodeStoredJson<S extends z.ZodType>(schema: S, key: string, text: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StoredDataError(key, 'not JSON', { cause: err });
  }
  return decodeStored(schema, key, value);
}

/**
 * A Redis hash without its empty fields (Landfall writes `''` for "none"), so hash schemas say
 * `optional()` once instead of every reader testing for `''`.
 */
export function withoutEmpty(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ''));
}

/** Reads a Redis hash through its schema, empty fields as missing; a mismatch throws a {@link StoredDataError}. */
export function decodeHash<S extends z.ZodType>(schema: S, key: string, fields: Record<string, string>): z.output<S> {
  return decodeStored(schema, key, withoutEmpty(fields));
}
