import type { z } from 'zod';
import { payload, splitRef } from '../parse-util.js';
import { ZERO_SHA, type ParseResult, type PullRequestAction } from '../types.js';
import { gitlabMergeRequest, gitlabMergeRequestNote, gitlabNote, gitlabPush } from './schema.js';

const MR_ACTIONS: Record<string, PullRequestAction> = {
  open: 'opened',
  reopen: 'reopened',
  merge: 'merged',
  close: 'closed',
};

type MergeRequestPayload = z.output<typeof gitlabMergeRequest>;

/** Label titles, sorted and without repeats, to compare a before and an after. */
function titles(labels: { title: string }[] | null | undefined): string {
  return [...new Set((labels ?? []).map((l) => l.title))].sort().join('\n');
}

/**
 * The action of an `update`: GitLab sends one for new commits, title edits, label changes and
 * more. Only an update with `oldrev` brought new commits ("oldrev is only available when there are
 * actual code changes", webhook_events.md). Without it, a `changes.labels` whose titles differ is
 * a label change; GitLab has been seen repeating unchanged labels there (gitlab#216874), so equal
 * titles are not one.
 */
function updateAction(mr: MergeRequestPayload): PullRequestAction | undefined {
  if (mr.object_attributes.oldrev) return 'updated';
  const change = mr.changes?.labels;
  if (change && titles(change.previous) !== titles(change.current)) return 'labeled';
  return undefined;
}

/**
 * Who opened the merge request. The payload names the author by id only and `user` is whoever
 * acted; they are the same person when the ids match, and always on `open`. Otherwise unknown:
 * better no author than the wrong one.
 */
function author(mr: MergeRequestPayload): string | undefined {
  const { user, object_attributes: attrs } = mr;
  if (!user) return undefined;
  if (attrs.action === 'open' || (user.id !== undefined && user.id === attrs.author_id)) return user.username;
  return undefined;
}

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
      const action = raw === 'update' ? updateAction(mr) : MR_ACTIONS[raw];
      if (!action) {
        return {
          ignored: 'unhandled-action',
          detail:
            raw === 'update' ? 'merge request updated without new commits or label changes' : `merge request action "${raw}" does not change what would deploy`,
        };
      }
      const labels = mr.labels ?? attrs.labels;
      const opener = author(mr);
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
            ...(labels ? { labels: labels.map((l) => l.title) } : {}),
            ...(opener ? { author: opener } : {}),
            deliveryId,
          },
        ],
      };
    }
    case 'Note Hook': {
      const kind = payload(gitlabNote, body, 'GitLab Note Hook').object_attributes.noteable_type;
      if (kind !== 'MergeRequest') return { ignored: 'unhandled-event', detail: `a comment on a ${kind}, not on a merge request` };
      const note = payload(gitlabMergeRequestNote, body, 'GitLab Note Hook');
      const attrs = note.object_attributes;
      if (attrs.system) return { ignored: 'unhandled-action', detail: "a note GitLab wrote itself, not a person's comment" };
      // `action` came with GitLab 16.11 (gitlab!147856), after edits began to fire the hook too
      // (gitlab!127169). Without it an edit cannot be told from a new comment and counts as one;
      // only the comment's own author (or an admin) can edit it.
      if (attrs.action !== undefined && attrs.action !== 'create')
        return { ignored: 'unhandled-action', detail: `Note Hook action "${attrs.action}" is not a new comment` };
      return {
        events: [
          {
            kind: 'comment',
            forge: 'gitlab',
            repo: note.project.path_with_namespace,
            number: note.merge_request.iid,
            author: note.user.username,
            body: attrs.note,
            deliveryId,
          },
        ],
      };
    }
    default:
      return {
        ignored: 'unhandled-event',
        detail: `GitLab event "${event}" is not one Landfall acts on (Push Hook, Tag Push Hook, Merge Request Hook, Note Hook)`,
      };
  }
}
