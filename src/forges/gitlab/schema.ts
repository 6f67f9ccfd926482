import { z } from 'zod';

// Only the fields Landfall reads are declared.

const project = z.object({ path_with_namespace: z.string().min(1) });

/** `Push Hook` and `Tag Push Hook`. */
export const gitlabPush = z.object({
  ref: z.string().min(1),
  before: z.string(),
  after: z.string(),
  project,
});

/** `Merge Request Hook`. */
export const gitlabMergeRequest = z.object({
  project,
  object_attributes: z.object({
    iid: z.number().int(),
    action: z.string().optional(),
    oldrev: z.string().nullable().optional(),
    source_branch: z.string().min(1),
    target_branch: z.string().min(1),
    merge_commit_sha: z.string().nullable().optional(),
    last_commit: z.object({ id: z.string().min(1) }),
    source: project.nullable().optional(),
  }),
});
