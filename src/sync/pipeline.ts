import type { Logger } from 'pino';
import type { AppConfig, Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { KubeClient } from '../kube/client.js';
import { objectId, type KubeObject } from '../kube/refs.js';
import type { SyncJobData } from '../model/jobs.js';
import type { History } from '../store/history.js';
import type { PhaseName, SyncRecord } from '../model/records.js';
import { createResourceManager } from './apply.js';
import type { Git } from './checkout.js';
import { SyncError } from './errors.js';
import { createInventory, type InventoryEntry } from './inventory.js';
import { finishedJobFingerprint, skipFinishedJobs } from './finished-jobs.js';
import { FIELD_MANAGER } from './labels.js';
import { prune } from './prune.js';
import { renderApp, type RenderLimits, type RenderTools } from './render/index.js';
import { CHANGE_ACTIONS, type ChangeEntry } from '../model/changes.js';
import { validateObjects, type DesiredObject } from './validate.js';
import { waitForHealth } from './wait.js';

/** Hears about a sync's progress; commit statuses are one listener. Must not throw. */
export interface SyncListener {
  started?(record: SyncRecord): void;
  finished?(record: SyncRecord, final: boolean): void;
  superseded?(record: SyncRecord, sha: string, by: string): void;
}

/** What a sync needs from the outside world. */
export interface SyncDeps {
  git: Git;
  tools: RenderTools;
  limits: RenderLimits;
  forges: Config['forges'];
  kube(cluster: string): Promise<KubeClient>;
  history: History;
  log: Logger;
  listener?: SyncListener;
  /** Requests in flight at once while applying. */
  applyConcurrency?: number;
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
 * Deploys an app's branch head: resolve, checkout, render, validate, dry-run (all or nothing),
 * staged apply, wait for health, prune, record. A job whose commit is no longer the head, while the
 * head is already deployed, ends `superseded` without touching the cluster: so a late delivery never
 * rolls back, while a force-push to an older commit (a new head) deploys it.
 */
export async function runSync(deps: SyncDeps, request: SyncRequest): Promise<SyncRecord> {
  const { app, data } = request;
  const log = deps.log.child({ app: app.name, jobId: request.jobId, attempt: request.attempt });
  const now = Date.now();
  const previous = await deps.history.get(request.jobId);
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
    startedAt: previous?.startedAt ?? now,
    phases: [],
    changes: [],
    health: [],
  };
  delete record.error;
  delete record.finishedAt;

  const note = (level: 'info' | 'warn' | 'error', msg: string) => {
    record.log.push({ at: Date.now(), level, msg });
    log[level]({ sha: record.sha }, msg);
  };
  let phase: PhaseName | undefined;
  const enter = async (name: PhaseName) => {
    const at = Date.now();
    const open = record.phases.at(-1);
    if (open && open.finishedAt === undefined) open.finishedAt = at;
    record.phases.push({ name, startedAt: at });
    phase = name;
    await deps.history.save(record);
  };
  const closePhase = () => {
    const open = record.phases.at(-1);
    if (open && open.finishedAt === undefined) open.finishedAt = Date.now();
  };
  const checkAborted = () => {
    if (request.signal?.aborted) throw new SyncError('ABORTED', 'the sync lost its app lock and stopped before writing more', true);
  };

  if (previous?.result === 'running') note('warn', 'the worker running this sync stopped before it finished (killed or lost); taking it up again');
  note('info', `sync started (trigger ${data.trigger}${data.sha ? `, commit ${data.sha.slice(0, 7)}` : ''}, attempt ${request.attempt})`);
  const source = gitSource(app, deps.forges);
  let checkout: Awaited<ReturnType<Git['checkout']>> | undefined;
  try {
    await enter('resolve');
    const head = await deps.git.resolveBranch(source, app.branch);
    if (!head) throw new SyncError('BRANCH_MISSING', `branch ${app.branch} does not exist in ${app.repo}`);
    record.sha = head;
    const state = await deps.history.appState(app.name);
    for (const sha of record.covered) if (sha && sha !== head) deps.listener?.superseded?.(record, sha, head);

    if (data.trigger === 'push' && state.deployedSha === head) {
      closePhase();
      record.finishedAt = Date.now();
      if (data.sha && data.sha !== head) {
        record.result = 'superseded';
        record.supersededBy = head;
        note('info', `commit ${data.sha.slice(0, 7)} is no longer the head of ${app.branch}; ${head.slice(0, 7)} is deployed already, so nothing changes`);
      } else {
        record.result = 'succeeded';
        note('info', `${head.slice(0, 7)} is already deployed (sync ${state.lastSyncId ?? 'earlier'}); nothing to do`);
      }
      await deps.history.save(record);
      deps.listener?.finished?.(record, true);
      return record;
    }
    if (data.sha && data.sha !== head) note('info', `commit ${data.sha.slice(0, 7)} is no longer the head of ${app.branch}; deploying the head, ${head.slice(0, 7)}`);
    deps.listener?.started?.(record);
    await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'running' });

    await enter('checkout');
    checkout = await deps.git.checkout(source, head);

    await enter('render');
    const rendered = await renderApp(checkout.dir, app, deps.limits, deps.tools);
    note('info', `rendered ${rendered.objects.length} object${rendered.objects.length === 1 ? '' : 's'} (${rendered.mode})`);
    if (rendered.objects.length === 0 && !app.allowEmpty) {
      throw new SyncError('EMPTY_RENDER', `${app.path} rendered no objects; refusing to prune everything this app deployed (set allowEmpty: true if an empty app is intended)`);
    }

    await enter('validate');
    const client = await deps.kube(app.cluster);
    const inventory = createInventory(client, { app: app.name, namespace: app.namespace });
    const desired: Desired[] = await validateObjects(rendered.objects, app, (v, k) => client.resource(v, k), inventory.id);
    const createdHere = new Set(desired.filter((d) => d.obj.kind === 'Namespace' && d.obj.apiVersion === 'v1').map((d) => d.obj.metadata.name));
    if (app.createNamespace && !createdHere.has(app.namespace) && !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: app.namespace }))) {
      createdHere.add(app.namespace);
      desired.push(namespaceObject(app));
    }

    await enter('dry-run');
    const manager = createResourceManager({ client, concurrency: deps.applyConcurrency ?? 8, foreignManagers: app.takeOverFieldsFrom, recreate: app.recreate, ignoreFields: app.ignoreFields });
    const dry = await manager.dryRunAll(desired, createdHere);
    if (dry.deferred.size > 0) note('info', `${dry.deferred.size} object(s) wait for a CRD or namespace from this commit before their dry-run`);
    const previousInventory = await inventory.read();
    const finished = skipFinishedJobs(desired, previousInventory.entries, dry);
    if (finished > 0) note('info', `${finished} finished Job(s) removed by their TTL are not run again`);
    checkAborted();

    await enter('apply');
    const newEntries = desired.filter((d) => !d.synthetic).map(inventoryEntry);
    // Record the union before the objects it adds are written: if this process dies mid-apply,
    // nothing it created is orphaned. When the app's namespace arrives with this sync, that is
    // right after the first stage (namespaces, CRDs) has made it exist.
    const inventoryStage = createdHere.has(app.namespace) ? 1 : 0;
    const changes = await manager.applyStaged(desired, dry, {
      beforeStage: async (stage) => {
        if (stage === inventoryStage) await writeInventory(inventory, [...previousInventory.entries, ...newEntries], head, app);
      },
      waitEstablished: async (crds) => {
        await waitForHealth(client, crds, { timeoutMs: Math.min(app.healthTimeout, 60_000), ...(request.signal ? { signal: request.signal } : {}) });
      },
    });
    record.changes = changes.filter((c) => !isSynthetic(desired, c));
    const counts = summarize(record.changes);
    note('info', `applied: ${counts}`);
    checkAborted();

    await enter('health');
    let lastSave = 0;
    record.health = await waitForHealth(
      client,
      desired.filter((d) => !dry.skip.has(d.id)).map((d) => d.obj),
      {
        timeoutMs: app.healthTimeout,
        ...(app.failFastAfter === 'off' ? {} : { failFastAfterMs: app.failFastAfter }),
        ...(request.signal ? { signal: request.signal } : {}),
        onProgress: (report) => {
          record.health = report;
          if (Date.now() - lastSave > 1_000) {
            lastSave = Date.now();
            void deps.history.save(record).catch(() => undefined);
          }
        },
      },
    ).catch((err: unknown) => {
      throw err instanceof SyncError ? err : new SyncError('HEALTH_CHECK_FAILED', `health check failed: ${(err as Error).message}`, true, { cause: err });
    });
    note('info', `all ${record.health.length} objects healthy`);

    await enter('prune');
    const keep = new Set(newEntries.map((e) => e.id));
    const stale = previousInventory.entries.filter((e) => !keep.has(e.id));
    let kept: InventoryEntry[] = [];
    if (stale.length > 0 && !app.prune) {
      note('info', `${stale.length} object(s) are no longer in Git; prune is off for this app, so they stay (and stay tracked)`);
      kept = stale;
    } else if (stale.length > 0) {
      const pruned = await prune(client, app.name, stale);
      record.changes.push(...pruned.entries);
      kept = pruned.kept;
      await writeInventory(inventory, [...newEntries, ...kept], head, app);
      if (pruned.errors.length > 0) {
        throw new SyncError('PRUNE_FAILED', pruned.errors.map((e) => e.message).join('\n'), pruned.errors.every((e) => e instanceof SyncError && e.transient));
      }
      note('info', `pruned ${pruned.entries.filter((e) => e.action === 'deleted').length} object(s)`);
      for (const entry of pruned.entries.filter((e) => e.action === 'skipped' && /no longer served/.test(e.message ?? ''))) note('warn', `${entry.kind}/${entry.namespace ? `${entry.namespace}/` : ''}${entry.name}: ${entry.message ?? ''}`);
    }
    if (stale.length === 0 || !app.prune) await writeInventory(inventory, [...newEntries, ...kept], head, app);

    closePhase();
    record.result = 'succeeded';
    record.finishedAt = Date.now();
    note('info', `deployed ${head.slice(0, 7)}: ${summarize(record.changes)}, healthy in ${Math.round((record.finishedAt - (record.startedAt ?? now)) / 1000)}s`);
    await deps.history.save(record);
    await deps.history.setAppState(app.name, { deployedSha: head, attemptedSha: head, deployedAt: record.finishedAt, lastSyncId: record.id, lastResult: 'succeeded' });
    deps.listener?.finished?.(record, true);
    return record;
  } catch (err) {
    closePhase();
    const error = err instanceof SyncError ? err : new SyncError('INTERNAL', (err as Error).message ?? String(err), true, { cause: err });
    record.result = 'failed';
    record.finishedAt = Date.now();
    record.error = {
      code: error.code,
      message: error.message,
      transient: error.transient,
      ...(error.object ? { object: error.object } : {}),
      ...(error.file ? { file: error.file } : {}),
    };
    const final = request.finalAttempt || !error.transient;
    note('error', `${phase ? `${phase}: ` : ''}${error.message}${final ? '' : ' (will retry)'}`);
    await deps.history.save(record);
    if (final) await deps.history.setAppState(app.name, { lastSyncId: record.id, lastResult: 'failed', ...(record.sha ? { attemptedSha: record.sha } : {}) });
    deps.listener?.finished?.(record, final);
    throw error;
  } finally {
    await checkout?.dispose().catch(() => undefined);
  }
}

