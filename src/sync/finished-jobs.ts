import { createHash } from 'node:crypto';
import { describeRef, groupOf, refOf, type KubeObject } from '../kube/refs.js';
import type { DryRunResult } from './apply.js';
import type { InventoryEntry } from './inventory.js';
import type { DesiredObject } from './validate.js';
import { isRecord } from '../unknown.js';

/**
 * A fingerprint of a Job that cleans itself up (`spec.ttlSecondsAfterFinished`), recorded in the
 * inventory when it is applied; undefined for every other object. Key order does not matter.
 */
export function finishedJobFingerprint(obj: KubeObject): string | undefined {
  if (groupOf(obj.apiVersion) !== 'batch' || obj.kind !== 'Job') return undefined;
  const ttl = isRecord(obj.spec) ? obj.spec.ttlSecondsAfterFinished : undefined;
  if (typeof ttl !== 'number') return undefined;
  return createHash('sha256').update(canonical(obj)).digest('base64url').slice(0, 22);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Jobs the TTL controller already removed after they finished: the dry-run would create them,
 * and the inventory says this very manifest was applied before. Running one again on every sync
 * would re-run a migration each time and report drift forever, so it is skipped until its
 * manifest changes. Marks them in `dry.skip` and returns how many.
 */
export function skipFinishedJobs(desired: readonly DesiredObject[], previous: readonly InventoryEntry[], dry: DryRunResult): number {
  const recorded = new Map(previous.filter((e) => e.applied).map((e) => [e.id, e.applied]));
  let count = 0;
  for (const d of desired) {
    const fingerprint = finishedJobFingerprint(d.obj);
    if (!fingerprint || recorded.get(d.id) !== fingerprint) continue;
    const planned = dry.results.get(d.id);
    // A dry-run create has no resourceVersion: the Job is gone from the cluster.
    if (!planned || planned.metadata.resourceVersion) continue;
    dry.skip.set(d.id, `${describeRef(refOf(d.obj))} finished and was removed by its ttlSecondsAfterFinished; it runs again only when its manifest changes`);
    count++;
  }
  return count;
}
