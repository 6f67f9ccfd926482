/**
 * Object storage (kube.md B7 §4). Objects are keyed by group + plural + namespace + name — not
 * by version, since one object is served in every version of its type (no conversion) — and one
 * counter hands out resourceVersions, as etcd's revision does.
 */
import type { ManagedEntry } from './ssa.js';
import type { KubeObject } from './types.js';

/** One stored object and the managers of its fields. */
export interface StoredObject {
  group: string;
  plural: string;
  namespace: string;
  name: string;
  /** The object without managedFields (those are rendered from `managed` on the way out). */
  obj: KubeObject;
  managed: readonly ManagedEntry[];
}

/** The storage of one server instance. */
export interface Store {
  get(group: string, plural: string, namespace: string, name: string): StoredObject | undefined;
  /** Inserts or replaces. */
  put(record: StoredObject): void;
  remove(record: StoredObject): void;
  /** Objects of one type, optionally of one namespace, sorted by namespace then name. */
  list(group: string, plural: string, namespace?: string): StoredObject[];
  /** Every object of every type. */
  all(): StoredObject[];
  /** The next resourceVersion, consumed. */
  nextResourceVersion(): string;
  /** The latest resourceVersion handed out (what a list reports). */
  currentResourceVersion(): string;
  clear(): void;
}

function typeKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Creates an empty store. */
export function createStore(): Store {
  const byType = new Map<string, Map<string, StoredObject>>();
  // Starts above zero so that "0" (meaning "any" in list requests) is never a real version.
  let revision = 100;

  return {
    get(group, plural, namespace, name) {
      return byType.get(typeKey(group, plural))?.get(objectKey(namespace, name));
    },
    put(record) {
      const key = typeKey(record.group, record.plural);
      let objects = byType.get(key);
      if (!objects) byType.set(key, (objects = new Map()));
      objects.set(objectKey(record.namespace, record.name), record);
    },
    remove(record) {
      byType.get(typeKey(record.group, record.plural))?.delete(objectKey(record.namespace, record.name));
    },
    list(group, plural, namespace) {
      const objects = byType.get(typeKey(group, plural));
      if (!objects) return [];
      const out = [...objects.values()].filter((r) => namespace === undefined || r.namespace === namespace);
      return out.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
    },
    all() {
      const out: StoredObject[] = [];
      for (const objects of byType.values()) out.push(...objects.values());
      return out;
    },
    nextResourceVersion() {
      revision += 1;
      return String(revision);
    },
    currentResourceVersion() {
      return String(revision);
    },
    clear() {
      byType.clear();
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
