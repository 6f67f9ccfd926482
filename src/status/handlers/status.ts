import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ForgeId } from '../../config/schema.js';
import { fitDescription, type ForgeApi } from '../../forges/forge-api.js';
import { statusJobSchema } from '../../model/jobs.js';
import type { Keys } from '../../store/keys.js';
import { decodeStatusSlot, describeSlot, type StatusSlot } from '../slots.js';
import { forgeState } from '../states.js';
import type { FailedPost, StatusCounters, StatusJobHandler } from './handler.js';

/** Dependencies of {@link createStatusHandler}. */
export interface StatusHandlerDeps {
  redis: Redis;
  keys: Keys;
  apis: Map<ForgeId, ForgeApi>;
  log: Logger;
  counters?: StatusCounters;
}

/** What identifies a posted status: an identical one is never posted twice. */
function fingerprint(slot: StatusSlot): string {
  return createHash('sha256')
    .update([slot.state, slot.description, slot.targetUrl, slot.ref ?? '', slot.summary ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * `status` jobs: post the status a slot desires, unless it was posted already. Where the forge
 * takes reports (GitHub App check runs) the status goes out as one, updated in place; where it
 * refuses them, as a commit status from then on.
 */
export function createStatusHandler(deps: StatusHandlerDeps): StatusJobHandler<typeof statusJobSchema> {
  const warned = new Set<ForgeId>();
  /** Forges that refused reports: commit statuses instead, for this process's life. */
  const noReports = new Set<ForgeId>();

  /** Posts the slot as a report; false when the forge takes none, so a commit status is posted. */
  async function postReport(api: ForgeApi, key: string, slot: StatusSlot, sha: string): Promise<boolean> {
    if (!api.postReport || noReports.has(slot.forge)) return false;
    const previous = slot.checkRun ? { id: slot.checkRun, final: slot.checkRunDone === '1' } : undefined;
    const posted = await api.postReport(
      {
        repo: slot.repo,
        sha,
        context: slot.context,
        state: slot.state,
        description: slot.description,
        summary: slot.summary ?? '',
        targetUrl: slot.targetUrl,
        subject: slot.context.endsWith('/plan') ? 'plan' : 'sync',
        recordId: slot.recordId ?? '',
      },
      previous,
    );
    if ('unavailable' in posted) {
      noReports.add(slot.forge);
      deps.log.warn({ forge: slot.forge, reason: posted.unavailable }, `${posted.unavailable}; posting commit statuses instead`);
      return false;
    }
    await deps.redis.hset(key, { checkRun: posted.id, checkRunDone: posted.final ? '1' : '0' });
    return true;
  }

  return {
    schema: statusJobSchema,
    slot: (data) => data.digest,

    async run(data) {
      const key = deps.keys.status(data.digest);
      const fields = await deps.redis.hgetall(key);
      if (!fields.forge) return 'expired';
      const slot = decodeStatusSlot(key, fields);
      const print = fingerprint(slot);
      if (slot.posted === print) return 'unchanged';
      const api = deps.apis.get(slot.forge);
      if (!api) {
        if (!warned.has(slot.forge)) deps.log.warn({ forge: slot.forge }, 'no token configured for this forge; commit statuses are not posted');
        warned.add(slot.forge);
        return 'no-token';
      }
      let sha = slot.sha;
      if (sha.length < 40) {
        const full = api.resolveSha ? await api.resolveSha(slot.repo, sha) : undefined;
        if (!full) throw new UnrecoverableError(`commit ${sha} of ${slot.repo} could not be resolved to a full hash`);
        sha = full;
      }
      const reported = await postReport(api, key, slot, sha);
      if (!reported) {
        await api.postStatus({
          repo: slot.repo,
          sha,
          context: slot.context,
          state: forgeState(slot.forge, slot.state),
          description: fitDescription(slot.description, api.descriptionLimit),
          targetUrl: slot.targetUrl,
          ...(slot.ref ? { ref: slot.ref } : {}),
        });
      }
      await deps.redis.hset(key, { posted: print, postedAt: Date.now() });
      deps.counters?.posted(slot.forge);
      return reported ? 'posted-check-run' : 'posted';
    },

    async failedPost(data): Promise<FailedPost> {
      const fields = describeSlot(await deps.redis.hgetall(deps.keys.status(data.digest)));
      return {
        forge: fields.forge,
        ...(fields.recordId ? { recordId: fields.recordId } : {}),
        what: `${fields.context} ${fields.state} on ${fields.sha?.slice(0, 7)}`,
        log: { forge: fields.forge, repo: fields.repo, sha: fields.sha, context: fields.context },
      };
    },
  };
}
