import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config, ForgeId } from '../config/schema.js';
import { ForgeApiError } from '../forges/forge-api-error.js';
import type { ForgeApi } from '../forges/forge-api.js';
import { NotifyError } from '../notify.js';
import { tryLock } from '../queue/lock.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import { createCommentHandler } from './handlers/comment.js';
import type { StatusCounters, StatusJobHandler } from './handlers/handler.js';
import { createNotifyHandler } from './handlers/notify.js';
import { createStatusHandler } from './handlers/status.js';
import { STATUS_QUEUE } from './reporter.js';

export type { StatusCounters } from './handlers/handler.js';

/** Dependencies of {@link createStatusWorker}. */
export interface StatusWorkerDeps {
  connection: Redis;
  redis: Redis;
  keys: Keys;
  prefix: string;
  apis: Map<ForgeId, ForgeApi>;
  history: History;
  log: Logger;
  concurrency?: number;
  counters?: StatusCounters;
  /** Longest wait honoured from a Retry-After or rate-limit reset. */
  maxRetryAfterMs?: number;
  /** For `notify` jobs: where notifications go. */
  config?: Config;
}

/** How long a job waits for its slot's lock before trying again. */
const SLOT_BUSY_MS = 200;

/** The most Retry-After waits one job takes without spending an attempt. */
const MAX_WAITS = 20;

/** Whether retrying cannot help: a permanent forge refusal, or a notification the receiver refused for good. */
function permanent(err: unknown): err is Error {
  return (err instanceof ForgeApiError && !err.transient) || (err instanceof NotifyError && !err.retryable);
}

/** The wait count a job keeps in its data (see `statusJobSchema.waits`). */
function waitsOf(job: Job): number {
  const data: unknown = job.data;
  const waits: unknown = data !== null && typeof data === 'object' && 'waits' in data ? data.waits : undefined;
  return typeof waits === 'number' ? waits : 0;
}

/**
 * Posts desired statuses and plan comments to the forges, and delivers notifications: one
 * handler per job kind (`handlers/`), routed by job name. Per status slot, one post at a time (a
 * Redis lock), and only when what is desired differs from what was last posted: an identical
 * status is never posted twice. Failures are retried: rate limits after the forge's own
 * Retry-After or reset time, other transient errors with exponential backoff. A status that
 * finally cannot be posted is logged, counted, and noted on its sync's record. None of this
 * touches a deploy.
 */
export function createStatusWorker(deps: StatusWorkerDeps): Worker {
  const maxWait = deps.maxRetryAfterMs ?? 15 * 60_000;
  const counters = deps.counters ? { counters: deps.counters } : {};
  const handlers = new Map<string, StatusJobHandler<z.ZodType>>([
    ['status', createStatusHandler({ redis: deps.redis, keys: deps.keys, apis: deps.apis, log: deps.log, ...counters })],
    ['comment', createCommentHandler({ redis: deps.redis, keys: deps.keys, apis: deps.apis, ...counters })],
    ['notify', createNotifyHandler({ ...(deps.config ? { config: deps.config } : {}), log: deps.log })],
  ]);

  /** The handler of a job and its parsed data; a job no handler reads fails at once. */
  function route(job: Job): { handler: StatusJobHandler<z.ZodType>; data: unknown } {
    const handler = handlers.get(job.name);
    if (!handler) throw new UnrecoverableError(`no handler for status job "${job.name}"`);
    const parsed = handler.schema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job data is not a ${job.name} job: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return { handler, data: parsed.data };
  }

  async function process(job: Job, token?: string): Promise<string> {
    const { handler, data } = route(job);
    const slot = handler.slot?.(data);
    const lock = slot === undefined ? undefined : await tryLock(deps.redis, deps.keys.statusLock(slot), 30_000);
    if (slot !== undefined && !lock) {
      await job.moveToDelayed(Date.now() + SLOT_BUSY_MS, token);
      throw new DelayedError();
    }
    try {
      return await handler.run(data, job);
    } catch (err) {
      if (slot !== undefined && err instanceof ForgeApiError && err.transient && err.retryAfterMs !== undefined && waitsOf(job) < MAX_WAITS) {
        // The forge said when: wait that long, without spending an attempt.
        await job.updateData({ ...job.data, waits: waitsOf(job) + 1 });
        await job.moveToDelayed(Date.now() + Math.min(err.retryAfterMs + 100, maxWait), token);
        throw new DelayedError();
      }
      if (permanent(err)) throw new UnrecoverableError(err.message);
      throw err;
    } finally {
      await lock?.release();
    }
  }

  /** Logs, counts and notes on its record a post that finally failed. */
  async function reportFailure(job: Job, err: Error): Promise<void> {
    const { handler, data } = route(job);
    handler.attemptFailed?.(data, err);
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final || !handler.failedPost) return;
    const failed = await handler.failedPost(data);
    deps.counters?.failed(failed.forge);
    deps.log.error({ ...failed.log, err }, 'commit status could not be posted');
    if (failed.recordId) await deps.history.addStatusError(failed.recordId, `${failed.what}: ${err.message}`);
  }

  const worker = new Worker(STATUS_QUEUE, process, { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency ?? 8 });
  worker.on('error', (err) => deps.log.warn({ err }, 'status worker error'));
  worker.on('failed', (job, err) => {
    if (!job || err instanceof DelayedError || err.name === 'DelayedError') return;
    reportFailure(job, err).catch((failure: unknown) => deps.log.warn({ err: failure, jobId: job.id }, 'status job failure not recorded'));
  });
  return worker;
}
