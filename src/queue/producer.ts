import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { whenReady } from '../redis/connection.js';
import { encodeEvent, EVENT_FIELDS as EF, EVENT_KINDS, EVENTS_KEPT } from '../store/events.js';
import type { Keys } from '../store/keys.js';
import { planJobId, previewJobId, syncJobId, syncJobIdPrefix, type PlanJobData, type PreviewJobData, type SyncJobData } from '../model/jobs.js';

/** How long a delivery id is remembered for de-duplication. */
export const DELIVERY_TTL_SECONDS = 24 * 60 * 60;

/** How long a pull request's newest head is remembered. */
const PR_HEAD_TTL_SECONDS = 30 * 24 * 60 * 60;

/** How many announced-but-not-yet-deployed commits are remembered per app. */
const QUEUED_SHAS_KEPT = 200;

/** Work one delivery asks for: a sync of an app, or a plan of a pull request for an app. */
export type IntakeItem =
  { kind: 'sync'; data: Omit<SyncJobData, 'generation'> } | { kind: 'plan'; data: PlanJobData } | { kind: 'preview'; data: Omit<PreviewJobData, 'seq'> };

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
  /** Where preview jobs go; without it, deliveries that ask for previews are refused. */
  previewQueue?: Queue;
  /** The BullMQ key prefix (`redis.prefix`), to know a job's hash key. */
  prefix?: string;
  jobDefaults?: { attempts: number; backoffMs: number; keepCompleted: number; keepFailed: number };
}

/** Job options from the configuration: attempts and backoff of transient failures. */
export function jobDefaults(config: { worker: { attempts: number; retryBackoff: number } }): NonNullable<IntakeDeps['jobDefaults']> {
  return { attempts: config.worker.attempts, backoffMs: config.worker.retryBackoff, keepCompleted: 1_000, keepFailed: 5_000 };
}

/** Makes verified, matched events durable as jobs. */
export interface Intake {
  enqueue(forge: string, deliveryId: string, items: readonly IntakeItem[]): Promise<IntakeResult>;
}

/** The most deliveries written in one round trip. */
const BATCH_MAX = 64;

/**
 * In one round trip, for each of a batch of deliveries in arrival order: claim its delivery id
 * (24 h), and for each app it asks to sync read the pending-sync generation, record the desired
 * revision and the announced commit, append a small event for the status dispatcher, and say
 * whether that generation's job is already queued.
 * KEYS: events, then per delivery: delivery, then per app: generation, desired, queued.
 * ARGV: ttl, now, jobKeyPrefix, then per delivery: app count, then per app: app, sha, branch,
 * deliveryId, receivedAt, job id prefix (`syncJobIdPrefix`; the generation completes it). The
 * event is written with the events codec's field names. Returns per delivery {-1} (a duplicate) or {generation, exists, ...}.
 */
const RECORD_SYNCS = `
local results = {}
local k, a = 2, 4
while a <= #ARGV do
  local apps = tonumber(ARGV[a])
  a = a + 1
  local out = {}
  if redis.call('set', KEYS[k], ARGV[2], 'EX', ARGV[1], 'NX') then
    for i = 0, apps - 1 do
      local gk, ga = k + 1 + i * 3, a + i * 6
      local gen = tonumber(redis.call('get', KEYS[gk]) or '0')
      local app, sha = ARGV[ga], ARGV[ga + 1]
      redis.call('hset', KEYS[gk + 1], 'sha', sha, 'branch', ARGV[ga + 2], 'deliveryId', ARGV[ga + 3], 'receivedAt', ARGV[ga + 4])
      redis.call('rpush', KEYS[gk + 2], sha)
      redis.call('ltrim', KEYS[gk + 2], -${QUEUED_SHAS_KEPT}, -1)
      local jobId = ARGV[ga + 5] .. gen
      redis.call('xadd', KEYS[1], 'MAXLEN', '~', ${EVENTS_KEPT}, '*', '${EF.kind}', '${EVENT_KINDS.sync}', '${EF.app}', app, '${EF.sha}', sha, '${EF.jobId}', jobId, '${EF.at}', ARGV[ga + 4])
      out[#out + 1] = gen
      out[#out + 1] = redis.call('exists', ARGV[3] .. jobId)
    end
  else
    out[1] = -1
  end
  results[#results + 1] = out
  k = k + 1 + apps * 3
  a = a + apps * 6
end
return results
`;

