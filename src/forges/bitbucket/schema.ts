import { z } from 'zod';

// Only the fields Landfall reads are declared.

const repository = z.object({ full_name: z.string().min(1) });
const refState = z
  .object({ name: z.string().min(1), type: z.string(), target: z.object({ hash: z.string().min(1) }) })
  .nullable()
  .optional();

/** `repo:push`: one change per ref that moved. */
export const bitbucketPush = z.object({
  repository,
  push: z.object({
    changes: z.array(z.object({ new: refState, old: refState, created: z.boolean().optional(), closed: z.boolean().optional() })),
  }),
});

/** `pullrequest:*`. Commit hashes here are 12-character abbreviations. */
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
  }),
});
