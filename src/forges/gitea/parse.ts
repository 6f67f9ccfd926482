import { payload, splitRef } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction } from '../types.js';
import { giteaDelete, giteaIssueComment, giteaPullRequest, giteaPush } from './schema.js';

const PR_ACTIONS: Record<string, PullRequestAction> = {
  opened: 'opened',
  // Gitea says "synchronized" where GitHub says "synchronize"; accept both.
  synchronized: 'updated',
  synchronize: 'updated',
  reopened: 'reopened',
  // Labels added or removed, and all labels removed (modules/structs/hook.go: HookIssueLabelUpdated,
  // HookIssueLabelCleared). Gitea files these under the `pull_request_label` hook event, but its
  // X-Gitea-Event (and X-Forgejo-Event) header says `pull_request`: modules/webhook/type.go,
  // HookEventType.Event(); only X-Gitea-Event-Type says `pull_request_label`.
  label_updated: 'labeled',
  label_cleared: 'labeled',
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
            ...(pr.pull_request.labels !== undefined ? { labels: (pr.pull_request.labels ?? []).map((l) => l.name) } : {}),
            ...(pr.pull_request.user ? { author: pr.pull_request.user.login } : {}),
            deliveryId,
          },
        ],
      };
    }
    // Comments on issues and on pull requests both arrive as `issue_comment` (Event() again; the
    // hook events are `issue_comment` and `pull_request_comment`); `is_pull` tells them apart.
    case 'issue_comment': {
      const comment = payload(giteaIssueComment, body, 'Gitea issue_comment');
      if (comment.is_pull !== true) return { ignored: 'unhandled-event', detail: `a comment on issue #${comment.issue.number}, not on a pull request` };
      if (comment.action !== 'created') return { ignored: 'unhandled-action', detail: `issue_comment action "${comment.action}" is not a new comment` };
      return {
        events: [
          {
            kind: 'comment',
            forge: 'gitea',
            repo: comment.repository.full_name,
            number: comment.issue.number,
            author: comment.comment.user.login,
            body: comment.comment.body,
            deliveryId,
          },
        ],
      };
    }
    default:
      return { ignored: 'unhandled-event', detail: `Gitea event "${event}" is not one Landfall acts on (push, delete, pull_request, issue_comment)` };
  }
}
