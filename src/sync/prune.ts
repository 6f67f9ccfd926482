import type { KubeClient } from '../kube/client.js';
import { describeRef, type ObjectRef } from '../kube/refs.js';
import { objectError } from './apply.js';
import type { InventoryEntry } from './inventory.js';
import { APP_LABEL, MANAGED_BY, PRUNE_ANNOTATION } from './labels.js';
import { applyOrder } from './order.js';
import type { ChangeEntry } from './types.js';

/** The outcome of pruning: what happened to each object, and what must stay in the inventory. */
export interface PruneResult {
  entries: ChangeEntry[];
  /** Objects that could not be deleted: kept in the inventory so the next sync tries again. */
  kept: InventoryEntry[];
  errors: Error[];
}

/**
 * Deletes objects of the previous inventory that the commit no longer has, in reverse apply order,
 * with background propagation. Only objects still labelled as this app's are deleted; those
 * annotated `landfall.dev/prune: disabled` are left in place (and dropped from the inventory).
 */
export async function prune(client: KubeClient, app: string, stale: InventoryEntry[]): Promise<PruneResult> {
  const ordered = [...stale].sort((a, b) => -applyOrder(asObject(a), asObject(b)));
  const entries: ChangeEntry[] = [];
  const kept: InventoryEntry[] = [];
  const errors: Error[] = [];
  for (const item of ordered) {
    const ref: ObjectRef = { apiVersion: item.apiVersion, kind: item.kind, name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) };
    const base = { id: item.id, apiVersion: item.apiVersion, kind: item.kind, name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) };
    try {
      const live = await client.get(ref);
      if (!live) {
        entries.push({ ...base, action: 'deleted', message: 'already gone' });
        continue;
      }
      const labels = live.metadata.labels ?? {};
      if (labels[MANAGED_BY] !== 'landfall' || labels[APP_LABEL] !== app) {
        entries.push({ ...base, action: 'skipped', message: `not pruned: no longer labelled as belonging to ${app}` });
        continue;
      }
      if (live.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled') {
        entries.push({ ...base, action: 'skipped', message: `not pruned: annotated ${PRUNE_ANNOTATION}: disabled` });
        continue;
      }
      await client.delete(ref, { propagationPolicy: 'Background' });
      entries.push({ ...base, action: 'deleted' });
    } catch (err) {
      const error = objectError('PRUNE_FAILED', asObject(item), 'delete', err);
      errors.push(error);
      kept.push(item);
      entries.push({ ...base, action: 'failed', message: error.message });
    }
  }
  return { entries, kept, errors };
}

function asObject(item: InventoryEntry) {
  return { apiVersion: item.apiVersion, kind: item.kind, metadata: { name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) } };
}

/** `Kind/ns/name` for an inventory entry. */
export function describeEntry(item: InventoryEntry): string {
  return describeRef({ apiVersion: item.apiVersion, kind: item.kind, name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) });
}
