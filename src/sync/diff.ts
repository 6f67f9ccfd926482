import type { KubeObject } from '../kube/refs.js';

/** Metadata the server owns; differences there are never drift. */
const SERVER_METADATA = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** At most this many paths are reported per object. */
const MAX_PATHS = 50;

/** An object without what only the server writes: status and server-owned metadata. */
export function normalize(obj: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj as KubeObject & { status?: unknown };
  const meta: Record<string, unknown> = { ...metadata };
  for (const key of SERVER_METADATA) delete meta[key];
  return { ...rest, metadata: meta };
}

/**
 * The field paths where two versions of an object differ, after normalising both
 * (`spec.replicas`, `spec.template.spec.containers[name=web].image`, `data.password`). Only paths
 * are returned, never values, so a Secret's diff reveals which keys changed and nothing else.
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
    const keyed = keyOf(a) && keyOf(b);
    if (keyed) {
      const byKey = new Map(b.map((item) => [String((item as Record<string, unknown>).name), item]));
      const seen = new Set<string>();
      for (const item of a) {
        const k = String((item as Record<string, unknown>).name);
        seen.add(k);
        walk(item, byKey.get(k), `${path}[name=${k}]`, out);
      }
      for (const k of byKey.keys()) if (!seen.has(k)) out.push(`${path}[name=${k}]`);
      return;
    }
    if (a.length !== b.length) {
      out.push(path || '.');
      return;
    }
    a.forEach((item, i) => walk(item, b[i], `${path}[${i}]`, out));
    return;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) walk(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  out.push(path || '.');
}

function keyOf(list: unknown[]): boolean {
  return list.length > 0 && list.every((item) => isObject(item) && typeof item.name === 'string');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
