/**
 * A forge REST API call that failed. Classified in one place: 429, 5xx, network errors and
 * GitHub's rate-limit 403 are transient (try again, after `retryAfterMs` when the forge said
 * when); everything else is permanent.
 */
export class ForgeApiError extends Error {
  readonly code = 'FORGE_API_FAILED';
  constructor(
    message: string,
    readonly status: number,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ForgeApiError';
  }
}

/** Reads `Retry-After` (seconds or an HTTP date) and GitHub's `x-ratelimit-reset`. */
export function retryAfterMs(headers: Headers | Record<string, string | undefined>, now = Date.now()): number | undefined {
  const get = (name: string) => (headers instanceof Headers ? (headers.get(name) ?? undefined) : (headers[name] ?? headers[name.toLowerCase()]));
  const retryAfter = get('retry-after');
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  if (get('x-ratelimit-remaining') === '0') {
    const reset = Number(get('x-ratelimit-reset'));
    if (Number.isFinite(reset)) return Math.max(0, reset * 1000 - now);
  }
  return undefined;
}

/** Builds the error for a non-2xx answer. */
export function forgeHttpError(what: string, status: number, headers: Headers | Record<string, string | undefined>, body: string): ForgeApiError {
  const wait = retryAfterMs(headers);
  const rateLimited = status === 429 || (status === 403 && wait !== undefined);
  const transient = rateLimited || status >= 500 || status === 408;
  const detail = body.length > 300 ? `${body.slice(0, 300)}…` : body;
  return new ForgeApiError(`${what} answered ${status}${detail ? `: ${detail}` : ''}`, status, transient, rateLimited ? wait : undefined);
}

/** Builds the error for a request that got no answer. */
export function forgeNetworkError(what: string, err: unknown): ForgeApiError {
  return new ForgeApiError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, 0, true, undefined, { cause: err });
}

/** A property of a thrown value (Octokit's `status`, Gitbeaker's `cause`) read without trusting its shape. */
export function fieldOf(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  const field: unknown = Reflect.get(value, key);
  return field;
}

/** The HTTP status a client library's error carries (`err.status`), if it is a number. */
export function statusOf(err: unknown): number | undefined {
  const status = fieldOf(err, 'status');
  return typeof status === 'number' ? status : undefined;
}
