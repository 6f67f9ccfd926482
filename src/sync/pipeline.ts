import type { Logger } from 'pino';
import type { AppConfig } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import { CHANGE_ACTIONS, type ChangeEntry } from '../model/changes.js';
import type { SyncJobData } from '../model/jobs.js';
import type { SyncRecord, VerifiedObject } from '../model/records.js';
import type { History } from '../store/history.js';
import { SyncError } from './errors.js';
import { finishedJobFingerprint } from './finished-jobs.js';
import type { Inventory, InventoryEntry } from './inventory.js';
import { prepare, type Desired, type PrepareDeps, type Prepared } from './prepare.js';
import { prune } from './prune.js';
import { createRecorder, type Recorder } from './recorder.js';
import { waitForHealth } from './wait.js';
import { errorMessage } from './unknown.js';

/** Hears about a sync's progress; commit statuses are one listener. Must not throw. */
export interface SyncListener {
  started?(record: SyncRecord): void;
  finished?(record: SyncRecord, final: boolean): void;
  superseded?(record: SyncRecord, sha: string, by: string): void;
}

/** What a sync needs from the outside world. */
export interface SyncDeps extends PrepareDeps {
  history: History;
  log: Logger;
  listener?: SyncListener;
}

/** One sync to run. */
export interface SyncRequest {
  app: AppConfig;
  data: SyncJobData;
  jobId: string;
  /** Commits announced while the job waited. */
  covered: string[];
  attempt: number;
  /** Whether a failure now is the last word (no retry follows). */
  finalAttempt: boolean;
  signal?: AbortSignal;
}

/**
 * Deploys an app's branch head, in the order of the README's "How a sync works": resolve the
 * head; prepare it (checkout, render, validate, dry-run: all or nothing); apply in stages; wait
 * for health; prune; record. A job whose commit is no longer the head, while the head is already
 * deployed, ends `superseded` without touching the cluster: so a late delivery never rolls back,
 * while a force-push to an older commit (a new head) deploys it.
 */
export async function runSync(deps: SyncDeps, request: SyncRequest): Promise<SyncRecord> {
  const { app, data } = request;
  const log = deps.log.child({ app: app.name, jobId: request.jobId, attempt: request.attempt });
  const previous = await deps.history.get(request.jobId);
  const rec = createRecorder(deps.history, log, startRecord(request, previous));
  const { record, note } = rec;
  const checkAborted = () => {
    if (request.signal?.aborted) throw new SyncError('ABORTED', 'the sync lost its app lock and stopped before writing more', true);
  };

  if (previous?.result === 'running') note('warn', 'the worker running this sync stopped before it finished (killed or lost); taking it up again');
  note('info', `sync started (trigger ${data.trigger}${data.sha ? `, commit ${data.sha.slice(0, 7)}` : ''}, attempt ${request.attempt})`);
  let prepared: Prepared | undefined;
  try {
    await rec.enter('resolve');
    const head = await deps.git.resolveBranch(gitSource(app, deps.forges), app.branch);
    if (!head) throw new SyncError('BRANCH_MISSING', `branch ${app.branch} does not exist in ${app.repo}`);
    record.sha = head;
    const state = await deps.history.appState(app.name);
    for (const sha of record.covered) if (sha && sha !== head) deps.listener?.superseded?.(record, sha, head);
    if (data.trigger === 'push' && state.deployedSha === head) return await alreadyDeployed(deps, rec, app, data, head, state.lastSyncId);
    if (data.sha && data.sha !== head) note('info', `commit ${data.sha.slice(0, 7)} is no longer the head of ${app.branch}; deploying the head, ${head.slice(0, 7)}`);
    deps.listener?.started?.(record);
    await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'running' });

    prepared = await prepare(deps, app, head, 'deploy', rec);
    checkAborted();
    const entries = prepared.desired.filter((d) => !d.synthetic).map(inventoryEntry);
    await apply(rec, prepared, entries, head, app, request.signal);
    checkAborted();
    const verified = await waitHealthy(deps, rec, prepared, app, request.signal);
    await pruneStale(rec, prepared, entries, head, app);

    await rec.finish();
    note('info', `deployed ${head.slice(0, 7)}: ${summarize(record.changes)}, healthy in ${Math.round(((record.finishedAt ?? Date.now()) - (record.startedAt ?? Date.now())) / 1000)}s`);
    await rec.save();
    await deps.verified?.save(app.name, verified).catch((err: unknown) => log.warn({ err }, 'verified objects not recorded'));
    await deps.history.setAppState(app.name, { deployedSha: head, attemptedSha: head, deployedAt: record.finishedAt, lastSyncId: record.id, lastResult: 'succeeded' });
    deps.listener?.finished?.(record, true);
    return record;
  } catch (err) {
    const final = (e: SyncError) => request.finalAttempt || !e.transient;
    const error = await rec.fail(err, final);
    if (final(error)) await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'failed', ...(record.sha ? { attemptedSha: record.sha } : {}) });
    deps.listener?.finished?.(record, final(error));
    throw error;
  } finally {
    await prepared?.dispose().catch(() => undefined);
  }
}

