import { z } from 'zod';

// Only the fields Landfall reads are declared. Payloads follow GitHub's shape.

const repository = z.object({ full_name: z.string().min(1) });

/** `push`. */
export const giteaPush = z.object({ ref: z.string().min(1), before: z.string(), after: z.string(), repository });

/** `delete` (a branch or tag was removed). */
export const giteaDelete = z.object({ ref: z.string().min(1), ref_type: z.string(), repository });

/** `pull_request`. */
export const giteaPullRequest = z.object({
  action: z.string(),
  number: z.number().int(),
  pull_request: z.object({
    merged: z.boolean().nullable().optional(),
    merge_commit_sha: z.string().nullable().optional(),
    head: z.object({ sha: z.string().min(1), ref: z.string().min(1), repo: repository.nullable().optional() }),
    base: z.object({ ref: z.string().min(1) }),
  }),
  repository,
});
