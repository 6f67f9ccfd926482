import { payload, splitRef } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction } from '../types.js';
import { giteaDelete, giteaPullRequest, giteaPush } from './schema.js';

const PR_ACTIONS: Record<string, PullRequestAction> = {
  opened: 'opened',
  // Gitea says "synchronized" where GitHub says "synchronize"; accept both.
  synchronized: 'updated',
  synchronize: 'updated',
  reopened: 'reopened',
};

/** Turns a verified Gitea or Forgejo payload into neutral events. */
export function parseGitea(event: string, body: unknown, deliveryId: string): ParseResult {
  switch (event) {
    case 'push': {
      const push = payload(giteaPush, body, 'Gitea push');
      const ref = splitRef(push.ref);
      if (!ref) return { ignored: 'unhandled-event', detail: `push to ${push.ref}, which is neither a branch nor a tag` };
      return {
        events: [
          {
            kind: 'push',
            forge: 'gitea',
            repo: push.repository.full_name,
            ...ref,
            before: push.before,
            after: push.after,
            created: push.before === ZERO_SHA,
            deleted: push.after === ZERO_SHA,
            deliveryId,
          },
        ],
      };
    }
    case 'delete': {
      const removed = payload(giteaDelete, body, 'Gitea delete');
      return {
        events: [
          {
            kind: 'push',
            forge: 'gitea',
            repo: removed.repository.full_name,
            refType: removed.ref_type === 'tag' ? 'tag' : 'branch',
            refName: removed.ref.replace(/^refs\/(heads|tags)\//, ''),
            before: ZERO_SHA,
            after: ZERO_SHA,
            created: false,
            deleted: true,
            deliveryId,
          },
        ],
      };
    }
    case 'pull_request': {
      const pr = payload(giteaPullRequest, body, 'Gitea pull_request');
      const merged = pr.pull_request.merged === true;
      const action = pr.action === 'closed' ? (merged ? 'merged' : 'closed') : PR_ACTIONS[pr.action];
      if (!action) return { ignored: 'unhandled-action', detail: `pull_request action "${pr.action}" does not change what would deploy` };
      return {
        events: [
          {
            kind: 'pull_request',
            forge: 'gitea',
            repo: pr.repository.full_name,
            number: pr.number,
            action,
            headSha: pr.pull_request.head.sha,
            headBranch: pr.pull_request.head.ref,
            headRepo: pr.pull_request.head.repo?.full_name ?? '',
            baseBranch: pr.pull_request.base.ref,
            merged,
            ...(pr.pull_request.merge_commit_sha && merged ? { mergeCommitSha: pr.pull_request.merge_commit_sha } : {}),
            deliveryId,
          },
        ],
      };
    }
    default:
      return { ignored: 'unhandled-event', detail: `Gitea event "${event}" is not one Landfall acts on (push, pull_request)` };
  }
}
