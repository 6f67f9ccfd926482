import { z } from 'zod';

// Only the fields Landfall reads are declared; everything else in GitHub's payloads passes by.
// Field names as in @octokit/webhooks-types (schema.d.ts: PullRequest, Issue, IssueComment, Label)
// and GitHub's official examples in @octokit/webhooks-examples.

const repository = z.object({ full_name: z.string().min(1) });
const user = z.object({ login: z.string().min(1) });

/** `push` event. */
export const githubPush = z.object({
  ref: z.string().min(1),
  before: z.string(),
  after: z.string(),
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  repository,
});

/** `pull_request` event. `labels` are the labels after the event, `user` who opened it. */
export const githubPullRequest = z.object({
  action: z.string(),
  number: z.number().int(),
  pull_request: z.object({
    merged: z.boolean().nullable().optional(),
    merge_commit_sha: z.string().nullable().optional(),
    head: z.object({ sha: z.string().min(1), ref: z.string().min(1), repo: z.object({ full_name: z.string() }).nullable().optional() }),
    base: z.object({ ref: z.string().min(1) }),
    labels: z.array(z.object({ name: z.string().min(1) })).optional(),
    user: user.nullable().optional(),
  }),
  repository,
});

/**
 * `issue_comment` event: a comment on an issue or a pull request (GitHub's pull requests are
 * issues); `issue.pull_request` is present only on a pull request.
 */
export const githubIssueComment = z.object({
  action: z.string(),
  issue: z.object({ number: z.number().int(), pull_request: z.object({}).nullable().optional() }),
  comment: z.object({ user, body: z.string() }),
  repository,
});

/** `ping` event (repository is absent for organisation and app hooks). */
export const githubPing = z.object({ repository: repository.optional() });
