import type { Logger } from 'pino';
import type { AppConfig, Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { KubeClient } from '../kube/client.js';
import type { PlanJobData } from '../model/jobs.js';
import type { History } from '../store/history.js';
import type { PhaseName, SyncRecord } from '../model/records.js';
import { createResourceManager } from './apply.js';
import type { Git } from './checkout.js';
import { SyncError } from './errors.js';
import { skipFinishedJobs } from './finished-jobs.js';
import { planPrune } from './prune.js';
import { createInventory } from './inventory.js';
import { renderApp, type RenderLimits, type RenderTools } from './render/index.js';
import type { ChangeEntry } from '../model/changes.js';
import { validateObjects } from './validate.js';

/** Hears about a plan's progress: statuses and comments are listeners. Must not throw. */
export interface PlanListener {
  started?(record: SyncRecord): void;
  finished?(record: SyncRecord, final: boolean): void | Promise<void>;
  superseded?(record: SyncRecord, by: string): void;
}

/** What a plan needs. */
export interface PlanDeps {
  git: Git;
  tools: RenderTools;
  limits: RenderLimits;
  forges: Config['forges'];
  kube(cluster: string): Promise<KubeClient>;
  history: History;
  log: Logger;
  listener?: PlanListener;
  /** Expands an abbreviated sha through the forge's API, when git alone cannot. */
  resolveSha?(app: AppConfig, shortSha: string): Promise<string | undefined>;
}

/** One plan to run. */
export interface PlanRequest {
  app: AppConfig;
  data: PlanJobData;
  jobId: string;
  /** The newest head the pull request announced; an older job is superseded. */
  latestHead?: string;
  attempt: number;
  finalAttempt: boolean;
}

/**
 * Plans a pull request's head: checkout, render, validate, server-side dry-run against the app's
 * cluster, and a diff against the live objects (to create, to change with field paths, to prune,
 * unchanged). Never writes to the cluster. Field paths only, never values: secrets stay secret.
 */
export async function runPlan(deps: PlanDeps, request: PlanRequest): Promise<SyncRecord> {
  const { app, data } = request;
  const log = deps.log.child({ app: app.name, jobId: request.jobId, pr: data.number });
  const record: SyncRecord = {
    id: request.jobId,
    kind: 'plan',
    app: app.name,
    trigger: 'push',
    jobId: request.jobId,
    requestedSha: data.headSha,
    sha: data.headSha,
    covered: [],
    ...(data.deliveryId ? { deliveryId: data.deliveryId } : {}),
    cluster: app.cluster,
    namespace: app.namespace,
    result: 'running',
    phases: [],
    changes: [],
    health: [],
    log: [],
    attempt: request.attempt,
    createdAt: data.receivedAt,
    startedAt: Date.now(),
    pullRequest: { number: data.number, headBranch: data.headBranch, baseBranch: data.baseBranch },
  };
  const note = (level: 'info' | 'warn' | 'error', msg: string) => {
    record.log.push({ at: Date.now(), level, msg });
    log[level](msg);
  };
  const enter = async (name: PhaseName) => {
    const open = record.phases.at(-1);
    if (open && open.finishedAt === undefined) open.finishedAt = Date.now();
    record.phases.push({ name, startedAt: Date.now() });
    await deps.history.save(record);
  };
  const close = () => {
    const open = record.phases.at(-1);
    if (open && open.finishedAt === undefined) open.finishedAt = Date.now();
  };

  if (request.latestHead && request.latestHead !== data.headSha) {
    record.result = 'superseded';
    record.supersededBy = request.latestHead;
    record.finishedAt = Date.now();
    note('info', `pull request #${data.number} has a newer head, ${request.latestHead.slice(0, 7)}; this plan is moot`);
    await deps.history.save(record);
    deps.listener?.superseded?.(record, request.latestHead);
    return record;
  }

  const source = gitSource(app, deps.forges);
  let checkout: Awaited<ReturnType<Git['checkout']>> | undefined;
  try {
    note('info', `planning pull request #${data.number} (${data.headBranch} → ${data.baseBranch}) at ${data.headSha.slice(0, 7)}`);
    deps.listener?.started?.(record);
    await enter('resolve');
    let sha = data.headSha;
    if (sha.length < 40) {
      sha = (await deps.resolveSha?.(app, sha)) ?? (await resolveByBranch(deps.git, source, data, sha)) ?? '';
      if (!sha) throw new SyncError('COMMIT_MISSING', `commit ${data.headSha} of pull request #${data.number} could not be resolved to a full hash`);
      record.sha = sha;
    }

    await enter('checkout');
    checkout = await deps.git.checkout(source, sha);
    await enter('render');
    const rendered = await renderApp(checkout.dir, app, deps.limits, deps.tools);
    note('info', `rendered ${rendered.objects.length} object(s) (${rendered.mode})`);
    if (rendered.objects.length === 0 && !app.allowEmpty) {
      throw new SyncError('EMPTY_RENDER', `${app.path} renders no objects; merging this would be refused (set allowEmpty: true if an empty app is intended)`);
    }
    await enter('validate');
    const client = await deps.kube(app.cluster);
    const inventory = createInventory(client, { app: app.name, namespace: app.namespace });
    const desired = await validateObjects(rendered.objects, app, (v, k) => client.resource(v, k), inventory.id);
    const createdHere = new Set(desired.filter((d) => d.obj.kind === 'Namespace' && d.obj.apiVersion === 'v1').map((d) => d.obj.metadata.name));
    if (app.createNamespace) createdHere.add(app.namespace);

    await enter('dry-run');
    const manager = createResourceManager({ client, foreignManagers: app.takeOverFieldsFrom, recreate: app.recreate, ignoreFields: app.ignoreFields });
    const dry = await manager.dryRunAll(desired, createdHere);
    const previous = await inventory.read();
    skipFinishedJobs(desired, previous.entries, dry);
    const changes: ChangeEntry[] = await manager.diff(desired, dry);

    const keep = new Set(desired.map((d) => d.id));
    changes.push(...(await planPrune(client, app.name, previous.entries.filter((e) => !keep.has(e.id)), app.prune)));
    record.changes = changes;
    close();
    record.result = 'succeeded';
    record.finishedAt = Date.now();
    note('info', `plan ready`);
    await deps.history.save(record);
    await deps.listener?.finished?.(record, true);
    return record;
  } catch (err) {
    close();
    const error = err instanceof SyncError ? err : new SyncError('INTERNAL', (err as Error).message ?? String(err), true, { cause: err });
    record.result = 'failed';
    record.finishedAt = Date.now();
    record.error = { code: error.code, message: error.message, transient: error.transient, ...(error.object ? { object: error.object } : {}), ...(error.file ? { file: error.file } : {}) };
    const final = request.finalAttempt || !error.transient;
    note('error', `${error.message}${final ? '' : ' (will retry)'}`);
    await deps.history.save(record);
    await deps.listener?.finished?.(record, final);
    throw error;
  } finally {
    await checkout?.dispose().catch(() => undefined);
  }
}

/** Finds a pull request's abbreviated head by fetching its branch: works for same-repository pull requests. */
async function resolveByBranch(git: Git, source: ReturnType<typeof gitSource>, data: PlanJobData, shortSha: string): Promise<string | undefined> {
  const head = await git.resolveBranch(source, data.headBranch).catch(() => undefined);
  if (head?.startsWith(shortSha)) return head;
  return git.expandSha(source, shortSha).catch(() => undefined);
}
