import { payload, splitRef } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction } from '../types.js';
import { gitlabMergeRequest, gitlabPush } from './schema.js';

const MR_ACTIONS: Record<string, PullRequestAction> = {
  open: 'opened',
  reopen: 'reopened',
  merge: 'merged',
  close: 'closed',
};

/** Turns a verified GitLab payload into neutral events. */
export function parseGitlab(event: string, body: unknown, deliveryId: string): ParseResult {
  switch (event) {
    case 'Push Hook':
    case 'Tag Push Hook': {
      const push = payload(gitlabPush, body, `GitLab ${event}`);
      const ref = splitRef(push.ref);
      if (!ref) return { ignored: 'unhandled-event', detail: `push to ${push.ref}, which is neither a branch nor a tag` };
      return {
        events: [
          {
            kind: 'push',
            forge: 'gitlab',
            repo: push.project.path_with_namespace,
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
    case 'Merge Request Hook': {
      const mr = payload(gitlabMergeRequest, body, 'GitLab Merge Request Hook');
      const attrs = mr.object_attributes;
      const raw = attrs.action ?? '';
      // "update" fires for title and label edits too; only an update with oldrev brought new commits.
      const action = raw === 'update' ? (attrs.oldrev ? 'updated' : undefined) : MR_ACTIONS[raw];
      if (!action) {
        return {
          ignored: 'unhandled-action',
          detail: raw === 'update' ? 'merge request updated without new commits' : `merge request action "${raw}" does not change what would deploy`,
        };
      }
      return {
        events: [
          {
            kind: 'pull_request',
            forge: 'gitlab',
            repo: mr.project.path_with_namespace,
            number: attrs.iid,
            action,
            headSha: attrs.last_commit.id,
            headBranch: attrs.source_branch,
            headRepo: attrs.source?.path_with_namespace ?? '',
            baseBranch: attrs.target_branch,
            merged: action === 'merged',
            ...(attrs.merge_commit_sha ? { mergeCommitSha: attrs.merge_commit_sha } : {}),
            deliveryId,
          },
        ],
      };
    }
    default:
      return { ignored: 'unhandled-event', detail: `GitLab event "${event}" is not one Landfall acts on (Push Hook, Tag Push Hook, Merge Request Hook)` };
  }
}
