/** A Kubernetes `Status` object, as the API server returns for errors. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/**
 * An answer from the API server other than success. `transient` says whether trying again
 * later can help (429, 5xx, network trouble) or the request itself is wrong (4xx).
 */
export class KubeApiError extends Error {
  readonly code: string;
  readonly transient: boolean;
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: KubeStatus | undefined,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? body?.message ?? `${method} ${path} answered ${status}`, options);
    this.name = 'KubeApiError';
    this.code = body?.reason ?? (status === 0 ? 'NetworkError' : `HTTP${status}`);
    this.transient = status === 0 || status === 429 || status >= 500;
  }

  /** The server's reason: NotFound, Conflict, Invalid, Forbidden, ... */
  get reason(): string | undefined {
    return this.body?.reason;
  }
}

/** Whether an error is a 404 from the API server. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