type Desired = DesiredObject & { synthetic?: boolean };

function namespaceObject(app: AppConfig): Desired {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app.namespace, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } } };
  return { obj, source: 'createNamespace', id: objectId({ apiVersion: 'v1', kind: 'Namespace', name: app.namespace }), namespaced: false, newKind: false, synthetic: true };
}

function isSynthetic(desired: Desired[], change: ChangeEntry): boolean {
  return desired.some((d) => d.synthetic && d.id === change.id);
}

function inventoryEntry(d: DesiredObject): InventoryEntry {
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

async function writeInventory(inventory: ReturnType<typeof createInventory>, entries: InventoryEntry[], revision: string, app: AppConfig): Promise<void> {
  try {
    await inventory.write(entries, revision);
  } catch (err) {
    const message = (err as Error).message;
    throw new SyncError('INVENTORY_FAILED', `could not record the inventory ConfigMap in namespace ${app.namespace}: ${message}${/not found/.test(message) ? ' (create the namespace, or set createNamespace: true)' : ''}`, err instanceof SyncError ? err.transient : true, { cause: err });
  }
}

/** `3 created, 1 configured, 12 unchanged, 1 deleted`. */
export function summarize(changes: ChangeEntry[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const parts = CHANGE_ACTIONS.filter((a) => counts.get(a)).map((a) => `${counts.get(a)} ${a === 'deleted' ? 'pruned' : a}`);
  return parts.join(', ') || 'no objects';
}
