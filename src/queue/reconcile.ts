import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig, Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { Metrics } from '../metrics/families.js';
import type { Notifier } from '../notify.js';
import { describeRef } from '../kube/refs.js';
import type { History } from '../store/history.js';
import { detectDrift, type DriftDeps } from '../sync/drift.js';
import { QUEUES } from './names.js';
import type { Intake } from './producer.js';

/**
 * Upserts one job scheduler per app (every `driftInterval`) and removes those of apps no longer
 * configured. Schedulers live in Redis: they survive restarts, and however many workers run, each
 * interval yields one job.
 */
export async function scheduleReconciles(queue: Queue, apps: readonly AppConfig[]): Promise<void> {
  const wanted = new Set(apps.map((a) => `reconcile-${a.name}`));
  for (const app of apps) {
    // Leave a scheduler that is already right alone, so restarts do not shift its rhythm; a new
    // one first fires one interval from now (webhooks deploy; this is the safety net).
    const existing = await queue.getJobScheduler(`reconcile-${app.name}`);
    if (existing && Number(existing.every) === app.driftInterval) continue;
    await queue.upsertJobScheduler(
      `reconcile-${app.name}`,
      { every: app.driftInterval, startDate: Date.now() + app.driftInterval },
      { name: 'reconcile', data: { app: app.name }, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 }, attempts: 1 } },
    );
  }
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (scheduler.key && !wanted.has(scheduler.key) && scheduler.key.startsWith('reconcile-')) await queue.removeJobScheduler(scheduler.key);
  }
}

/** The job scheduler of the periodic webhook check. */
const WEBHOOK_SCHEDULER = 'webhooks-check';

/**
 * Schedules the webhook check every `interval` (one job per interval however many workers run)
 * and queues one now, shared by workers starting within the same minute. `off` removes it.
 */
export async function scheduleWebhookChecks(queue: Queue, interval: number | 'off'): Promise<void> {
  if (interval === 'off') {
    await queue.removeJobScheduler(WEBHOOK_SCHEDULER);
    return;
  }
  const opts = { removeOnComplete: { count: 20 }, removeOnFail: { count: 20 }, attempts: 1 };
  const existing = await queue.getJobScheduler(WEBHOOK_SCHEDULER);
  if (!existing || Number(existing.every) !== interval) {
    await queue.upsertJobScheduler(WEBHOOK_SCHEDULER, { every: interval, startDate: Date.now() + interval }, { name: 'webhooks', data: {}, opts });
  }
  await queue.add('webhooks', {}, { ...opts, jobId: `webhooks-start-${Math.floor(Date.now() / 60_000)}` });
}

/** Dependencies of {@link createReconcileWorker}. */
export interface ReconcileDeps {
  config: Config;
  connection: Redis;
  history: History;
  intake: Intake;
  drift: DriftDeps;
  log: Logger;
  metrics?: Metrics;
  notifier?: Notifier;
  /** The webhook check (jobs named `webhooks`); returns a one-line summary. */
  webhookCheck?: () => Promise<string>;
}

/**
 * Per app, every interval: is the branch head deployed (a missed or never-configured webhook still
 * deploys within one interval)? If it is, does the cluster still match it (drift, recorded with
 * field paths; healed through the one-sync-per-app lane when `selfHeal`, reported otherwise)?
 * And is everything still healthy?
 */
export function createReconcileWorker(deps: ReconcileDeps): Worker {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));

  async function enqueueSync(app: AppConfig, trigger: 'reconcile' | 'heal', sha: string): Promise<string | undefined> {
    const result = await deps.intake.enqueue('internal', `${trigger}-${app.name}-${randomUUID()}`, [
      { kind: 'sync', data: { app: app.name, trigger, forge: app.forge, repo: app.repo, branch: app.branch, sha, receivedAt: Date.now() } },
    ]);
    return result.duplicate ? undefined : result.accepted[0]?.jobId;
  }

  async function reconcile(app: AppConfig): Promise<string> {
    const log = deps.log.child({ app: app.name, reconcile: true });
    const head = await deps.drift.git.resolveBranch(gitSource(app, deps.drift.forges), app.branch);
    const state = await deps.history.appState(app.name);
    const previous = await deps.history.drift(app.name);
    if (head && head !== state.deployedSha) {
      await deps.history.setDrift(app.name, { ...(previous ?? { drift: [], health: [] }), checkedAt: Date.now(), headSha: head });
      if (state.lastResult === 'running') return 'sync-running';
      if (state.attemptedSha === head && state.lastResult === 'failed') {
        log.info({ head }, 'branch head failed to deploy; waiting for a new commit');
        return 'head-failed';
      }
      const jobId = await enqueueSync(app, 'reconcile', head);
      log.info({ head, jobId }, 'branch head is not deployed; sync queued');
      return 'out-of-sync';
    }
    if (!state.deployedSha) return 'never-deployed';

    const startedAt = Date.now();
    const report = await detectDrift(deps.drift, app, state.deployedSha);
    // A heal that finished while this check ran saw newer state than this check did: recording
    // this check's drift would bring back what the heal just cleared.
    const latest = await deps.history.drift(app.name);
    if (latest?.healedAt !== undefined && latest.healedAt >= startedAt) return 'stale';
    deps.metrics?.driftedObjects.set({ app: app.name }, report.drift.length);
    await deps.history.setDrift(app.name, {
      checkedAt: report.checkedAt,
      ...(head ? { headSha: head } : {}),
      sha: state.deployedSha,
      drift: report.drift,
      health: report.health,
    });
    if (report.drift.length === 0) return 'in-sync';

    const objects = report.drift.map((d) => `${describeRef(d)}${d.missing ? ' (deleted)' : d.paths?.length ? ` ${d.paths.join(', ')}` : ''}`);
    const known = new Set((previous?.drift ?? []).map((d) => `${d.id}|${d.missing ? 'missing' : (d.paths ?? []).join(',')}`));
    const isNew = report.drift.some((d) => !known.has(`${d.id}|${d.missing ? 'missing' : (d.paths ?? []).join(',')}`));
    log.warn({ objects }, 'drift found');
    if (isNew) {
      await deps.notifier
        ?.notify({
          event: 'drift-found',
          app: app.name,
          sha: state.deployedSha,
          message: `${report.drift.length} object(s) differ from Git${app.selfHeal ? '; healing' : ''}`,
          url: `${deps.config.server.publicUrl}/apps/${app.name}`,
          objects,
        })
        .catch(() => undefined);
    }
    if (!app.selfHeal) return 'drifted';
    const jobId = await enqueueSync(app, 'heal', state.deployedSha);
    log.info({ jobId }, 'healing drift');
    return 'healing';
  }

  async function process(job: Job<{ app: string }>): Promise<string> {
    if (job.name === 'webhooks') return deps.webhookCheck ? deps.webhookCheck() : 'webhook check not configured';
    const app = apps.get(job.data.app);
    if (!app) throw new UnrecoverableError(`app "${job.data.app}" is no longer configured`);
    return reconcile(app);
  }

  const worker = new Worker(QUEUES.reconcile, process, { connection: deps.connection, prefix: deps.config.redis.prefix, concurrency: 2 });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'reconcile worker error'));
  worker.on('failed', (job, err) => deps.log.warn({ app: job?.data.app, err: err.message }, 'reconcile failed'));
  return worker;
}
