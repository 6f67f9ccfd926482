import { payload } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction, type PushEvent } from '../types.js';
import { bitbucketPullRequest, bitbucketPullRequestComment, bitbucketPush } from './schema.js';

const PR_ACTIONS: Record<string, PullRequestAction> = {
  'pullrequest:created': 'opened',
  'pullrequest:updated': 'updated',
  'pullrequest:fulfilled': 'merged',
  'pullrequest:rejected': 'closed',
};

/** Turns a verified Bitbucket Cloud payload into neutral events. */
export function parseBitbucket(event: string, body: unknown, deliveryId: string): ParseResult {
  if (event === 'repo:push') {
    const push = payload(bitbucketPush, body, 'Bitbucket repo:push');
    const events: PushEvent[] = [];
    for (const change of push.push.changes) {
      const ref = change.new ?? change.old;
      if (!ref || (ref.type !== 'branch' && ref.type !== 'tag')) continue;
      events.push({
        kind: 'push',
        forge: 'bitbucket',
        repo: push.repository.full_name,
        refType: ref.type,
        refName: ref.name,
        before: change.old?.target.hash ?? ZERO_SHA,
        after: change.new?.target.hash ?? ZERO_SHA,
        created: change.created ?? !change.old,
        deleted: !change.new,
        deliveryId,
      });
    }
    if (events.length === 0) return { ignored: 'unhandled-event', detail: 'repo:push without branch or tag changes' };
    return { events };
  }
  const action = PR_ACTIONS[event];
  if (action) {
    const parsed = payload(bitbucketPullRequest, body, `Bitbucket ${event}`);
    const pr = parsed.pullrequest;
    const repo = parsed.repository.full_name;
    return {
      events: [
        {
          kind: 'pull_request',
          forge: 'bitbucket',
          repo,
          number: pr.id,
          action,
          headSha: pr.source.commit.hash,
          headBranch: pr.source.branch.name,
          headRepo: pr.source.repository?.full_name ?? '',
          baseBranch: pr.destination.branch.name,
          merged: action === 'merged',
          ...(pr.merge_commit?.hash ? { mergeCommitSha: pr.merge_commit.hash } : {}),
          ...(pr.author ? { author: pr.author } : {}),
          deliveryId,
        },
      ],
    };
  }
  if (event === 'pullrequest:comment_created') {
    const parsed = payload(bitbucketPullRequestComment, body, `Bitbucket ${event}`);
    return {
      events: [
        {
          kind: 'comment',
          forge: 'bitbucket',
          repo: parsed.repository.full_name,
          number: parsed.pullrequest.id,
          author: parsed.comment.user,
          body: parsed.comment.content.raw,
          deliveryId,
        },
      ],
    };
  }
  // comment_updated, comment_deleted, comment_resolved, comment_reopened: no new words were written.
  if (event.startsWith('pullrequest:comment_')) return { ignored: 'unhandled-action', detail: `${event} is not a new comment` };
  return {
    ignored: 'unhandled-event',
    detail: `Bitbucket event "${event}" is not one Landfall acts on (repo:push, pullrequest:created, pullrequest:updated, pullrequest:fulfilled, pullrequest:rejected, pullrequest:comment_created)`,
  };
}