/** A new record for the request, or the one a worker that died left behind, taken up again. */
function startRecord(request: SyncRequest, previous: SyncRecord | undefined): SyncRecord {
  const { app, data } = request;
  const record: SyncRecord = {
    ...(previous ?? {
      id: request.jobId,
      app: app.name,
      trigger: data.trigger,
      jobId: request.jobId,
      requestedSha: data.sha,
      covered: [],
      ...(data.deliveryId ? { deliveryId: data.deliveryId } : {}),
      cluster: app.cluster,
      namespace: app.namespace,
      phases: [],
      changes: [],
      health: [],
      log: [],
      createdAt: data.receivedAt,
    }),
    covered: [...new Set([...(previous?.covered ?? []), ...request.covered])],
    result: 'running',
    attempt: request.attempt,
    runs: (previous?.runs ?? (previous ? 1 : 0)) + 1,
    startedAt: previous?.startedAt ?? Date.now(),
    phases: [],
    changes: [],
    health: [],
  };
  delete record.error;
  delete record.finishedAt;
  return record;
}

/** A push whose branch head is deployed already: superseded (an older commit) or nothing to do. */
async function alreadyDeployed(deps: SyncDeps, rec: Recorder, app: AppConfig, data: SyncJobData, head: string, lastSyncId: string | undefined): Promise<SyncRecord> {
  const { record } = rec;
  if (data.sha && data.sha !== head) {
    record.supersededBy = head;
    rec.note('info', `commit ${data.sha.slice(0, 7)} is no longer the head of ${app.branch}; ${head.slice(0, 7)} is deployed already, so nothing changes`);
    await rec.finish('superseded');
  } else {
    rec.note('info', `${head.slice(0, 7)} is already deployed (sync ${lastSyncId ?? 'earlier'}); nothing to do`);
    await rec.finish();
  }
  deps.listener?.finished?.(record, true);
  return record;
}

/**
 * Applies in stages. The inventory gets the union of old and new objects before the objects it
 * adds are written: if this process dies mid-apply, nothing it created is orphaned. When the
 * app's namespace arrives with this sync, that is right after the first stage made it exist.
 */
async function apply(rec: Recorder, prepared: Prepared, entries: InventoryEntry[], head: string, app: AppConfig, signal: AbortSignal | undefined): Promise<void> {
  await rec.enter('apply');
  const { manager, desired, dry, inventory, previous, createdHere, client } = prepared;
  const inventoryStage = createdHere.has(app.namespace) ? 1 : 0;
  const changes = await manager.applyStaged(desired, dry, {
    beforeStage: async (stage) => {
      if (stage === inventoryStage) await writeInventory(inventory, [...previous.entries, ...entries], head, app);
    },
    waitEstablished: async (crds) => {
      await waitForHealth(client, crds, { timeoutMs: Math.min(app.healthTimeout, 60_000), ...(signal ? { signal } : {}) });
    },
  });
  rec.record.changes = changes.filter((c) => !isSynthetic(desired, c));
  rec.note('info', `applied: ${summarize(rec.record.changes)}`);
}

/**
 * Waits until every object is healthy (a finished Job its TTL removed is not waited on), showing
 * progress on the record. Returns what this sync verified: each object's fingerprint and its
 * resourceVersion once healthy.
 */
