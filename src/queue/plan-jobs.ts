import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import { SyncError } from '../sync/errors.js';
import { runPlan, type PlanDeps } from '../sync/plan.js';
import { planJobSchema } from '../model/jobs.js';
import { QUEUES } from './names.js';

/** Dependencies of {@link createPlanWorker}. */
export interface PlanWorkerDeps {
  config: Config;
  connection: Redis;
  redis: Redis;
  keys: Keys;
  history: History;
  log: Logger;
  plan: Omit<PlanDeps, 'history' | 'log' | 'forges'>;
  concurrency: number;
}

/**
 * Consumes `plan` jobs. Plans only read the cluster, so they take no app lock and run beside
 * syncs; a plan for a head the pull request has since moved past ends superseded.
 */
export function createPlanWorker(deps: PlanWorkerDeps): Worker {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  async function process(job: Job): Promise<string> {
    const parsed = planJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job data is not a plan job: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data;
    const app = apps.get(data.app);
    if (!app) throw new UnrecoverableError(`app "${data.app}" is no longer in the configuration`);
    const latestHead = (await deps.redis.get(deps.keys.prHead(app.name, data.number))) ?? undefined;
    try {
      const record = await runPlan(
        { ...deps.plan, history: deps.history, log: deps.log, forges: deps.config.forges },
        {
          app,
          data,
          jobId: String(job.id),
          ...(latestHead ? { latestHead } : {}),
          attempt: job.attemptsMade + 1,
          finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        },
      );
      return record.result;
    } catch (err) {
      if (err instanceof SyncError && !err.transient) throw new UnrecoverableError(err.message);
      throw err;
    }
  }
  const worker = new Worker(QUEUES.plan, process, { connection: deps.connection, prefix: deps.config.redis.prefix, concurrency: deps.concurrency });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'plan worker error'));
  return worker;
}
