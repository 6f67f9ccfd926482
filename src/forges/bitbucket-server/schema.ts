import { z } from 'zod';

// Only the fields Landfall reads are declared.

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

/** `pr:*`. */
export const dcPullRequest = z.object({
  pullRequest: z.object({
    id: z.number().int(),
    fromRef: dcRef,
    toRef: dcRef,
    properties: z.object({ mergeCommit: z.object({ id: z.string() }).optional() }).optional(),
  }),
});
