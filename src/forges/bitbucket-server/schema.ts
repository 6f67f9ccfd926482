import { z } from 'zod';

// Only the fields Landfall reads are declared. Field names as on Atlassian's "Event payload" page
// for Bitbucket Data Center (the common User, Pull Request and Comment entities), the event types
// of @coderabbitai/bitbucket (server/webhooks/events/pr/comment_added.d.ts: `actor`, `comment.text`,
// `comment.author`, `pullRequest`) and fixtures/webhooks/bitbucket-server.

/** A user; `name` is the login (the `slug` is its URL-safe form). */
const dcUser = z.object({ name: z.string().min(1) });

/** Bitbucket DC names a repository by project key and slug. */
export const dcRepository = z.object({ slug: z.string().min(1), project: z.object({ key: z.string().min(1) }) });

/** `repo:refs_changed`. */
export const dcRefsChanged = z.object({
  repository: dcRepository,
  changes: z.array(
    z.object({
      ref: z.object({ displayId: z.string().min(1), type: z.string() }),
      fromHash: z.string(),
      toHash: z.string(),
      type: z.string(),
    }),
  ),
});

const dcRef = z.object({ displayId: z.string().min(1), latestCommit: z.string().min(1), repository: dcRepository });

/** `pr:*`. Bitbucket Data Center has no labels. `author.user` opened the pull request. */
export const dcPullRequest = z.object({
  pullRequest: z.object({
    id: z.number().int(),
    fromRef: dcRef,
    toRef: dcRef,
    properties: z.object({ mergeCommit: z.object({ id: z.string() }).optional() }).optional(),
    author: z.object({ user: dcUser }).optional(),
  }),
});

/** `pr:comment:added`: `comment.author` wrote `comment.text` (the `actor` is the same user). */
export const dcPullRequestComment = z.object({
  pullRequest: z.object({ id: z.number().int(), toRef: z.object({ repository: dcRepository }) }),
  comment: z.object({ text: z.string(), author: dcUser }),
});