const RECORD_SYNCS_SHA = createHash('sha1').update(RECORD_SYNCS).digest('hex');

/**
 * Runs a script by its SHA (EVALSHA: the ~1 KB body is not sent and hashed on every delivery),
 * loading it with EVAL when this Redis does not have it yet (a restart or failover empties the
 * script cache).
 */
async function evalScript(redis: Redis, script: string, sha: string, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error && /NOSCRIPT/.test(err.message))) throw err;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

/** One delivery waiting for its batch's round trip. */
interface PendingRecord {
  keys: string[];
  args: string[];
  deliveryKey: string;
  resolve(recorded: number[] | null): void;
  reject(err: unknown): void;
}

/**
 * Gathers the deliveries that arrive while one event-loop turn is handled (under load, the many
 * requests whose bodies came in together) and records them with one script call: one command
 * for Redis to parse and one reply for this process to read, instead of one each. A lone
 * delivery waits only for the end of the current turn.
 */
function createRecorder(redis: Redis, eventsKey: string, ttlSeconds: number, jobKeyPrefix: string) {
  let pending: PendingRecord[] = [];
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = pending;
    pending = [];
    const keys = [eventsKey, ...batch.flatMap((p) => p.keys)];
    const args = [String(ttlSeconds), String(Date.now()), jobKeyPrefix, ...batch.flatMap((p) => p.args)];
    let results: number[][];
    try {
      await whenReady(redis);
      // Cast: RECORD_SYNCS returns one array of numbers per delivery; checking that on the intake
      // hot path (thousands of deliveries a second) would cost more than it could catch.
      results = (await evalScript(redis, RECORD_SYNCS, RECORD_SYNCS_SHA, keys, args)) as number[][];
    } catch (err) {
      // A script that failed part of the way may have claimed some ids: release them all, so
      // the spooled copies (or the forge's redelivery) are not taken for duplicates.
      await redis.del(...batch.map((p) => p.deliveryKey)).catch(() => undefined);
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const out = results[i] ?? [];
      p.resolve(out[0] === -1 ? null : out.map(Number));
    });
  }

  return function record(deliveryKey: string, keys: string[], args: string[]): Promise<number[] | null> {
    return new Promise((resolve, reject) => {
      pending.push({ keys: [deliveryKey, ...keys], args, deliveryKey, resolve, reject });
      if (pending.length >= BATCH_MAX) void flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          if (scheduled) void flush();
        });
      }
    });
  };
}

/**
 * Makes deliveries durable. A push costs one scripted round trip, shared with the deliveries
 * that arrived in the same event-loop turn, when its app already has a pending sync (the common
 * case in a burst: the push joins that job, which deploys the branch head when it runs), and one
 * more to add the job when it has none. The worker bumps the
 * generation when it starts a job, so a push arriving mid-sync queues exactly one more: at most
 * one running and one pending sync per app. Only when every write succeeded is the delivery
 * acknowledged; otherwise its claim is released so the forge's redelivery is not a "duplicate".
 */
