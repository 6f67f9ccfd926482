import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import { SyncError } from '../sync/errors.js';
import { runSync, type SyncDeps } from '../sync/pipeline.js';
import { claimGeneration } from './claim.js';
import { QUEUES, syncJobSchema, type SyncJobData } from './jobs.js';
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
}

/**
 * Consumes `sync` jobs, several at once, yet one sync per app at a time across every worker
 * process: a job whose app is locked by another sync waits (delayed, not failed) and tries again.
 * Transient failures are retried with backoff by BullMQ; permanent ones fail once.
 */
export function createSyncWorker(deps: SyncWorkerDeps): Worker {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const busyRetryMs = deps.busyRetryMs ?? 250;

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
      const claimed = await claimGeneration(deps.redis, deps.keys, app.name, data.generation);
      const stored = (job.data as { covered?: string[] }).covered ?? [];
      const covered = claimed ? [...new Set([data.sha, ...claimed].filter(Boolean))] : stored;
      if (claimed) await job.updateData({ ...job.data, covered });
      const attempts = job.opts.attempts ?? 1;
      const record = await runSync(
        { ...deps.sync, history: deps.history, log, forges: deps.config.forges },
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
