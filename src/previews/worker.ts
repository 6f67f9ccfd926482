import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { previewJobSchema, type PreviewJobData } from '../model/jobs.js';
import { queuePreview } from '../queue/producer.js';
import { runPreviewJob, type PreviewDeps } from './lifecycle.js';
import { sweepPreviews, type SweepDeps } from './sweep.js';
import type { Keys } from '../store/keys.js';
import { SyncError } from '../sync/errors.js';
import { tryLock } from '../queue/lock.js';
import { QUEUES } from '../queue/names.js';

/** The name of the preview sweep's scheduled job. */
export const PREVIEW_SWEEP = 'preview-sweep';

/** Dependencies of {@link createPreviewWorker}. */
export interface PreviewWorkerDeps {
  config: Config;
  connection: Redis;
  redis: Redis;
  keys: Keys;
  log: Logger;
  preview: Omit<PreviewDeps, 'requeue'>;
  sweep: Omit<SweepDeps, 'queue'>;
  queue: Queue;
  concurrency: number;
  lockMs: number;
  /** How long a job for a pull request whose preview is busy waits before it tries again. */
  busyRetryMs?: number;
}

/** Schedules the preview sweep (when an app has previews), every `worker.previewSweepInterval`. */
export async function schedulePreviewSweep(queue: Queue, config: Config): Promise<void> {
  if (!config.apps.some((a) => a.previews)) {
    await queue.removeJobScheduler(PREVIEW_SWEEP);
    return;
  }
  await queue.upsertJobScheduler(PREVIEW_SWEEP, { every: config.worker.previewSweepInterval }, { name: PREVIEW_SWEEP, data: {} });
}

/**
 * Consumes `preview` jobs on a queue of their own, so previews never hold up a deploy: one job
 * per pull request at a time (a lock), and a job older than the newest of its pull request does
 * nothing. Also runs the scheduled sweep.
 */
export function createPreviewWorker(deps: PreviewWorkerDeps): Worker {
  const busyRetryMs = deps.busyRetryMs ?? 2_000;
  const requeue = async (data: Omit<PreviewJobData, 'seq'>, delayMs = 0) => {
    await queuePreview({ redis: deps.redis, keys: deps.keys, queue: deps.queue }, data, {
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
      ...(delayMs > 0 ? { delay: delayMs } : {}),
    });
  };

  async function process(job: Job, token?: string): Promise<string> {
    if (job.name === PREVIEW_SWEEP) {
      const reports = await sweepPreviews({ ...deps.sweep, queue: (data) => requeue(data) });
      return (
        reports.map((r) => `${r.app}: ${r.error ? `skipped (${r.error})` : `${r.looked.length} looked at, ${r.slept.length} put to sleep`}`).join('; ') ||
        'no previews'
      );
    }
    const parsed = previewJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job data is not a preview job: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data;
    const latest = Number((await deps.redis.get(deps.keys.previewSeq(data.app, data.number))) ?? 0);
    if (data.seq < latest) return 'superseded';
    const lock = await tryLock(deps.redis, deps.keys.previewLock(data.app, data.number), deps.lockMs);
    if (!lock) {
      await job.moveToDelayed(Date.now() + busyRetryMs, token);
      throw new DelayedError();
    }
    try {
      return await runPreviewJob({ ...deps.preview, requeue }, data, {
        number: job.attemptsMade + 1,
        final: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        // A lost lock stops the deploy before its next write, so two jobs never work on one preview.
        signal: lock.lost,
      });
    } catch (err) {
      if (err instanceof SyncError && !err.transient) throw new UnrecoverableError(err.message);
      throw err;
    } finally {
      await lock.release();
    }
  }
  const worker = new Worker(QUEUES.preview, process, { connection: deps.connection, prefix: deps.config.redis.prefix, concurrency: deps.concurrency });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'preview worker error'));
  return worker;
}
