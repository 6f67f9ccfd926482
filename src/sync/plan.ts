import type { Logger } from 'pino';
import type { AppConfig } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { ChangeEntry } from '../model/changes.js';
import type { PlanJobData } from '../model/jobs.js';
import type { SyncRecord } from '../model/records.js';
import type { Git } from './checkout.js';
import { SyncError } from './errors.js';
import { prepare, type PrepareDeps, type Prepared } from './prepare.js';
import { HOOK_PHASE_WORDS, HOOK_PHASES, plannedHooks } from './hooks.js';
import { planPrune } from './prune.js';
import { createRecorder, type RecordSink } from './recorder.js';

/** Hears about a plan's progress: statuses and comments are listeners. Must not throw. */
export interface PlanListener {
  started?(record: SyncRecord): void;
  finished?(record: SyncRecord, final: boolean): void | Promise<void>;
  superseded?(record: SyncRecord, by: string): void;
}

/** What a plan needs. */
export interface PlanDeps extends PrepareDeps {
  /** Where the plan's record is kept (`landfall plan` keeps it in memory). */
  history: RecordSink;
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
  const rec = createRecorder(deps.history, log, {
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
  });
  const { record, note } = rec;

  if (request.latestHead && request.latestHead !== data.headSha) {
    record.supersededBy = request.latestHead;
    note('info', `pull request #${data.number} has a newer head, ${request.latestHead.slice(0, 7)}; this plan is moot`);
    await rec.finish('superseded');
    deps.listener?.superseded?.(record, request.latestHead);
    return record;
  }

  let prepared: Prepared | undefined;
  try {
    note('info', `planning pull request #${data.number} (${data.headBranch} → ${data.baseBranch}) at ${data.headSha.slice(0, 7)}`);
    deps.listener?.started?.(record);
    await rec.enter('resolve');
    let sha = data.headSha;
    if (sha.length < 40) {
      sha = (await deps.resolveSha?.(app, sha)) ?? (await resolveByBranch(deps.git, gitSource(app, deps.forges), data, sha)) ?? '';
      if (!sha) throw new SyncError('COMMIT_MISSING', `commit ${data.headSha} of pull request #${data.number} could not be resolved to a full hash`);
      record.sha = sha;
    }
    prepared = await prepare(deps, app, sha, 'plan', rec);
    const { manager, desired, dry, client, previous, hooks } = prepared;
    const changes: ChangeEntry[] = await manager.diff(desired, dry);
    const keep = new Set([...desired, ...hooks].map((d) => d.id));
    if (hooks.length > 0) {
      // Hooks are not objects to diff: each deploy runs them anew. The plan lists them apart.
      record.plannedHooks = plannedHooks(hooks);
      for (const phase of HOOK_PHASES) {
        const these = record.plannedHooks.filter((h) => h.phase === phase);
        if (these.length > 0) note('info', `${HOOK_PHASE_WORDS[phase]}: ${these.map((h) => `${h.kind} ${h.name}`).join(', ')}`);
      }
    }
    changes.push(
      ...(await planPrune(
        client,
        app.name,
        previous.entries.filter((e) => !keep.has(e.id)),
        app.prune,
      )),
    );
    record.changes = changes;
    note('info', 'plan ready');
    await rec.finish();
    await deps.listener?.finished?.(record, true);
    return record;
  } catch (err) {
    const final = (e: SyncError) => request.finalAttempt || !e.transient;
    const error = await rec.fail(err, final);
    await deps.listener?.finished?.(record, final(error));
    throw error;
  } finally {
    await prepared?.dispose().catch(() => undefined);
  }
}

/** Finds a pull request's abbreviated head by fetching its branch: works for same-repository pull requests. */
async function resolveByBranch(git: Git, source: ReturnType<typeof gitSource>, data: PlanJobData, shortSha: string): Promise<string | undefined> {
  const head = await git.resolveBranch(source, data.headBranch).catch(() => undefined);
  if (head?.startsWith(shortSha)) return head;
  return git.expandSha(source, shortSha).catch(() => undefined);
}