async function waitHealthy(deps: SyncDeps, rec: Recorder, prepared: Prepared, app: AppConfig, signal: AbortSignal | undefined): Promise<Map<string, VerifiedObject>> {
  await rec.enter('health');
  const { desired, dry, client } = prepared;
  const live = new Map<string, string>();
  let lastSave = 0;
  rec.record.health = await waitForHealth(
    client,
    desired.filter((d) => !dry.skip.has(d.id)).map((d) => d.obj),
    {
      timeoutMs: app.healthTimeout,
      ...(app.failFastAfter === 'off' ? {} : { failFastAfterMs: app.failFastAfter }),
      ...(signal ? { signal } : {}),
      onLive: (id, obj) => {
        if (typeof obj.metadata.resourceVersion === 'string') live.set(id, obj.metadata.resourceVersion);
      },
      onProgress: (report) => {
        rec.record.health = report;
        if (Date.now() - lastSave > 1_000) {
          lastSave = Date.now();
          void deps.history.save(rec.record).catch(() => undefined);
        }
      },
    },
  ).catch((err: unknown) => {
    throw err instanceof SyncError ? err : new SyncError('HEALTH_CHECK_FAILED', `health check failed: ${errorMessage(err)}`, true, { cause: err });
  });
  rec.note('info', `all ${rec.record.health.length} objects healthy`);
  const verified = new Map<string, VerifiedObject>();
  for (const d of desired) {
    const fingerprint = dry.fingerprints.get(d.id);
    const resourceVersion = live.get(d.id);
    if (fingerprint && resourceVersion && !d.synthetic) verified.set(d.id, { fingerprint, resourceVersion });
  }
  return verified;
}

/** Prunes what the previous inventory has and this commit does not, and records the inventory. */
async function pruneStale(rec: Recorder, prepared: Prepared, entries: InventoryEntry[], head: string, app: AppConfig): Promise<void> {
  await rec.enter('prune');
  const { client, inventory, previous } = prepared;
  const keep = new Set(entries.map((e) => e.id));
  const stale = previous.entries.filter((e) => !keep.has(e.id));
  if (stale.length === 0 || !app.prune) {
    if (stale.length > 0) rec.note('info', `${stale.length} object(s) are no longer in Git; prune is off for this app, so they stay (and stay tracked)`);
    await writeInventory(inventory, [...entries, ...stale], head, app);
    return;
  }
  const pruned = await prune(client, app.name, stale);
  rec.record.changes.push(...pruned.entries);
  await writeInventory(inventory, [...entries, ...pruned.kept], head, app);
  if (pruned.errors.length > 0) {
    throw new SyncError('PRUNE_FAILED', pruned.errors.map((e) => e.message).join('\n'), pruned.errors.every((e) => e instanceof SyncError && e.transient));
  }
  rec.note('info', `pruned ${pruned.entries.filter((e) => e.action === 'deleted').length} object(s)`);
  for (const entry of pruned.entries.filter((e) => e.action === 'skipped' && /no longer served/.test(e.message ?? ''))) {
    rec.note('warn', `${entry.kind}/${entry.namespace ? `${entry.namespace}/` : ''}${entry.name}: ${entry.message ?? ''}`);
  }
}

function isSynthetic(desired: Desired[], change: ChangeEntry): boolean {
  return desired.some((d) => d.synthetic && d.id === change.id);
}

function inventoryEntry(d: Desired): InventoryEntry {
  const applied = finishedJobFingerprint(d.obj);
  return {
    id: d.id,
    apiVersion: d.obj.apiVersion,
    kind: d.obj.kind,
    name: d.obj.metadata.name,
    ...(d.obj.metadata.namespace ? { namespace: d.obj.metadata.namespace } : {}),
    ...(applied ? { applied } : {}),
  };
}

async function writeInventory(inventory: Inventory, entries: InventoryEntry[], revision: string, app: AppConfig): Promise<void> {
  try {
    await inventory.write(entries, revision);
  } catch (err) {
    const message = errorMessage(err);
    throw new SyncError('INVENTORY_FAILED', `could not record the inventory ConfigMap in namespace ${app.namespace}: ${message}${/not found/.test(message) ? ' (create the namespace, or set createNamespace: true)' : ''}`, err instanceof SyncError ? err.transient : true, { cause: err });
  }
}

/** `3 created, 1 configured, 12 unchanged, 1 pruned`. */
export function summarize(changes: ChangeEntry[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const parts = CHANGE_ACTIONS.filter((a) => counts.get(a)).map((a) => `${counts.get(a)} ${a === 'deleted' ? 'pruned' : a}`);
  return parts.join(', ') || 'no objects';
}
