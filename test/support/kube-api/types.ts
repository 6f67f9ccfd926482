/**
 * Shapes shared by the modules of the Kubernetes API test server. Objects are plain JSON: the
 * server never uses typed models, so it keeps every field a client sends, as a real API server
 * keeps every field its schema knows.
 */

/** A JSON object as it travels on the wire. */
export interface JsonObject {
  [key: string]: unknown;
}

/** `metadata` of a Kubernetes object, with the fields the server reads or writes by name. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown;
  [key: string]: unknown;
}

/** An entry of `metadata.ownerReferences`; the garbage collector follows `uid`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

/**
 * How `metadata.generation` moves on writes to the main resource (never on `/status`):
 * `spec` when the spec changes, `spec+annotations` for Deployments (annotations are copied to
 * their ReplicaSets), `non-meta` for custom resources (anything but metadata and status),
 * `none` for types that have no generation at all (ConfigMap, Secret, RBAC…).
 */
export type GenerationRule = 'none' | 'spec' | 'spec+annotations' | 'non-meta';

/** One served resource type: what discovery lists and what routing resolves a URL to. */
export interface TypeInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  hasStatus: boolean;
  listKind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  generation: GenerationRule;
  /** True for types compiled into the server; false for types served from a CRD. */
  builtin: boolean;
  /** Name of the CustomResourceDefinition that serves this type. */
  crd?: string;
  /** The version's `openAPIV3Schema`, read for `x-kubernetes-list-type` and friends. */
  schema?: JsonObject;
}

/** `apiVersion` of a type: `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(type: { group: string; version: string }): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `String(value)` for a value read from a JSON document, spelled out so the object case is
 * explicit: strings as they are, other primitives as String() gives them, arrays joined with
 * commas as Array.prototype.toString joins them, and objects as "[object Object]".
 */
export function text(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'symbol':
    case 'function':
      return value.toString();
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return value.map((item: unknown) => (item === null || item === undefined ? '' : text(item))).join(',');
      return Object.prototype.toString.call(value);
  }
}

/** Structural equality of two JSON values (key order ignored, as on the wire). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bo = b as JsonObject;
  let bCount = 0;
  for (const k in bo) if (bo[k] !== undefined) bCount++;
  let aCount = 0;
  for (const k of ak) {
    const av = (a as JsonObject)[k];
    if (av === undefined) continue;
    aCount++;
    if (!deepEqual(av, bo[k])) return false;
  }
  return aCount === bCount;
}

/** A deep copy of a JSON value (objects here never hold anything JSON cannot). */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** RFC 3339 with second precision, the way the API server writes timestamps. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
