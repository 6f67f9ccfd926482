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
  /** Receives each object as last read (its resourceVersion once healthy is what the sync verified). */
  onLive?: (id: string, live: KubeObject) => void;
}

/** How often a workload's pods are looked at while it stays in progress. */
const POD_CHECK_INTERVAL_MS = 5_000;

/**
 * Polls objects until every one is Current (kstatus), failing at once on the first Failed object,
 * or when the timeout passes, naming each object that is not there yet and why. Polling rather than
 * watching keeps the worker to reads and survives API server restarts without resync logic; each
 * round reads the objects still pending with one LIST per kind and namespace (a GET for a lone
 * object), not a GET each.
 */
export async function waitForHealth(client: KubeClient, objects: readonly KubeObject[], options: WaitOptions): Promise<HealthEntry[]> {
  const refs = objects.map(refOf);
  const byId = new Map(objects.map((o) => [objectId(refOf(o)), o]));
  const report = new Map<string, HealthEntry>();
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const podsCheckedAt = new Map<string, number>();
  let interval = options.minIntervalMs ?? 50;
  let pending = refs;
  for (;;) {
    const read = await readLive(
      client,
      pending.flatMap((ref) => byId.get(objectId(ref)) ?? []),
    );
    const results = pending.map((ref) => [ref, healthOf(ref, read.get(objectId(ref)))] as const);
    for (const [id, live] of read) options.onLive?.(id, live);
    for (const [, { entry }] of results) report.set(entry.id, entry);
    // Every ref has an entry from the first round on (the first round reads them all).
    const entries = (): HealthEntry[] => refs.flatMap((r) => report.get(objectId(r)) ?? []);
    const all = entries();
    options.onProgress?.(all);
    const failed = results.find(([, { entry }]) => entry.status === 'Failed');
    if (failed) {
      const [ref, { entry }] = failed;
      throw new SyncError('HEALTH_FAILED', `${describeRef(ref)} ${entry.reason}: ${entry.message}`, false, { object: describeRef(ref) });
    }
    pending = results.filter(([, { entry }]) => entry.status !== 'Current').map(([ref]) => ref);
    if (pending.length === 0) return all;
    if (options.failFastAfterMs !== undefined && Date.now() - started >= options.failFastAfterMs) {
      const due = results.filter(
        ([, { entry, live }]) => live && entry.status === 'InProgress' && Date.now() - (podsCheckedAt.get(entry.id) ?? 0) >= POD_CHECK_INTERVAL_MS,
      );
      for (const [ref, { entry, live }] of due) {
        if (!live) continue;
        podsCheckedAt.set(entry.id, Date.now());
        const problem = await workloadPodProblem(client, live);
        if (!problem) continue;
        report.set(entry.id, { ...entry, status: 'Failed', reason: problem.reason, message: `pod ${problem.pod}: ${problem.detail}` });
        options.onProgress?.(entries());
        throw new SyncError('HEALTH_FAILED', `${describeRef(ref)} pod ${problem.pod} ${problem.reason}: ${problem.detail}`, false, {
          object: describeRef(ref),
        });
      }
    }
    if (Date.now() >= deadline) {
      const waiting = pending.map((ref) => {
        const e = report.get(objectId(ref));
        return e ? `${describeRef(ref)} ${e.reason}: ${e.message}` : describeRef(ref);
      });
      throw new SyncError(
        'HEALTH_TIMEOUT',
        `not healthy after ${Math.round(options.timeoutMs / 1000)}s: ${waiting.slice(0, 5).join('; ')}${waiting.length > 5 ? `; and ${waiting.length - 5} more` : ''}`,
        false,
        {
          object: pending[0] ? describeRef(pending[0]) : '',
        },
      );
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
  return healthOf(ref, await client.get(ref));
}

function healthOf(ref: ObjectRef, live: KubeObject | undefined): { entry: HealthEntry; live?: KubeObject } {
  return { entry: healthEntry(ref, live), ...(live ? { live } : {}) };
}

/** An object's health entry from the object as read (NotFound when it was not there). */
export function healthEntry(ref: ObjectRef, live: KubeObject | undefined): HealthEntry {
  const base = { id: objectId(ref), kind: ref.kind, name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
  if (!live) return { ...base, status: 'NotFound', reason: 'NotFound', message: 'object not found' };
  return { ...base, ...computeHealth(live) };
}

/**
 * The objects as they are now, by id (absent when gone): one LIST per kind and namespace for
 * groups of them (narrowed to their `landfall.dev/app` label when they share one), a GET for a
 * lone object. A health round of a thousand objects is a few dozen requests, not a thousand.
 */
export async function readLive(client: KubeClient, objects: readonly KubeObject[]): Promise<Map<string, KubeObject>> {
  const groups = new Map<string, KubeObject[]>();
  for (const obj of objects) {
    const key = `${obj.apiVersion}|${obj.kind}|${obj.metadata.namespace ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), obj]);
  }
  const out = new Map<string, KubeObject>();
  await Promise.all(
    [...groups.values()].map(async (members) => {
      const [first] = members;
      if (!first) return;
      if (members.length === 1) {
        const live = await client.get(refOf(first));
        if (live) out.set(objectId(refOf(first)), live);
        return;
      }
      const labels = new Set(members.map((m) => m.metadata.labels?.['landfall.dev/app']));
      const app = labels.size === 1 ? [...labels][0] : undefined;
      const items = await client.list(first.apiVersion, first.kind, {
        ...(first.metadata.namespace ? { namespace: first.metadata.namespace } : {}),
        ...(app ? { labelSelector: `landfall.dev/app=${app}` } : {}),
      });
      const wanted = new Set(members.map((m) => m.metadata.name));
      for (const item of items) {
        if (!wanted.has(item.metadata.name)) continue;
        const withNs = { ...item, metadata: { ...item.metadata, ...(first.metadata.namespace ? { namespace: first.metadata.namespace } : {}) } };
        out.set(objectId(refOf(withNs)), withNs);
      }
    }),
  );
  return out;
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
