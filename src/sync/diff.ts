import type { KubeObject } from '../kube/refs.js';

/** Metadata the server owns; differences there are never drift. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'uid',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/** At most this many paths are reported per object. */
const MAX_PATHS = 50;

/** An object without what only the server writes: status and server-owned metadata. */
export function normalize(obj: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj;
  const meta: Record<string, unknown> = { ...metadata };
  for (const key of SERVER_METADATA) delete meta[key];
  return { ...rest, metadata: meta };
}

/**
 * The field paths where two versions of an object differ, after normalising both
 * (`spec.replicas`, `spec.template.spec.containers[name=web].image`, `data.password`). Only paths
 * are returned, never values, so a Secret's diff reveals which keys changed and nothing else.
 *
 * Both sides are the API server's own output (a server-side dry-run and a GET), so lists are
 * compared as the server ordered them, item by item: the server has already merged a list by the
 * keys its schema declares (`mountPath`, `containerPort` and `protocol`, ...), and a difference in
 * order is a write the apply would make. Matching items by `name` instead would collapse items
 * that share one (two `volumeMounts` of one volume with different `subPath`s) and report a change
 * on every sync. An item is named `[name=x]` where its name is unique in both lists at that
 * position, `[i]` otherwise.
 */
export function changedPaths(desired: KubeObject, live: KubeObject): string[] {
  const out: string[] = [];
  walk(normalize(desired), normalize(live), '', out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_PATHS) return;
  if (a === b) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push(path || '.');
      return;
    }
    const namesA = uniqueNames(a);
    const namesB = uniqueNames(b);
    a.forEach((item, i) => {
      const name = nameOf(item);
      const label = name !== undefined && namesA.has(name) && namesB.has(name) && nameOf(b[i]) === name ? `name=${name}` : String(i);
      walk(item, b[i], `${path}[${label}]`, out);
    });
    return;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) walk(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  out.push(path || '.');
}

function nameOf(item: unknown): string | undefined {
  return isObject(item) && typeof item.name === 'string' ? item.name : undefined;
}

/** The `name`s that occur exactly once in a list. */
function uniqueNames(list: unknown[]): Set<string> {
  const counts = new Map<string, number>();
  for (const item of list) {
    const name = nameOf(item);
    if (name !== undefined) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, n]) => n === 1).map(([name]) => name));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
