import { z } from 'zod';

// Only the fields Landfall reads are declared. Payloads follow GitHub's shape; field names as in
// Gitea's modules/structs (hook.go: PullRequestPayload, IssueCommentPayload; pull.go: PullRequest
// `user`, `labels`; issue_comment.go: Comment `user`, `body`) and fixtures/webhooks/gitea.

const repository = z.object({ full_name: z.string().min(1) });
const user = z.object({ login: z.string().min(1) });

/** `push`. */
export const giteaPush = z.object({ ref: z.string().min(1), before: z.string(), after: z.string(), repository });

/** `delete` (a branch or tag was removed). */
export const giteaDelete = z.object({ ref: z.string().min(1), ref_type: z.string(), repository });

/**
 * `pull_request`, also for label changes (`label_updated`, `label_cleared`). `labels` are the
 * labels after the event; Go sends an empty list as null.
 */
export const giteaPullRequest = z.object({
  action: z.string(),
  number: z.number().int(),
  pull_request: z.object({
    merged: z.boolean().nullable().optional(),
    merge_commit_sha: z.string().nullable().optional(),
    head: z.object({ sha: z.string().min(1), ref: z.string().min(1), repo: repository.nullable().optional() }),
    base: z.object({ ref: z.string().min(1) }),
    labels: z
      .array(z.object({ name: z.string().min(1) }))
      .nullable()
      .optional(),
    user: user.nullable().optional(),
  }),
  repository,
});

/** `issue_comment`: a comment on an issue, or on a pull request when `is_pull` is true. */
export const giteaIssueComment = z.object({
  action: z.string(),
  issue: z.object({ number: z.number().int() }),
  comment: z.object({ user, body: z.string() }),
  is_pull: z.boolean().optional(),
  repository,
});
