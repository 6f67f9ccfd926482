import { createHash } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, ForgeId } from '../config/schema.js';
import { deliverNotification } from '../notify.js';
import { ForgeApiError } from '../forges/forge-api-error.js';
import { fitDescription, type CheckRunSpec, type ForgeApi } from '../forges/forge-api.js';
import { tryLock } from '../queue/lock.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import { commentMarker, fitMarkdown } from './comment.js';
import { STATUS_QUEUE } from './reporter.js';
import { forgeState, type NeutralState } from './states.js';

/** Counts what status posting did, for metrics. */
export interface StatusCounters {
  posted(forge: ForgeId): void;
  failed(forge: ForgeId): void;
}

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

function fingerprint(fields: Record<string, string>): string {
  return createHash('sha256').update([fields.state, fields.description, fields.targetUrl, fields.ref, fields.summary ?? ''].join('\u0000')).digest('hex').slice(0, 16);
}

/** GitHub's limit on a check run's `output.summary`. */
export const CHECK_RUN_SUMMARY_LIMIT = 65_535;

/** A neutral state as a check run's status and conclusion. */
export function checkRunState(state: NeutralState): Pick<CheckRunSpec, 'status' | 'conclusion'> {
  switch (state) {
    case 'queued':
      return { status: 'queued' };
    case 'running':
      return { status: 'in_progress' };
    case 'succeeded':
      return { status: 'completed', conclusion: 'success' };
    case 'failed':
      return { status: 'completed', conclusion: 'failure' };
    case 'superseded':
      return { status: 'completed', conclusion: 'cancelled' };
  }
}

/**
 * Posts desired statuses to the forges. Per status slot, one post at a time (a Redis lock), and
 * only when what is desired differs from what was last posted: an identical status is never
 * posted twice. Failures are retried: rate limits after the forge's own Retry-After or reset
 * time, other transient errors with exponential backoff. A status that finally cannot be posted
 * is logged, counted, and noted on its sync's record. None of this touches a deploy.
 */
