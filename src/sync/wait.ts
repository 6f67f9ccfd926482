import type { KubeClient } from '../kube/client.js';
import { describeRef, objectId, refOf, type KubeObject, type ObjectRef } from '../kube/refs.js';
import { SyncError } from './errors.js';
import { computeHealth } from './health.js';
import { workloadPodProblem } from './pods.js';
import type { HealthEntry } from '../model/changes.js';

/** Options of {@link waitForHealth}. */
export interface WaitOptions {
  timeoutMs: number;
  /** Called after each round with the current report, so a record can show progress. */
  onProgress?: (report: HealthEntry[]) => void;
  /** Polling back-off: first delay and cap. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
  /**
   * After this long, a workload still in progress has its pods looked at, and one in a state it
   * will not leave by itself (a crash loop, an image that cannot be pulled, unschedulable) fails
   * the wait at once with the pod and the reason, instead of waiting for the timeout. Undefined:
   * never (the rollout's own progress deadline and the timeout are the backstops).
   */
  failFastAfterMs?: number;
}

/** How often a workload's pods are looked at while it stays in progress. */
const POD_CHECK_INTERVAL_MS = 5_000;

/**
 * Polls objects until every one is Current (kstatus), failing at once on the first Failed object,
 * or when the timeout passes, naming each object that is not there yet and why. Polling rather than
 * watching keeps the worker to GETs and survives API server restarts without resync logic.
 */
export async function waitForHealth(client: KubeClient, objects: readonly KubeObject[], options: WaitOptions): Promise<HealthEntry[]> {
  const refs = objects.map(refOf);
  const report = new Map<string, HealthEntry>();
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const podsCheckedAt = new Map<string, number>();
  let interval = options.minIntervalMs ?? 50;
  let pending = refs;
  for (;;) {
    const results = await Promise.all(pending.map(async (ref) => [ref, await readHealth(client, ref)] as const));
    for (const [, { entry }] of results) report.set(entry.id, entry);
    const all = refs.map((r) => report.get(objectId(r)) as HealthEntry);
    options.onProgress?.(all);
    const failed = results.find(([, { entry }]) => entry.status === 'Failed');
    if (failed) {
      const [ref, { entry }] = failed;
      throw new SyncError('HEALTH_FAILED', `${describeRef(ref)} ${entry.reason}: ${entry.message}`, false, { object: describeRef(ref) });
    }
    pending = results.filter(([, { entry }]) => entry.status !== 'Current').map(([ref]) => ref);
    if (pending.length === 0) return all;
    if (options.failFastAfterMs !== undefined && Date.now() - started >= options.failFastAfterMs) {
      const due = results.filter(([, { entry, live }]) => live && entry.status === 'InProgress' && Date.now() - (podsCheckedAt.get(entry.id) ?? 0) >= POD_CHECK_INTERVAL_MS);
      for (const [ref, { entry, live }] of due) {
        podsCheckedAt.set(entry.id, Date.now());
        const problem = await workloadPodProblem(client, live as KubeObject);
        if (!problem) continue;
        report.set(entry.id, { ...entry, status: 'Failed', reason: problem.reason, message: `pod ${problem.pod}: ${problem.detail}` });
        options.onProgress?.(refs.map((r) => report.get(objectId(r)) as HealthEntry));
        throw new SyncError('HEALTH_FAILED', `${describeRef(ref)} pod ${problem.pod} ${problem.reason}: ${problem.detail}`, false, { object: describeRef(ref) });
      }
    }
    if (Date.now() >= deadline) {
      const waiting = pending.map((ref) => {
        const e = report.get(objectId(ref)) as HealthEntry;
        return `${describeRef(ref)} ${e.reason}: ${e.message}`;
      });
      throw new SyncError('HEALTH_TIMEOUT', `not healthy after ${Math.round(options.timeoutMs / 1000)}s: ${waiting.slice(0, 5).join('; ')}${waiting.length > 5 ? `; and ${waiting.length - 5} more` : ''}`, false, {
        object: describeRef(pending[0] as ObjectRef),
      });
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), options.signal);
    interval = Math.min(interval * 2, options.maxIntervalMs ?? 2_000);
  }
}

/** One object's health now (NotFound when it is gone). */
export async function checkHealth(client: KubeClient, ref: ObjectRef): Promise<HealthEntry> {
  return (await readHealth(client, ref)).entry;
}

async function readHealth(client: KubeClient, ref: ObjectRef): Promise<{ entry: HealthEntry; live?: KubeObject }> {
  const base = { id: objectId(ref), kind: ref.kind, name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
  const live = await client.get(ref);
  if (!live) return { entry: { ...base, status: 'NotFound', reason: 'NotFound', message: 'object not found' } };
  return { entry: { ...base, ...computeHealth(live) }, live };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
