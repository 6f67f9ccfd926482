/** The reason of the error for an object of a kind the cluster does not serve (no such API version). */
export const KIND_NOT_SERVED = 'KindNotServed';

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
    this.transient = (status === 0 || status === 429 || status >= 500) && !isMalformedApply(status, body);
  }

  /** The server's reason: NotFound, Conflict, Invalid, Forbidden, ... */
  get reason(): string | undefined {
    return this.body?.reason;
  }
}

/**
 * A server-side apply the API server cannot even turn into a typed object: an unknown field of a
 * built-in kind (`.spec.replicaz: field not declared in schema`) or duplicate list keys
 * (`duplicate entries for key [name="web"]`, kubernetes#122480). kube-apiserver 1.36 answers these
 * 500, but sending the same body again can never succeed, so they are permanent.
 */
export function isMalformedApply(status: number, body: KubeStatus | undefined): boolean {
  return status === 500 && /failed to create typed (patch|live) object/.test(body?.message ?? '');
}