export function createIntake(deps: IntakeDeps): Intake {
  const defaults = deps.jobDefaults ?? { attempts: 5, backoffMs: 2_000, keepCompleted: 1_000, keepFailed: 5_000 };
  const jobOptions = {
    attempts: defaults.attempts,
    backoff: { type: 'exponential', delay: defaults.backoffMs },
    removeOnComplete: { count: defaults.keepCompleted },
    removeOnFail: { count: defaults.keepFailed },
  } as const;
  const jobKeyPrefix = `${deps.prefix ?? deps.syncQueue.opts.prefix ?? 'bull'}:${deps.syncQueue.name}:`;
  const record = createRecorder(deps.redis, deps.keys.events(), DELIVERY_TTL_SECONDS, jobKeyPrefix);
  // Deliveries of one batch that start the same pending sync add its job once.
  const adding = new Map<string, Promise<unknown>>();

  function addSync(jobId: string, data: SyncJobData): Promise<unknown> {
    let added = adding.get(jobId);
    if (!added) {
      added = deps.syncQueue.add('sync', data, { ...jobOptions, jobId });
      adding.set(jobId, added);
      const forget = () => adding.delete(jobId);
      added.then(forget, forget);
    }
    return added;
  }

  async function enqueuePlans(plans: PlanJobData[]): Promise<AcceptedJob[]> {
    return Promise.all(
      plans.map(async (data) => {
        const jobId = planJobId(data.app, data.number, data.headSha);
        const record = deps.redis.pipeline();
        record.set(deps.keys.prHead(data.app, data.number), data.headSha, 'EX', PR_HEAD_TTL_SECONDS);
        record.xadd(
          deps.keys.events(),
          'MAXLEN',
          '~',
          EVENTS_KEPT,
          '*',
          ...encodeEvent({ kind: 'plan', app: data.app, sha: data.headSha, jobId, at: data.receivedAt, number: data.number, ref: data.headBranch }),
        );
        const [job] = await Promise.all([deps.planQueue.add('plan', data, { ...jobOptions, jobId }), record.exec().then(unwrap)]);
        return { app: data.app, sha: data.headSha, jobId: job.id ?? jobId };
      }),
    );
  }

  async function enqueuePreviews(previews: Omit<PreviewJobData, 'seq'>[]): Promise<AcceptedJob[]> {
    const queue = deps.previewQueue;
    if (!queue) throw new Error('this process has no preview queue');
    return Promise.all(
      previews.map(async (data) => ({
        app: data.app,
        sha: data.pullRequest?.headSha ?? '',
        jobId: await queuePreview({ redis: deps.redis, keys: deps.keys, queue }, data, { ...jobOptions }),
      })),
    );
  }

  return {
    async enqueue(forge, deliveryId, items) {
      const deliveryKey = deps.keys.delivery(forge, deliveryId);
      const syncs = items.filter((i): i is Extract<IntakeItem, { kind: 'sync' }> => i.kind === 'sync').map((i) => i.data);
      const plans = items.filter((i): i is Extract<IntakeItem, { kind: 'plan' }> => i.kind === 'plan').map((i) => i.data);
      const previews = items.filter((i): i is Extract<IntakeItem, { kind: 'preview' }> => i.kind === 'preview').map((i) => i.data);
      const keys = syncs.flatMap((s) => [deps.keys.syncGeneration(s.app), deps.keys.desired(s.app), deps.keys.queuedShas(s.app)]);
      const args = [String(syncs.length), ...syncs.flatMap((s) => [s.app, s.sha, s.branch, deliveryId, String(s.receivedAt), syncJobIdPrefix(s.app)])];
      let recorded: number[] | null;
      try {
        recorded = await record(deliveryKey, keys, args);
      } catch (err) {
        throw new IntakeUnavailableError(err);
      }
      if (recorded === null) return { duplicate: true };

      try {
        const accepted = await Promise.all([
          ...syncs.map(async (item, i) => {
            const generation = Number(recorded?.[i * 2] ?? 0);
            const exists = Number(recorded?.[i * 2 + 1] ?? 0) === 1;
            const jobId = syncJobId(item.app, generation);
            // Joined an already-queued job: nothing more to write.
            if (!exists) await addSync(jobId, { ...item, generation });
            return { app: item.app, sha: item.sha, jobId };
          }),
          ...(plans.length ? [enqueuePlans(plans)] : []),
          ...(previews.length ? [enqueuePreviews(previews)] : []),
        ]);
        return { duplicate: false, accepted: accepted.flat() };
      } catch (err) {
        await deps.redis.del(deliveryKey).catch(() => undefined);
        throw new IntakeUnavailableError(err);
      }
    },
  };
}

/**
 * Queues a preview job for a pull request, numbered after every earlier one: a job that finds a
 * newer number stored does nothing, so the newest event wins. Answers the job id.
 */
export async function queuePreview(
  deps: { redis: Redis; keys: Keys; queue: Queue },
  data: Omit<PreviewJobData, 'seq'>,
  options: { attempts: number; backoff: { type: 'exponential'; delay: number }; delay?: number },
): Promise<string> {
  const seq = await deps.redis.incr(deps.keys.previewSeq(data.app, data.number));
  const jobId = previewJobId(data.app, data.number, seq);
  await deps.queue.add('preview', { ...data, seq } satisfies PreviewJobData, {
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 1_000 },
    ...options,
    jobId,
  });
  return jobId;
}

/** Turns a pipeline result into values, throwing the first command error. */
function unwrap(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
