import type { AppConfig } from '../config/schema.js';
import type { KubeObject } from '../kube/refs.js';
import { FIELD_MANAGER } from './labels.js';

/** A field manager whose fields Landfall takes over when it finds them on an object it applies. */
export type ForeignManager = AppConfig['takeOverFieldsFrom'][number];

/** The annotation client-side `kubectl apply` keeps its last configuration in. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** One operation of a JSON patch (RFC 6902). */
export interface JsonPatchOperation {
  op: 'test' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** What taking over an object's foreign fields takes: the patch, and whose fields they were. */
export interface Takeover {
  patch: JsonPatchOperation[];
  managers: string[];
}

/**
 * The patch that hands every field owned by a foreign manager to Landfall's apply entry (in the
 * manner of Flux's ssa `PatchReplaceFieldsManagers`), and drops kubectl's last-applied annotation,
 * or undefined when there is nothing to take over. Without it, a field an earlier tool set stays
 * co-owned by that tool after Git drops it, and server-side apply never removes it
 * (kubernetes#108008). The patch tests the resourceVersion, so it never overwrites a newer write.
 */
export function takeoverPatch(live: KubeObject, foreign: readonly ForeignManager[], own = FIELD_MANAGER): Takeover | undefined {
  // Cast: managedFields as the API server writes them; each entry's fields are read optionally.
  const entries = Array.isArray(live.metadata.managedFields) ? (live.metadata.managedFields as ManagedFieldsEntry[]) : [];
  const isForeign = (e: ManagedFieldsEntry) =>
    !e.subresource && e.manager !== own && foreign.some((f) => f.manager === e.manager && (f.operation === undefined || f.operation === e.operation));
  const taken = entries.filter(isForeign);
  const lastApplied = live.metadata.annotations?.[LAST_APPLIED] !== undefined;
  if (taken.length === 0 && !lastApplied) return undefined;

  const patch: JsonPatchOperation[] = [{ op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion }];
  if (taken.length > 0) {
    const ownApply = entries.find((e) => e.manager === own && e.operation === 'Apply' && !e.subresource);
    const merged: ManagedFieldsEntry = {
      ...(ownApply ?? taken[0]),
      manager: own,
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: [ownApply, ...taken].reduce<Record<string, unknown>>((acc, e) => unionFields(acc, e?.fieldsV1 ?? {}), {}),
    };
    const kept = entries.filter((e) => e !== ownApply && !taken.includes(e));
    patch.push({ op: 'replace', path: '/metadata/managedFields', value: [...kept, merged] });
  }
  if (lastApplied) patch.push({ op: 'remove', path: `/metadata/annotations/${LAST_APPLIED.replaceAll('~', '~0').replaceAll('/', '~1')}` });
  return { patch, managers: [...new Set(taken.map((e) => e.manager ?? ''))] };
}

/** The union of two FieldsV1 sets (nested maps of `f:`/`k:`/`v:`/`.` keys). */
function unionFields(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] = isMap(mine) && isMap(value) ? unionFields(mine, value) : isMap(mine) ? mine : value;
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A Secret's `stringData` written into `data` (base64), as the API server would store it.
 * Applied as `stringData`, its keys are owned under `stringData` while the server stores them
 * under `data`, so a key removed from Git stays on the cluster for good (kubernetes#108008).
 * `stringData` wins over `data` for a key in both, as it does on the server.
 */
export function stringDataAsData(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1' || !isMap(obj.stringData)) return obj;
  const { stringData, ...rest } = obj;
  const data: Record<string, unknown> = { ...(isMap(rest.data) ? rest.data : {}) };
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
  return { ...rest, data };
}