export function createStatusWorker(deps: StatusWorkerDeps): Worker {
  const maxWait = deps.maxRetryAfterMs ?? 15 * 60_000;
  const warned = new Set<string>();
  /** Forges whose App may not write check runs (403): commit statuses instead, for this process's life. */
  const noChecks = new Set<ForgeId>();

  /**
   * Posts a status as a check run, updated in place through the sync; a run that completed and
   * is started again (a re-sync of the same commit) gets a new check run. Returns false when the
   * App lacks the Checks permission, so the caller posts a commit status instead.
   */
  async function postCheckRun(api: ForgeApi, key: string, fields: Record<string, string>, sha: string): Promise<boolean> {
    const forge = fields.forge as ForgeId;
    if (!api.checkRuns || !api.upsertCheckRun || noChecks.has(forge)) return false;
    const state = checkRunState(fields.state as NeutralState);
    const known = fields.checkRun && !(fields.checkRunDone === '1' && state.status !== 'completed') ? fields.checkRun : undefined;
    const kind = (fields.context ?? '').endsWith('/plan') ? 'plan' : 'sync';
    const description = fields.description ?? '';
    try {
      const id = await api.upsertCheckRun(
        fields.repo as string,
        sha,
        {
          name: fields.context as string,
          ...state,
          title: fitDescription(description, 1_000),
          summary: fitMarkdown(fields.summary || description, CHECK_RUN_SUMMARY_LIMIT, fields.targetUrl as string, kind),
          detailsUrl: fields.targetUrl as string,
          externalId: fields.recordId ?? '',
        },
        known,
      );
      await deps.redis.hset(key, { checkRun: id, checkRunDone: state.status === 'completed' ? '1' : '0' });
      return true;
    } catch (err) {
      if (err instanceof ForgeApiError && err.status === 403 && !err.transient) {
        noChecks.add(forge);
        deps.log.warn({ forge, err: err.message }, 'the GitHub App may not write check runs (grant it "Checks: Read and write"); posting commit statuses instead');
        return false;
      }
      throw err;
    }
  }

  async function postComment(job: Job<{ app: string; number: number }>): Promise<string> {
    const key = deps.keys.planComment(job.data.app, job.data.number);
    const fields = await deps.redis.hgetall(key);
    if (!fields.body) return 'expired';
    const print = createHash('sha256').update(fields.body).digest('hex').slice(0, 16);
    if (fields.posted === print) return 'unchanged';
    const forge = fields.forge as ForgeId;
    const api = deps.apis.get(forge);
    if (!api) return 'no-token';
    const id = await api.upsertComment(fields.repo as string, Number(fields.number), commentMarker(fields.app as string), fields.body, fields.id || undefined);
    await deps.redis.hset(key, { id, posted: print });
    deps.counters?.posted(forge);
    return 'posted';
  }

  async function process(job: Job, token?: string): Promise<string> {
    if (job.name === 'notify') {
      if (!deps.config) return 'no-config';
      try {
        await deliverNotification(deps.config, job.data.target, job.data.notification);
      } catch (err) {
        if (err instanceof ForgeApiError && !err.transient) throw new UnrecoverableError(err.message);
        throw err;
      }
      return 'sent';
    }
    const digest: string = job.name === 'comment' ? `comment-${job.data.app}-${job.data.number}` : job.data.digest;
    const key = deps.keys.status(digest);
    const lock = await tryLock(deps.redis, deps.keys.statusLock(digest), 30_000);
    if (!lock) {
      await job.moveToDelayed(Date.now() + 200, token);
      throw new DelayedError();
    }
    try {
      if (job.name === 'comment') return await postComment(job);
      const fields = await deps.redis.hgetall(key);
      if (!fields.forge) return 'expired';
      const print = fingerprint(fields);
      if (fields.posted === print) return 'unchanged';
      const forge = fields.forge as ForgeId;
      const api = deps.apis.get(forge);
      if (!api) {
        if (!warned.has(forge)) deps.log.warn({ forge }, 'no token configured for this forge; commit statuses are not posted');
        warned.add(forge);
        return 'no-token';
      }
      let sha = fields.sha as string;
      if (sha.length < 40) {
        const full = api.resolveSha ? await api.resolveSha(fields.repo as string, sha) : undefined;
        if (!full) throw new UnrecoverableError(`commit ${sha} of ${fields.repo} could not be resolved to a full hash`);
        sha = full;
      }
      if (await postCheckRun(api, key, fields, sha)) {
        await deps.redis.hset(key, { posted: print, postedAt: Date.now() });
        deps.counters?.posted(forge);
        return 'posted-check-run';
      }
      await api.postStatus({
        repo: fields.repo as string,
        sha,
        context: fields.context as string,
        state: forgeState(forge, fields.state as NeutralState),
        description: fitDescription(fields.description ?? '', api.descriptionLimit),
        targetUrl: fields.targetUrl as string,
        ...(fields.ref ? { ref: fields.ref } : {}),
      });
      await deps.redis.hset(key, { posted: print, postedAt: Date.now() });
      deps.counters?.posted(forge);
      return 'posted';
    } catch (err) {
      if (err instanceof ForgeApiError && err.transient && err.retryAfterMs !== undefined && (job.data.waits ?? 0) < 20) {
        // The forge said when: wait that long, without spending an attempt.
        await job.updateData({ ...job.data, waits: (job.data.waits ?? 0) + 1 });
        await job.moveToDelayed(Date.now() + Math.min(err.retryAfterMs + 100, maxWait), token);
        throw new DelayedError();
      }
      if (err instanceof ForgeApiError && !err.transient) throw new UnrecoverableError(err.message);
      throw err;
    } finally {
      await lock.release();
    }
  }

  const worker = new Worker(STATUS_QUEUE, process, { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency ?? 8 });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'status worker error'));
  worker.on('failed', (job, err) => {
    if (!job || err instanceof DelayedError || err.name === 'DelayedError') return;
    if (job.name === 'notify') {
      deps.log.warn({ target: job.data.target, event: job.data.notification?.event, err: err.message }, 'notification not delivered');
      return;
    }
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    void (async () => {
      const fields = await deps.redis.hgetall(job.name === 'comment' ? deps.keys.planComment(job.data.app, job.data.number) : deps.keys.status(job.data.digest));
      const forge = (fields.forge ?? 'unknown') as ForgeId;
      deps.counters?.failed(forge);
      deps.log.error({ forge, repo: fields.repo, sha: fields.sha, context: fields.context, err: err.message }, 'commit status could not be posted');
      const what = job.name === 'comment' ? `plan comment on #${fields.number}` : `${fields.context} ${fields.state} on ${fields.sha?.slice(0, 7)}`;
      if (fields.recordId) await deps.history.addStatusError(fields.recordId, `${what}: ${err.message}`);
    })().catch(() => undefined);
  });
  return worker;
}
