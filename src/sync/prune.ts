import type { KubeClient } from '../kube/client.js';
import { KIND_NOT_SERVED, KubeApiError } from '../kube/errors.js';
import type { KubeObject, ObjectRef } from '../kube/refs.js';
import { objectError } from './apply.js';
import type { InventoryEntry } from './inventory.js';
import { APP_LABEL, MANAGED_BY, PRUNE_ANNOTATION } from './labels.js';
import { applyOrder } from './order.js';
import type { ChangeEntry } from '../model/changes.js';

/** The outcome of pruning: what happened to each object, and what must stay in the inventory. */
export interface PruneResult {
  entries: ChangeEntry[];
  /** Objects that could not be deleted: kept in the inventory so the next sync tries again. */
  kept: InventoryEntry[];
  errors: Error[];
}

/**
 * What pruning one object Git no longer has comes to, decided in one place for the sync that
 * prunes and the plan that predicts it:
 * - `delete`: still there, labelled as this app's, not opted out;
 * - `gone`: not on the cluster any more (dropped from the inventory);
 * - `keep`: left in place for good (no longer labelled as this app's, or `landfall.dev/prune:
 *   disabled`), and dropped from the inventory;
 * - `unreadable`: its kind is no longer served (an API version removed, a CRD uninstalled), so it
 *   can be neither read nor pruned; it stays in the inventory until it can be.
 */
export interface PruneDecision {
  verdict: 'delete' | 'gone' | 'keep' | 'unreadable';
  message?: string;
}

/** Decides what to do with one object of the previous inventory that Git no longer has. */
export async function decidePrune(client: KubeClient, app: string, item: InventoryEntry): Promise<PruneDecision> {
  let live: KubeObject | undefined;
  try {
    live = await client.get(refOfEntry(item));
  } catch (err) {
    if (err instanceof KubeApiError && err.reason === KIND_NOT_SERVED) {
      return {
        verdict: 'unreadable',
        message: `${item.kind} in ${item.apiVersion} is no longer served by the cluster, so it can be neither read nor pruned; it stays in the inventory (serve that version again, e.g. reinstall its CRD, and the next sync prunes it)`,
      };
    }
    throw err;
  }
  if (!live) return { verdict: 'gone', message: 'already gone' };
  const labels = live.metadata.labels ?? {};
  if (labels[MANAGED_BY] !== 'landfall' || labels[APP_LABEL] !== app)
    return { verdict: 'keep', message: `not pruned: no longer labelled as belonging to ${app}` };
  if (live.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled') return { verdict: 'keep', message: `not pruned: annotated ${PRUNE_ANNOTATION}: disabled` };
  return { verdict: 'delete' };
}

/**
 * Deletes objects of the previous inventory that the commit no longer has, in reverse apply order,
 * with background propagation, as {@link decidePrune} says. Objects that could not be deleted, or
 * not even read, stay in the inventory so a later sync tries again.
 */
export async function prune(client: KubeClient, app: string, stale: InventoryEntry[]): Promise<PruneResult> {
  const ordered = [...stale].sort((a, b) => -applyOrder(asObject(a), asObject(b)));
  const entries: ChangeEntry[] = [];
  const kept: InventoryEntry[] = [];
  const errors: Error[] = [];
  for (const item of ordered) {
    const base = baseEntry(item);
    try {
      const decision = await decidePrune(client, app, item);
      if (decision.verdict === 'delete') {
        await client.delete(refOfEntry(item), { propagationPolicy: 'Background' });
        entries.push({ ...base, action: 'deleted' });
        continue;
      }
      if (decision.verdict === 'unreadable') kept.push(item);
      entries.push({ ...base, action: decision.verdict === 'gone' ? 'deleted' : 'skipped', ...(decision.message ? { message: decision.message } : {}) });
    } catch (err) {
      const error = objectError('PRUNE_FAILED', asObject(item), 'delete', err);
      errors.push(error);
      kept.push(item);
      entries.push({ ...base, action: 'failed', message: error.message });
    }
  }
  return { entries, kept, errors };
}

/**
 * What pruning would do, for a plan: the same decision as {@link prune}, without deleting.
 * Objects already gone are left out (there is nothing to say about them).
 */
export async function planPrune(client: KubeClient, app: string, stale: InventoryEntry[], enabled: boolean): Promise<ChangeEntry[]> {
  const entries: ChangeEntry[] = [];
  for (const item of stale) {
    const base = baseEntry(item);
    if (!enabled) {
      entries.push({ ...base, action: 'skipped', message: 'no longer in Git; prune is off for this app' });
      continue;
    }
    const decision = await decidePrune(client, app, item);
    if (decision.verdict === 'gone') continue;
    entries.push(
      decision.verdict === 'delete'
        ? { ...base, action: 'deleted' }
        : { ...base, action: 'skipped', ...(decision.message ? { message: decision.message } : {}) },
    );
  }
  return entries;
}

function baseEntry(item: InventoryEntry): Omit<ChangeEntry, 'action'> {
  return { id: item.id, apiVersion: item.apiVersion, kind: item.kind, name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) };
}

function refOfEntry(item: InventoryEntry): ObjectRef {
  return { apiVersion: item.apiVersion, kind: item.kind, name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) };
}

function asObject(item: InventoryEntry): KubeObject {
  return { apiVersion: item.apiVersion, kind: item.kind, metadata: { name: item.name, ...(item.namespace ? { namespace: item.namespace } : {}) } };
}
