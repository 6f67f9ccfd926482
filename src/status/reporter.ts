import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ForgeId } from '../config/schema.js';
import { commentJobId, statusJobId, type CommentJobData, type StatusJobData } from '../model/jobs.js';
import type { Keys } from '../store/keys.js';
import type { StatusSlot } from './slots.js';
import type { NeutralState } from './states.js';

/** The DESIRE script's answer: the slot's new sequence number, or null when a newer status is stored. */
const desireReply = z.number().nullable();

/** HINCRBY's answer inside the comment transaction. */
const sequence = z.coerce.number().int();

/** A status Landfall wants a forge to show on a commit. */
export interface DesiredStatus {
  forge: ForgeId;
  repo: string;
  sha: string;
  context: string;
  state: NeutralState;
  description: string;
  targetUrl: string;
  /** Branch: GitLab's `ref`; for pull-request plans Bitbucket's `refname`. */
  ref?: string;
  /** The sync or plan the status is about, for recording failures to post it. */
  recordId: string;
  /** When the event behind this status happened; an older event never replaces a newer status. */
  at: number;
  /** For GitHub check runs (a GitHub App): the run's Markdown summary (plan or deploy). */
  summary?: string;
}

/** The queue statuses are posted from. */
export const STATUS_QUEUE = 'status';

/** Digest naming one status slot: forge, repo, commit, context. */
export function statusDigest(s: Pick<DesiredStatus, 'forge' | 'repo' | 'sha' | 'context'>): string {
  return createHash('sha256').update(`${s.forge}\u0000${s.repo.toLowerCase()}\u0000${s.sha}\u0000${s.context.toLowerCase()}`).digest('hex').slice(0, 32);
}

// Replace the desired status unless the stored one comes from a newer event; count a sequence.
const DESIRE = `
local at = tonumber(redis.call('hget', KEYS[1], 'at') or '0')
if at > tonumber(ARGV[1]) then return false end
for i = 3, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('hset', KEYS[1], 'at', ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[2])
return redis.call('hincrby', KEYS[1], 'seq', 1)
`;

/** Desired statuses live a week; long enough for any retry, short enough to clean up after themselves. */
const STATUS_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Records the status a forge should show and queues a job to post it. The job posts whatever is
 * desired when it runs, so statuses can never be posted out of order, and a job that finds the
 * desired status already posted does nothing. Reporting never talks to the forge, so it can
 * never hold up or fail a deploy.
 */
export function createStatusReporter(deps: { redis: Redis; keys: Keys; queue: Queue }) {
  const jobOptions = {
    attempts: 12,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 1_000 },
  } as const;
  return {
    /** Records the plan comment a pull request should carry and queues a job to post or edit it. */
    async reportComment(comment: { forge: ForgeId; repo: string; app: string; number: number; body: string; recordId: string }): Promise<void> {
      const key = deps.keys.planComment(comment.app, comment.number);
      const results = await deps.redis
        .multi()
        .hincrby(key, 'seq', 1)
        .hset(key, { forge: comment.forge, repo: comment.repo, app: comment.app, number: comment.number, body: comment.body, recordId: comment.recordId })
        .pexpire(key, 90 * 24 * 3_600_000)
        .exec();
      const seq = sequence.parse(results?.[0]?.[1]);
      const data: CommentJobData = { app: comment.app, number: comment.number };
      await deps.queue.add('comment', data, { ...jobOptions, jobId: commentJobId(comment.app, comment.number, seq) });
    },

    async report(status: DesiredStatus): Promise<void> {
      const digest = statusDigest(status);
      const fields: Record<keyof StatusSlot & keyof DesiredStatus, string> = {
        forge: status.forge,
        repo: status.repo,
        sha: status.sha,
        context: status.context,
        state: status.state,
        description: status.description,
        targetUrl: status.targetUrl,
        ref: status.ref ?? '',
        recordId: status.recordId,
        summary: status.summary ?? '',
      };
      const seq = desireReply.parse(
        await deps.redis.eval(DESIRE, 1, deps.keys.status(digest), String(status.at), String(STATUS_TTL_MS), ...Object.entries(fields).flat()),
      );
      if (seq === null) return;
      const data: StatusJobData = { digest };
      await deps.queue.add('status', data, { ...jobOptions, jobId: statusJobId(digest, seq) });
    },
  };
}

/** The reporter's type. */
export type StatusReporter = ReturnType<typeof createStatusReporter>;
