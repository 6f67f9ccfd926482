/**
 * A sync failure with a stable code and a message a person can act on. Permanent failures
 * (bad manifests, policy, 4xx) are reported once; transient ones (network, 5xx, timeouts) are
 * retried with backoff.
 */
export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly transient = false,
    options?: { cause?: unknown; object?: string; file?: string },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SyncError';
    this.object = options?.object;
    this.file = options?.file;
  }
  /** The object the failure is about, as `Kind/namespace/name`. */
  readonly object: string | undefined;
  /** The file (and document) the failure is about. */
  readonly file: string | undefined;
}

/** `err` itself when it is a SyncError, else wrapped in one (transient, with `err` as the cause). */
export function toSyncError(err: unknown, code = 'INTERNAL'): SyncError {
  if (err instanceof SyncError) return err;
  return new SyncError(code, err instanceof Error ? err.message : String(err), true, { cause: err });
}
