import { z } from 'zod';

// Only the fields Landfall reads are declared; everything else in GitHub's payloads passes by.

const repository = z.object({ full_name: z.string().min(1) });

/** `push` event. */
export const githubPush = z.object({
  ref: z.string().min(1),
  before: z.string(),
  after: z.string(),
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  repository,
});

/** `pull_request` event. */
export const githubPullRequest = z.object({
  action: z.string(),
  number: z.number().int(),
  pull_request: z.object({
    merged: z.boolean().nullable().optional(),
    merge_commit_sha: z.string().nullable().optional(),
    head: z.object({ sha: z.string().min(1), ref: z.string().min(1), repo: z.object({ full_name: z.string() }).nullable().optional() }),
    base: z.object({ ref: z.string().min(1) }),
  }),
  repository,
});

/** `ping` event (repository is absent for organisation and app hooks). */
export const githubPing = z.object({ repository: repository.optional() });
