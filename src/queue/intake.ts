import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { whenReady } from '../redis/connection.js';
import type { Keys } from '../store/keys.js';
import { planJobId, syncJobId, type PlanJobData, type SyncJobData } from './jobs.js';

/** How long a delivery id is remembered for de-duplication. */
export const DELIVERY_TTL_SECONDS = 24 * 60 * 60;

/** Entries kept in the events stream (the status dispatcher reads them within seconds). */
const EVENTS_KEPT = 10_000;

/** How long a pull request's newest head is remembered. */
const PR_HEAD_TTL_SECONDS = 30 * 24 * 60 * 60;

/** How many announced-but-not-yet-deployed commits are remembered per app. */
const QUEUED_SHAS_KEPT = 200;

/** Work one delivery asks for: a sync of an app, or a plan of a pull request for an app. */
export type IntakeItem =
  | { kind: 'sync'; data: Omit<SyncJobData, 'generation'> }
  | { kind: 'plan'; data: PlanJobData };

/** One job a delivery led to, as answered to the forge. */
export interface AcceptedJob {
  app: string;
  sha: string;
  jobId: string;
}

/** The outcome of {@link Intake.enqueue}. */
export type IntakeResult = { duplicate: true } | { duplicate: false; accepted: AcceptedJob[] };

/** Redis could not take the event; the delivery must not be acknowledged. */
export class IntakeUnavailableError extends Error {
  readonly code = 'INTAKE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('the event could not be written to Redis', { cause });
    this.name = 'IntakeUnavailableError';
  }
}

/** Dependencies of {@link createIntake}. */
export interface IntakeDeps {
  redis: Redis;
  keys: Keys;
  syncQueue: Queue;
  planQueue: Queue;
  jobDefaults?: { attempts: number; backoffMs: number; keepCompleted: number; keepFailed: number };
}

/** Makes verified, matched events durable as jobs. */
export interface Intake {
  enqueue(forge: string, deliveryId: string, items: readonly IntakeItem[]): Promise<IntakeResult>;
}

/**
 * Writes events to Redis in two pipelined round trips per delivery:
 *  1. claim the delivery id (SET NX, 24 h) and read each app's pending-sync generation;
 *  2. add the jobs and record the desired revision and the announced commit.
 * A push for an app whose sync is still waiting lands on that same job id, which BullMQ
 * refuses to add twice: bursts coalesce into one pending sync per app, while the worker bumps
 * the generation when it starts, so a push arriving mid-sync queues exactly one more.
 * Only when every write succeeded is the delivery acknowledged; otherwise the claim is
 * released so the forge's redelivery is not mistaken for a duplicate.
 */
export function createIntake(deps: IntakeDeps): Intake {
  const defaults = deps.jobDefaults ?? { attempts: 5, backoffMs: 2_000, keepCompleted: 1_000, keepFailed: 5_000 };
  const jobOptions = {
    attempts: defaults.attempts,
    backoff: { type: 'exponential', delay: defaults.backoffMs },
    removeOnComplete: { count: defaults.keepCompleted },
    removeOnFail: { count: defaults.keepFailed },
  } as const;

  return {
    async enqueue(forge, deliveryId, items) {
      const deliveryKey = deps.keys.delivery(forge, deliveryId);
      const syncs = items.filter((i): i is Extract<IntakeItem, { kind: 'sync' }> => i.kind === 'sync');
      const first = deps.redis.pipeline();
      first.set(deliveryKey, String(Date.now()), 'EX', DELIVERY_TTL_SECONDS, 'NX');
      for (const item of syncs) first.get(deps.keys.syncGeneration(item.data.app));
      let claimed: unknown[];
      try {
        await whenReady(deps.redis);
        claimed = unwrap(await first.exec());
      } catch (err) {
        throw new IntakeUnavailableError(err);
      }
      if (claimed[0] !== 'OK') return { duplicate: true };

      try {
        const accepted = await Promise.all([
          ...syncs.map(async (item, i) => {
            const generation = Number(claimed[i + 1] ?? 0);
            const jobId = syncJobId(item.data.app, generation);
            const data: SyncJobData = { ...item.data, generation };
            const record = deps.redis.pipeline();
            record.hset(deps.keys.desired(data.app), { sha: data.sha, branch: data.branch, deliveryId: deliveryId, receivedAt: data.receivedAt });
            record.rpush(deps.keys.queuedShas(data.app), data.sha);
            record.ltrim(deps.keys.queuedShas(data.app), -QUEUED_SHAS_KEPT, -1);
            // A small stream entry for the status dispatcher, which posts "queued" off the hot path.
            record.xadd(deps.keys.events(), 'MAXLEN', '~', EVENTS_KEPT, '*', 'k', 's', 'a', data.app, 's', data.sha, 'j', jobId, 't', data.receivedAt);
            const [job] = await Promise.all([deps.syncQueue.add('sync', data, { ...jobOptions, jobId }), record.exec().then(unwrap)]);
            return { app: data.app, sha: data.sha, jobId: job.id ?? jobId };
          }),
          ...items
            .filter((i): i is Extract<IntakeItem, { kind: 'plan' }> => i.kind === 'plan')
            .map(async ({ data }) => {
              const jobId = planJobId(data.app, data.number, data.headSha);
              const record = deps.redis.pipeline();
              record.set(deps.keys.prHead(data.app, data.number), data.headSha, 'EX', PR_HEAD_TTL_SECONDS);
              record.xadd(deps.keys.events(), 'MAXLEN', '~', EVENTS_KEPT, '*', 'k', 'p', 'a', data.app, 's', data.headSha, 'j', jobId, 't', data.receivedAt, 'n', data.number, 'r', data.headBranch);
              const [job] = await Promise.all([deps.planQueue.add('plan', data, { ...jobOptions, jobId }), record.exec().then(unwrap)]);
              return { app: data.app, sha: data.headSha, jobId: job.id ?? jobId };
            }),
        ]);
        return { duplicate: false, accepted };
      } catch (err) {
        await deps.redis.del(deliveryKey).catch(() => undefined);
        throw new IntakeUnavailableError(err);
      }
    },
  };
}

/** Turns a MULTI result into values, throwing the first command error. */
function unwrap(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
