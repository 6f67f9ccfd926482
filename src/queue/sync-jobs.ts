import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import { SyncError } from '../sync/errors.js';
import { runSync, type SyncDeps } from '../sync/pipeline.js';
import { claimGeneration } from './claim.js';
import { syncJobSchema, type SyncJobData } from '../model/jobs.js';
import { QUEUES } from './names.js';
import { tryLock } from './lock.js';

/** Dependencies of {@link createSyncWorker}. */
export interface SyncWorkerDeps {
  config: Config;
  /** A blocking-capable connection (maxRetriesPerRequest: null). */
  connection: Redis;
  /** A separate connection for locks and claims. */
  redis: Redis;
  keys: Keys;
  history: History;
  log: Logger;
  sync: Omit<SyncDeps, 'history' | 'log' | 'forges'>;
  concurrency: number;
  /** How long a dead worker can keep an app locked, and BullMQ's stalled-job interval. */
  lockMs: number;
  /** Delay before a job that found its app busy looks again. */
  busyRetryMs?: number;
  /**
   * A push sync that several pushes have joined starts only once its branch has been still
   * this long (no newer push announced), so a burst spread over a second still ends in at most
   * two syncs. A lone push never waits.
   */
  settleMs?: number;
  /** The longest a sync waits for its branch to settle, so a steady stream of pushes still deploys. */
  maxSettleMs?: number;
}

/**
 * Consumes `sync` jobs, several at once, yet one sync per app at a time across every worker
 * process: a job whose app is locked by another sync waits (delayed, not failed) and tries again.
 * Transient failures are retried with backoff by BullMQ; permanent ones fail once.
 */
export function createSyncWorker(deps: SyncWorkerDeps): Worker {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const busyRetryMs = deps.busyRetryMs ?? 250;
  const settleMs = deps.settleMs ?? 250;
  const maxSettleMs = deps.maxSettleMs ?? 2_000;

  /**
   * How long a push sync should wait before it starts, or 0. It waits while the branch is still
   * moving: more than one push has joined it and the newest came less than `settleMs` ago. Once
   * it runs it claims its generation and later pushes queue the next sync, so starting in the
   * middle of a burst costs one more sync than needed (the burst benchmark saw three per app
   * for pushes spread over a second). Measured from when the job first waited, never more than
   * `maxSettleMs` in all. Reads what the intake records per push: the newest push's receipt time
   * and the commits announced since the last sync began.
   */
  async function settleDelay(job: Job, data: SyncJobData): Promise<{ waitMs: number; joined: number }> {
    const app = data.app;
    const results = await deps.redis.pipeline().hget(deps.keys.desired(app), 'receivedAt').llen(deps.keys.queuedShas(app)).exec();
    const newestPush = Number(results?.[0]?.[1] ?? 0);
    const joined = Number(results?.[1]?.[1] ?? 0);
    const now = Date.now();
    if (joined < 2 || !Number.isFinite(newestPush) || newestPush + settleMs <= now) return { waitMs: 0, joined };
    const since = data.settlingSince;
    if (since === undefined) await job.updateData({ ...data, settlingSince: now });
    const deadline = (since ?? now) + maxSettleMs;
    return { waitMs: Math.max(0, Math.min(newestPush + settleMs, deadline) - now), joined };
  }

  async function process(job: Job, token?: string): Promise<{ result: string; sha?: string }> {
    const parsed = syncJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job data is not a sync job: ${parsed.error.issues[0]?.message}`);
    const data: SyncJobData = parsed.data;
    const app = apps.get(data.app);
    if (!app) throw new UnrecoverableError(`app "${data.app}" is no longer in the configuration`);
    const log = deps.log.child({ app: app.name, jobId: job.id });

    const lock = await tryLock(deps.redis, deps.keys.appLock(app.name), deps.lockMs);
    if (!lock) {
      // Another sync of this app runs (here or in another process): wait our turn, without spending an attempt.
      await job.moveToDelayed(Date.now() + busyRetryMs, token);
      throw new DelayedError();
    }
    try {
      const settle = data.trigger === 'push' ? await settleDelay(job, data) : { waitMs: 0, joined: 0 };
      if (settle.waitMs > 0) {
        log.debug({ waitMs: settle.waitMs, joined: settle.joined }, 'pushes still arriving: the sync waits for the branch to settle');
        // Not claimed yet, so pushes arriving meanwhile keep joining this job; the lock is released below.
        await job.moveToDelayed(Date.now() + settle.waitMs, token);
        throw new DelayedError();
      }
      const claimed = await claimGeneration(deps.redis, deps.keys, app.name, data.generation);
      const covered = claimed ? [...new Set([data.sha, ...claimed].filter(Boolean))] : (data.covered ?? []);
      if (claimed) await job.updateData({ ...data, covered });
      const attempts = job.opts.attempts ?? 1;
      const record = await runSync(
        // runSync binds app, jobId and attempt itself; this job's logger would repeat the first two.
        { ...deps.sync, history: deps.history, log: deps.log, forges: deps.config.forges },
        {
          app,
          data,
          jobId: String(job.id),
          covered,
          attempt: job.attemptsMade + 1,
          finalAttempt: job.attemptsMade + 1 >= attempts,
          signal: lock.lost,
        },
      );
      return { result: record.result, ...(record.sha ? { sha: record.sha } : {}) };
    } catch (err) {
      if (err instanceof SyncError && !err.transient) throw new UnrecoverableError(err.message);
      throw err;
    } finally {
      await lock.release();
    }
  }

  const worker = new Worker(QUEUES.sync, process, {
    connection: deps.connection,
    prefix: deps.config.redis.prefix,
    concurrency: deps.concurrency,
    lockDuration: deps.lockMs,
    stalledInterval: deps.lockMs,
    maxStalledCount: 3,
    autorun: true,
  });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'sync worker error'));
  worker.on('failed', (job, err) => {
    if (err instanceof DelayedError || err.name === 'DelayedError') return;
    deps.log.warn({ jobId: job?.id, err: err.message }, 'sync job failed');
  });
  return worker;
}
