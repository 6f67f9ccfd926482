import { payload, splitRef } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction } from '../types.js';
import { githubIssueComment, githubPing, githubPullRequest, githubPush } from './schema.js';

const PR_ACTIONS: Record<string, PullRequestAction> = {
  opened: 'opened',
  synchronize: 'updated',
  reopened: 'reopened',
  // A label added or removed; `pull_request.labels` already holds the labels after the change.
  labeled: 'labeled',
  unlabeled: 'labeled',
};

/** Turns a verified GitHub payload into neutral events. */
export function parseGithub(event: string, body: unknown, deliveryId: string): ParseResult {
  switch (event) {
    case 'ping': {
      const ping = payload(githubPing, body, 'GitHub ping');
      return { events: [{ kind: 'ping', forge: 'github', repo: ping.repository?.full_name, deliveryId }] };
    }
    case 'push': {
      const push = payload(githubPush, body, 'GitHub push');
      const ref = splitRef(push.ref);
      if (!ref) return { ignored: 'unhandled-event', detail: `push to ${push.ref}, which is neither a branch nor a tag` };
      return {
        events: [
          {
            kind: 'push',
            forge: 'github',
            repo: push.repository.full_name,
            ...ref,
            before: push.before,
            after: push.after,
            created: push.created ?? push.before === ZERO_SHA,
            deleted: push.deleted ?? push.after === ZERO_SHA,
            deliveryId,
          },
        ],
      };
    }
    case 'pull_request': {
      const pr = payload(githubPullRequest, body, 'GitHub pull_request');
      const merged = pr.pull_request.merged === true;
      const action = pr.action === 'closed' ? (merged ? 'merged' : 'closed') : PR_ACTIONS[pr.action];
      if (!action) return { ignored: 'unhandled-action', detail: `pull_request action "${pr.action}" does not change what would deploy` };
      return {
        events: [
          {
            kind: 'pull_request',
            forge: 'github',
            repo: pr.repository.full_name,
            number: pr.number,
            action,
            headSha: pr.pull_request.head.sha,
            headBranch: pr.pull_request.head.ref,
            headRepo: pr.pull_request.head.repo?.full_name ?? '',
            baseBranch: pr.pull_request.base.ref,
            merged,
            ...(pr.pull_request.merge_commit_sha && merged ? { mergeCommitSha: pr.pull_request.merge_commit_sha } : {}),
            ...(pr.pull_request.labels ? { labels: pr.pull_request.labels.map((l) => l.name) } : {}),
            ...(pr.pull_request.user ? { author: pr.pull_request.user.login } : {}),
            deliveryId,
          },
        ],
      };
    }
    case 'issue_comment': {
      const comment = payload(githubIssueComment, body, 'GitHub issue_comment');
      if (!comment.issue.pull_request) return { ignored: 'unhandled-event', detail: `a comment on issue #${comment.issue.number}, not on a pull request` };
      // An edited or deleted comment approves nothing: only what was written as a new comment counts.
      if (comment.action !== 'created') return { ignored: 'unhandled-action', detail: `issue_comment action "${comment.action}" is not a new comment` };
      return {
        events: [
          {
            kind: 'comment',
            forge: 'github',
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
      return { ignored: 'unhandled-event', detail: `GitHub event "${event}" is not one Landfall acts on (push, pull_request, issue_comment, ping)` };
  }
}
