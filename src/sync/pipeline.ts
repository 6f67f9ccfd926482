import type { Logger } from 'pino';
import type { AppConfig } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import { CHANGE_ACTIONS, type ChangeEntry } from '../model/changes.js';
import type { SyncJobData } from '../model/jobs.js';
import type { HealthEntry } from '../model/changes.js';
import type { HookPhaseName, StepRecord, SyncRecord, VerifiedObject } from '../model/records.js';
import type { History } from '../store/history.js';
import { SyncError } from './errors.js';
import { finishedJobFingerprint } from './finished-jobs.js';
import { runHookPhase } from './hook-run.js';
import type { Inventory, InventoryEntry } from './inventory.js';
import { prepare, type Desired, type PrepareDeps, type PrepareOverrides, type Prepared } from './prepare.js';
import { prune } from './prune.js';
import { createRecorder, type Recorder } from './recorder.js';
import { waitForHealth } from './wait.js';
import { errorMessage } from '../unknown.js';

/** Hears about a sync's progress; commit statuses are one listener. Must not throw. */
export interface SyncListener {
  started?(record: SyncRecord): void;
  finished?(record: SyncRecord, final: boolean): void;
  superseded?(record: SyncRecord, sha: string, by: string): void;
  /** What the sync is doing now, when it passes a hook or a wave ("running pre-sync hook migrate"). */
  progress?(record: SyncRecord, activity: string): void;
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
  /**
   * A preview (src/previews): deploys exactly `sha` (a pull request's head) rather than the
   * branch head, with the preview's overrides of the prepare step.
   */
  preview?: { sha: string; overrides: PrepareOverrides };
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
    const head = request.preview ? request.preview.sha : await deps.git.resolveBranch(gitSource(app, deps.forges), app.branch);
    if (!head) throw new SyncError('BRANCH_MISSING', `branch ${app.branch} does not exist in ${app.repo}`);
    record.sha = head;
    const state = await deps.history.appState(app.name);
    for (const sha of record.covered) if (sha && sha !== head) deps.listener?.superseded?.(record, sha, head);
    if (data.trigger === 'push' && state.deployedSha === head) return await alreadyDeployed(deps, rec, app, data, head, state.lastSyncId);
    if (data.sha && data.sha !== head)
      note('info', `commit ${data.sha.slice(0, 7)} is no longer the head of ${app.branch}; deploying the head, ${head.slice(0, 7)}`);
    deps.listener?.started?.(record);
    await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'running' });

    prepared = await prepare(deps, app, head, 'deploy', rec, request.preview?.overrides);
    checkAborted();
    const ready = prepared;
    const entries = ready.desired.filter((d) => !d.synthetic).map(inventoryEntry);
    const applying: ApplyState = { inventoryWritten: false, verified: new Map(), health: [] };
    // Self-heal puts drift right for the commit that is deployed: its hooks ran with that deploy.
    const healing = data.trigger === 'heal';
    if (healing && ready.hooks.length > 0)
      note('info', `self-heal: the ${ready.hooks.length} hook(s) of this commit ran with its deploy and are not run again`);
    const hooks = (phase: HookPhaseName) => (healing ? [] : ready.hooks.filter((h) => h.hook?.phase === phase));
    const stepped = hooks('pre-sync').length + hooks('post-sync').length > 0 || new Set(ready.desired.map((d) => d.wave ?? 0)).size > 1;
    if (stepped) record.steps = [];
    let objects = ready.desired;
    const namespaces = objects.filter((d) => d.obj.kind === 'Namespace' && d.obj.apiVersion === 'v1' && ready.createdHere.has(d.obj.metadata.name));
    if (hooks('pre-sync').length > 0) {
      // The hooks run in the app's namespace: one this sync brings exists before them.
      if (namespaces.length > 0) await apply(rec, ready, namespaces, entries, head, app, request.signal, applying);
      objects = objects.filter((d) => !namespaces.includes(d));
      await runHooks(deps, rec, ready, app, 'pre-sync', hooks('pre-sync'), request.signal);
      checkAborted();
    }
    const waves = groupWaves(objects, namespaces);
    for (const [index, [wave, batch]] of waves.entries()) {
      const step = stepped ? startStep(rec, { type: 'wave', wave, objects: batch.length }) : undefined;
      if (waves.length > 1) deps.listener?.progress?.(record, `applying wave ${wave} (${index + 1} of ${waves.length})`);
      try {
        await apply(rec, ready, batch, entries, head, app, request.signal, applying);
        checkAborted();
        await waitHealthy(deps, rec, ready, batch, app, request.signal, applying);
        checkAborted();
      } catch (err) {
        if (step) endStep(step, 'failed', errorMessage(err));
        throw err;
      }
      if (step) endStep(step, 'succeeded');
    }
    const verified = applying.verified;
    await pruneStale(rec, prepared, entries, head, app);
    if (hooks('post-sync').length > 0) await runHooks(deps, rec, ready, app, 'post-sync', hooks('post-sync'), request.signal);

    await rec.finish();
    note(
      'info',
      `deployed ${head.slice(0, 7)}: ${summarize(record.changes)}, healthy in ${Math.round(((record.finishedAt ?? Date.now()) - (record.startedAt ?? Date.now())) / 1000)}s`,
    );
    await rec.save();
    await deps.verified?.save(app.name, verified).catch((err: unknown) => log.warn({ err }, 'verified objects not recorded'));
    await deps.history.setAppState(app.name, {
      deployedSha: head,
      attemptedSha: head,
      deployedAt: record.finishedAt,
      lastSyncId: record.id,
      lastResult: 'succeeded',
    });
    deps.listener?.finished?.(record, true);
    return record;
  } catch (err) {
    const final = (e: SyncError) => request.finalAttempt || !e.transient;
    const failing = err instanceof SyncError ? err : undefined;
    const onFail = data.trigger === 'heal' ? [] : (prepared?.hooks.filter((h) => h.hook?.phase === 'sync-fail') ?? []);
    if (prepared && onFail.length > 0 && (!failing || final(failing))) {
      // The sync failed for good: its SyncFail hooks run (their own failure is noted, not thrown).
      await runHooks(deps, rec, prepared, app, 'sync-fail', onFail, request.signal, false).catch((hookErr: unknown) => note('error', errorMessage(hookErr)));
    }
    const error = await rec.fail(err, final);
    if (final(error))
      await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'failed', ...(record.sha ? { attemptedSha: record.sha } : {}) });
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
async function alreadyDeployed(
  deps: SyncDeps,
  rec: Recorder,
  app: AppConfig,
  data: SyncJobData,
  head: string,
  lastSyncId: string | undefined,
): Promise<SyncRecord> {
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

/** What the waves of one deploy share: whether the inventory is written, what was verified, health so far. */
interface ApplyState {
  inventoryWritten: boolean;
  verified: Map<string, VerifiedObject>;
  health: HealthEntry[];
}

/**
 * The objects by wave, lowest first. A Namespace this sync creates goes with the first wave: the
 * objects of every wave may live in it.
 */
function groupWaves(objects: Desired[], namespaces: Desired[]): [number, Desired[]][] {
  const byWave = new Map<number, Desired[]>();
  for (const d of objects) {
    const wave = d.wave ?? 0;
    byWave.set(wave, [...(byWave.get(wave) ?? []), d]);
  }
  const sorted = [...byWave.entries()].sort(([a], [b]) => a - b);
  const first = sorted[0];
  if (first) {
    const moved = first[1].concat(objects.filter((d) => namespaces.includes(d) && !first[1].includes(d)));
    sorted[0] = [first[0], moved];
    for (const entry of sorted.slice(1)) entry[1] = entry[1].filter((d) => !namespaces.includes(d));
  }
  return sorted.length > 0 ? sorted : [[0, []]];
}

/** Opens a step of the record (a wave or a hook phase). */
function startStep(rec: Recorder, step: Omit<StepRecord, 'startedAt' | 'result'>): StepRecord {
  const open: StepRecord = { ...step, startedAt: Date.now(), result: 'running' };
  rec.record.steps?.push(open);
  return open;
}

function endStep(step: StepRecord, result: 'succeeded' | 'failed', message?: string): void {
  step.result = result;
  step.finishedAt = Date.now();
  if (message) step.message = message.split('\n')[0];
}

/**
 * Runs one phase's hooks (see {@link runHookPhase}), as a step of the record and a phase of its
 * own; commit statuses say which hook runs.
 */
async function runHooks(
  deps: SyncDeps,
  rec: Recorder,
  prepared: Prepared,
  app: AppConfig,
  phase: HookPhaseName,
  hooks: Desired[],
  signal: AbortSignal | undefined,
  enter = true,
): Promise<void> {
  if (enter && phase !== 'sync-fail') await rec.enter(phase);
  rec.record.steps ??= [];
  const step = startStep(rec, { type: phase });
  rec.note('info', `running ${hooks.length} ${phase} hook${hooks.length === 1 ? '' : 's'}`);
  try {
    await runHookPhase(
      {
        client: prepared.client,
        app: app.name,
        syncId: rec.record.id,
        timeoutMs: app.healthTimeout,
        ...(signal ? { signal } : {}),
        note: rec.note,
        onHook: (p, run) => {
          deps.listener?.progress?.(rec.record, `running ${p} hook ${run.hook}`);
          void deps.history.save(rec.record).catch(() => undefined);
        },
        onChange: () => void deps.history.save(rec.record).catch(() => undefined),
      },
      phase,
      hooks,
      step,
    );
    endStep(step, 'succeeded');
  } catch (err) {
    endStep(step, 'failed', errorMessage(err));
    throw err;
  }
}

/**
 * Applies one wave's objects in stages. The inventory gets the union of old and new objects
 * before the first object is written: if this process dies mid-apply, nothing it created is
 * orphaned. When the app's namespace arrives with this sync, that is right after the first
 * stage made it exist.
 */
async function apply(
  rec: Recorder,
  prepared: Prepared,
  objects: Desired[],
  entries: InventoryEntry[],
  head: string,
  app: AppConfig,
  signal: AbortSignal | undefined,
  state: ApplyState,
): Promise<void> {
  await rec.enter('apply');
  const { manager, dry, inventory, previous, createdHere, client } = prepared;
  const inventoryStage = createdHere.has(app.namespace) ? 1 : 0;
  const changes = await manager.applyStaged(objects, dry, {
    beforeStage: async (stage) => {
      if (stage === inventoryStage && !state.inventoryWritten) {
        await writeInventory(inventory, [...previous.entries, ...entries], head, app);
        state.inventoryWritten = true;
      }
    },
    waitEstablished: async (crds) => {
      await waitForHealth(client, crds, { timeoutMs: Math.min(app.healthTimeout, 60_000), ...(signal ? { signal } : {}) });
    },
  });
  const applied = changes.filter((c) => !isSynthetic(objects, c));
  rec.record.changes.push(...applied);
  rec.note('info', `applied: ${summarize(applied)}`);
}

/**
 * Waits until every object of a wave is healthy (a finished Job its TTL removed is not waited on),
 * showing progress on the record. Adds to `state` what this sync verified: each object's
 * fingerprint and its resourceVersion once healthy.
 */
async function waitHealthy(
  deps: SyncDeps,
  rec: Recorder,
  prepared: Prepared,
  objects: Desired[],
  app: AppConfig,
  signal: AbortSignal | undefined,
  state: ApplyState,
): Promise<void> {
  await rec.enter('health');
  const { dry, client } = prepared;
  const live = new Map<string, string>();
  let lastSave = 0;
  const report = await waitForHealth(
    client,
    objects.filter((d) => !dry.skip.has(d.id)).map((d) => d.obj),
    {
      timeoutMs: app.healthTimeout,
      ...(app.failFastAfter === 'off' ? {} : { failFastAfterMs: app.failFastAfter }),
      ...(signal ? { signal } : {}),
      onLive: (id, obj) => {
        if (typeof obj.metadata.resourceVersion === 'string') live.set(id, obj.metadata.resourceVersion);
      },
      onProgress: (progress) => {
        rec.record.health = [...state.health, ...progress];
        if (Date.now() - lastSave > 1_000) {
          lastSave = Date.now();
          void deps.history.save(rec.record).catch(() => undefined);
        }
      },
    },
  ).catch((err: unknown) => {
    throw err instanceof SyncError ? err : new SyncError('HEALTH_CHECK_FAILED', `health check failed: ${errorMessage(err)}`, true, { cause: err });
  });
  state.health.push(...report);
  rec.record.health = [...state.health];
  rec.note('info', `all ${report.length} objects healthy`);
  for (const d of objects) {
    const fingerprint = dry.fingerprints.get(d.id);
    const resourceVersion = live.get(d.id);
    if (fingerprint && resourceVersion && !d.synthetic) state.verified.set(d.id, { fingerprint, resourceVersion });
  }
}

/** Prunes what the previous inventory has and this commit does not, and records the inventory. */
async function pruneStale(rec: Recorder, prepared: Prepared, entries: InventoryEntry[], head: string, app: AppConfig): Promise<void> {
  await rec.enter('prune');
  const { client, inventory, previous, hooks } = prepared;
  const keep = new Set(entries.map((e) => e.id));
  // An object that became a hook is the hook's now: its runs replace it, prune leaves it.
  const hookIds = new Set(hooks.map((h) => h.id));
  const stale = previous.entries.filter((e) => !keep.has(e.id) && !hookIds.has(e.id));
  if (stale.length === 0 || !app.prune) {
    if (stale.length > 0) rec.note('info', `${stale.length} object(s) are no longer in Git; prune is off for this app, so they stay (and stay tracked)`);
    await writeInventory(inventory, [...entries, ...stale], head, app);
    return;
  }
  const pruned = await prune(client, app.name, stale);
  rec.record.changes.push(...pruned.entries);
  await writeInventory(inventory, [...entries, ...pruned.kept], head, app);
  if (pruned.errors.length > 0) {
    throw new SyncError(
      'PRUNE_FAILED',
      pruned.errors.map((e) => e.message).join('\n'),
      pruned.errors.every((e) => e instanceof SyncError && e.transient),
    );
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
    throw new SyncError(
      'INVENTORY_FAILED',
      `could not record the inventory ConfigMap in namespace ${app.namespace}: ${message}${/not found/.test(message) ? ' (create the namespace, or set createNamespace: true)' : ''}`,
      err instanceof SyncError ? err.transient : true,
      { cause: err },
    );
  }
}

/** `3 created, 1 configured, 12 unchanged, 1 pruned`. */
export function summarize(changes: ChangeEntry[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const parts = CHANGE_ACTIONS.filter((a) => counts.get(a)).map((a) => `${counts.get(a)} ${a === 'deleted' ? 'pruned' : a}`);
  return parts.join(', ') || 'no objects';
}
