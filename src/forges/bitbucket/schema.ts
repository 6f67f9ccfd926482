import { z } from 'zod';

// Only the fields Landfall reads are declared. Field names as in Bitbucket Cloud's "Event payloads"
// page (support.atlassian.com/bitbucket-cloud/docs/event-payloads: pull request events carry
// `actor`, `pullrequest`, `repository`, and the comment events a `comment` too), go-scm's
// scm/driver/bitbucket/webhook.go (`webhookPRComment`: `comment.content.raw`, `comment.user`) and
// fixtures/webhooks/bitbucket-cloud.

const repository = z.object({ full_name: z.string().min(1) });
const refState = z
  .object({ name: z.string().min(1), type: z.string(), target: z.object({ hash: z.string().min(1) }) })
  .nullable()
  .optional();

/**
 * An account, read as the name Landfall gives Bitbucket Cloud users: the Atlassian `account_id`,
 * else the `{uuid}`. Since 2019 (GDPR) payloads carry no username; these two are the only stable
 * ids, and the ones the permission API takes. `nickname` and `display_name` are neither unique nor
 * accepted there. Undefined when the account names neither.
 */
const account = z
  .object({ account_id: z.string().min(1).nullable().optional(), uuid: z.string().min(1).nullable().optional() })
  .transform((a) => a.account_id ?? a.uuid ?? undefined);

/** An {@link account} that has to name someone. */
const someone = account.transform((id, ctx) => {
  if (id) return id;
  ctx.addIssue({ code: 'custom', message: 'names neither account_id nor uuid' });
  return z.NEVER;
});

/** `repo:push`: one change per ref that moved. */
export const bitbucketPush = z.object({
  repository,
  push: z.object({
    changes: z.array(z.object({ new: refState, old: refState, created: z.boolean().optional(), closed: z.boolean().optional() })),
  }),
});

/** `pullrequest:*`. Commit hashes here are 12-character abbreviations. Bitbucket has no labels. */
export const bitbucketPullRequest = z.object({
  repository,
  pullrequest: z.object({
    id: z.number().int(),
    source: z.object({
      branch: z.object({ name: z.string().min(1) }),
      commit: z.object({ hash: z.string().min(1) }),
      repository: repository.nullable().optional(),
    }),
    destination: z.object({ branch: z.object({ name: z.string().min(1) }) }),
    merge_commit: z.object({ hash: z.string() }).nullable().optional(),
    author: account.nullable().optional(),
  }),
});

/** `pullrequest:comment_created`: `content.raw` is the text as written (Markdown). */
export const bitbucketPullRequestComment = z.object({
  repository,
  pullrequest: z.object({ id: z.number().int() }),
  comment: z.object({
    content: z.object({ raw: z.string() }),
    user: someone,
  }),
});
