import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ForgeId } from '../../config/schema.js';
import type { ForgeApi } from '../../forges/forge-api.js';
import { commentJobSchema, commentSlot } from '../../model/jobs.js';
import type { Keys } from '../../store/keys.js';
import { commentMarker } from '../comment.js';
import { decodeCommentSlot, describeSlot } from '../slots.js';
import type { FailedPost, StatusCounters, StatusJobHandler } from './handler.js';

/** Dependencies of {@link createCommentHandler}. */
export interface CommentHandlerDeps {
  redis: Redis;
  keys: Keys;
  apis: Map<ForgeId, ForgeApi>;
  counters?: StatusCounters;
}

/** `comment` jobs: post a pull request's plan comment, or edit it in place, unless that body was posted already. */
export function createCommentHandler(deps: CommentHandlerDeps): StatusJobHandler<typeof commentJobSchema> {
  return {
    schema: commentJobSchema,
    slot: (data) => commentSlot(data.app, data.number),

    async run(data) {
      const key = deps.keys.planComment(data.app, data.number);
      const fields = await deps.redis.hgetall(key);
      if (!fields.body) return 'expired';
      const comment = decodeCommentSlot(key, fields);
      const print = createHash('sha256').update(comment.body).digest('hex').slice(0, 16);
      if (comment.posted === print) return 'unchanged';
      const api = deps.apis.get(comment.forge);
      if (!api) return 'no-token';
      const id = await api.upsertComment(comment.repo, comment.number, commentMarker(comment.app), comment.body, comment.id);
      await deps.redis.hset(key, { id, posted: print });
      deps.counters?.posted(comment.forge);
      return 'posted';
    },

    async failedPost(data): Promise<FailedPost> {
      const fields = describeSlot(await deps.redis.hgetall(deps.keys.planComment(data.app, data.number)));
      return {
        forge: fields.forge,
        ...(fields.recordId ? { recordId: fields.recordId } : {}),
        what: `plan comment on #${fields.number}`,
        log: { forge: fields.forge, repo: fields.repo, sha: fields.sha, context: fields.context },
      };
    },
  };
}
