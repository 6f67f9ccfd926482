/**
 * Status objects with the reasons, codes, messages and details of `apimachinery
 * pkg/api/errors` (kube.md B7 §10). Clients branch on `reason`, `code` and `details.causes`, so
 * these shapes are the part of the server that most needs to match a real one byte for byte.
 */

/** One entry of `details.causes`; the JSON key of the cause type is `reason`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** `details` of a Status. `kind` is the resource plural for most errors, the Kind for Invalid. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A `meta/v1` Status, as every error (and some deletes) answer. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failed request: thrown inside the server, turned into its Status on the wire. */
export class ApiError extends Error {
  /** The Status body to send. */
  readonly status: Status;
  /** Extra response headers (Retry-After on 429). */
  readonly headers: Record<string, string>;
  /** Sent as text/plain instead of the Status: Go's mux answering a path nothing is mounted on. */
  readonly plainText: string | undefined;

  constructor(status: Status, headers: Record<string, string> = {}, plainText?: string) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.status = status;
    this.headers = headers;
    this.plainText = plainText;
  }
}

/** The identity of a resource as errors name it. */
export interface ResourceName {
  group: string;
  plural: string;
}

/** A failure Status with the field order the API server uses. */
export function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  // Go serialises the struct in this order, with `details` omitted when empty.
  if (details) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** `deployments.apps` for grouped resources, `configmaps` for the core group. */
export function qualifiedResource(res: ResourceName): string {
  return res.group ? `${res.plural}.${res.group}` : res.plural;
}

/** `Deployment.apps` for grouped kinds, `Service` for the core group. */
export function qualifiedKind(group: string, kind: string): string {
  return group ? `${kind}.${group}` : kind;
}

function resourceDetails(res: ResourceName, name: string): StatusDetails {
  const details: StatusDetails = { name };
  if (res.group) details.group = res.group;
  details.kind = res.plural;
  return details;
}

/** 404 for a named object that does not exist. */
export function notFound(res: ResourceName, name: string): ApiError {
  return new ApiError(failure(404, 'NotFound', `${qualifiedResource(res)} "${name}" not found`, resourceDetails(res, name)));
}

/** 404 for a path the server does not serve at all (unknown group-version, resource, subresource). */
export function notFoundPath(): ApiError {
  return new ApiError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));
}

/**
 * 404 for a path under an API group the server does not serve at all, or outside every API
 * root: kube-apiserver 1.36 answers these from Go's mux, as `text/plain` "404 page not found",
 * not as a Status (a known group with an unknown version or resource gets the Status).
 */
export function notFoundPage(): ApiError {
  return new ApiError(failure(404, 'NotFound', '404 page not found', {}), {}, '404 page not found\n');
}

/** 409 for a create whose name is taken. */
export function alreadyExists(res: ResourceName, name: string): ApiError {
  return new ApiError(failure(409, 'AlreadyExists', `${qualifiedResource(res)} "${name}" already exists`, resourceDetails(res, name)));
}

/** 409 for a write whose `metadata.resourceVersion` precondition no longer holds. */
export function conflictModified(res: ResourceName, name: string): ApiError {
  return new ApiError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(res)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      resourceDetails(res, name),
    ),
  );
}

/** One field error of a 422 (`field.Error` rendered): `field` plus `Invalid value: …: detail`. */
export interface FieldError {
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueTooLong';
  field: string;
  message: string;
}

/** `Invalid value: <value>: <detail>`, with the value rendered as JSON (Go renders `%#v`). */
export function invalidValue(field: string, value: unknown, detail: string): FieldError {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` };
}

/** `Required value` with an optional detail. */
export function requiredValue(field: string, detail?: string): FieldError {
  return { reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' };
}

/** `Forbidden: <detail>`. */
export function forbiddenValue(field: string, detail: string): FieldError {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

/** `Unsupported value: "x": supported values: "a", "b"`. */
export function unsupportedValue(field: string, value: unknown, supported: string[]): FieldError {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

/**
 * 422 Invalid (`errors.NewInvalid`): message `<Kind.group> "<name>" is invalid: <errors>`, one
 * error plain, several as `[a, b]` (Go's `ErrorList.ToAggregate`), details with the Kind.
 */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => `${e.field}: ${e.message}`);
  const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (group) details.group = group;
  details.kind = kind;
  details.causes = errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field }));
  return new ApiError(failure(422, 'Invalid', `${qualifiedKind(group, kind)} "${name}" is invalid: ${list}`, details));
}

/** 422 on request options (`PatchOptions.meta.k8s.io "" is invalid: …`). */
export function invalidOptions(optionsKind: string, errors: FieldError[]): ApiError {
  return invalid('meta.k8s.io', optionsKind, '', errors);
}

/** 400 BadRequest, which carries no details. */
export function badRequest(message: string): ApiError {
  return new ApiError(failure(400, 'BadRequest', message));
}

/** 405 for a verb the resource does not allow at that path. */
export function methodNotAllowed(): ApiError {
  return new ApiError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
}

/** 415 for a PATCH content type the resource does not accept (custom resources take no strategic merge patch). */
export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {}),
  );
}

/** 401 exactly as kube-apiserver answers a missing or rejected credential. */
export function unauthorized(): ApiError {
  return new ApiError(failure(401, 'Unauthorized', 'Unauthorized'));
}

/** 403 with a message the caller composed (RBAC denial, terminating namespace). */
export function forbidden(message: string, details: StatusDetails): ApiError {
  return new ApiError(failure(403, 'Forbidden', message, details));
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));
}

/** The default Status for an injected fault with a given HTTP code. */
export function statusForCode(code: number, retryAfterSeconds?: number): Status {
  switch (code) {
    case 429:
      return failure(429, 'TooManyRequests', 'Too many requests, please try again later.', {
        retryAfterSeconds: retryAfterSeconds ?? 1,
      });
    case 500:
      return failure(500, 'InternalError', 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] });
    case 503:
      return failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', {});
    case 504:
      return failure(504, 'Timeout', 'the server was unable to return a response in the time allotted', {});
    default:
      return failure(code, code >= 500 ? 'InternalError' : 'BadRequest', `injected fault (HTTP ${code})`);
  }
}

/** One field conflict of a server-side apply. */
export interface ApplyConflict {
  /** The manager as `printManager` renders it: `"name"`, `"name" using apps/v1`, … */
  manager: string;
  /** The field path as structured-merge-diff renders it: `.spec.replicas`. */
  field: string;
}

/**
 * 409 Conflict of a server-side apply (`internal/conflict.go NewConflictError`): one conflict →
 * `Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`; several →
 * grouped per manager, managers sorted, `conflicts with "m":\n- .a\n- .b`.
 */
export function applyConflict(conflicts: ApplyConflict[]): ApiError {
  let message: string;
  const first = conflicts[0];
  if (conflicts.length === 1 && first) {
    message = `Apply failed with 1 conflict: conflict with ${first.manager}: ${first.field}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
    const lines: string[] = [];
    for (const manager of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${manager}:`);
      for (const field of byManager.get(manager) ?? []) lines.push(`- ${field}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: c.field }));
  return new ApiError(failure(409, 'Conflict', message, { causes }));
}
