import { payload } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction, type PushEvent } from '../types.js';
import { dcPullRequest, dcPullRequestComment, dcRefsChanged } from './schema.js';

const PR_ACTIONS: Record<string, PullRequestAction> = {
  'pr:opened': 'opened',
  'pr:from_ref_updated': 'updated',
  'pr:merged': 'merged',
  'pr:declined': 'closed',
  'pr:deleted': 'closed',
};

function fullName(repo: { slug: string; project: { key: string } }): string {
  return `${repo.project.key}/${repo.slug}`;
}

/** Turns a verified Bitbucket Data Center payload into neutral events. */
export function parseBitbucketServer(event: string, body: unknown, deliveryId: string): ParseResult {
  if (event === 'diagnostics:ping') return { events: [{ kind: 'ping', forge: 'bitbucket-server', deliveryId }] };
  if (event === 'repo:refs_changed') {
    const push = payload(dcRefsChanged, body, 'Bitbucket DC repo:refs_changed');
    const events: PushEvent[] = [];
    for (const change of push.changes) {
      if (change.ref.type !== 'BRANCH' && change.ref.type !== 'TAG') continue;
      events.push({
        kind: 'push',
        forge: 'bitbucket-server',
        repo: fullName(push.repository),
        refType: change.ref.type === 'BRANCH' ? 'branch' : 'tag',
        refName: change.ref.displayId,
        before: change.fromHash,
        after: change.toHash,
        created: change.type === 'ADD' || change.fromHash === ZERO_SHA,
        deleted: change.type === 'DELETE' || change.toHash === ZERO_SHA,
        deliveryId,
      });
    }
    if (events.length === 0) return { ignored: 'unhandled-event', detail: 'repo:refs_changed without branch or tag changes' };
    return { events };
  }
  const action = PR_ACTIONS[event];
  if (action) {
    const pr = payload(dcPullRequest, body, `Bitbucket DC ${event}`).pullRequest;
    const mergeCommit = pr.properties?.mergeCommit?.id;
    return {
      events: [
        {
          kind: 'pull_request',
          forge: 'bitbucket-server',
          repo: fullName(pr.toRef.repository),
          number: pr.id,
          action,
          headSha: pr.fromRef.latestCommit,
          headBranch: pr.fromRef.displayId,
          headRepo: fullName(pr.fromRef.repository),
          baseBranch: pr.toRef.displayId,
          merged: action === 'merged',
          ...(mergeCommit ? { mergeCommitSha: mergeCommit } : {}),
          ...(pr.author ? { author: pr.author.user.name } : {}),
          deliveryId,
        },
      ],
    };
  }
  if (event === 'pr:comment:added') {
    const parsed = payload(dcPullRequestComment, body, `Bitbucket DC ${event}`);
    return {
      events: [
        {
          kind: 'comment',
          forge: 'bitbucket-server',
          repo: fullName(parsed.pullRequest.toRef.repository),
          number: parsed.pullRequest.id,
          author: parsed.comment.author.name,
          body: parsed.comment.text,
          deliveryId,
        },
      ],
    };
  }
  if (event === 'pr:comment:edited' || event === 'pr:comment:deleted') return { ignored: 'unhandled-action', detail: `${event} is not a new comment` };
  return {
    ignored: 'unhandled-event',
    detail: `Bitbucket DC event "${event}" is not one Landfall acts on (repo:refs_changed, pr:opened, pr:from_ref_updated, pr:merged, pr:declined, pr:deleted, pr:comment:added, diagnostics:ping)`,
  };
}
