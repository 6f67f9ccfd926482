import { z } from 'zod';

// Only the fields Landfall reads are declared. Field names as in GitLab's webhook documentation
// (doc/user/project/integrations/webhook_events.md: "Merge request events", "Comment on a merge
// request") and the captured payloads in fixtures/webhooks/gitlab.

const project = z.object({ path_with_namespace: z.string().min(1) });
const labels = z.array(z.object({ title: z.string().min(1) }));

/** `Push Hook` and `Tag Push Hook`. */
export const gitlabPush = z.object({
  ref: z.string().min(1),
  before: z.string(),
  after: z.string(),
  project,
});

/**
 * `Merge Request Hook`. `user` is who acted, not necessarily who opened the merge request
 * (`object_attributes.author_id`, an id only). The top-level `labels` are the labels after the
 * event; `changes.labels` says what they were before when they changed.
 */
export const gitlabMergeRequest = z.object({
  project,
  user: z.object({ id: z.number().int().optional(), username: z.string().min(1) }).optional(),
  labels: labels.optional(),
  changes: z.object({ labels: z.object({ previous: labels.nullable().optional(), current: labels.nullable().optional() }).optional() }).optional(),
  object_attributes: z.object({
    iid: z.number().int(),
    action: z.string().optional(),
    oldrev: z.string().nullable().optional(),
    source_branch: z.string().min(1),
    target_branch: z.string().min(1),
    merge_commit_sha: z.string().nullable().optional(),
    last_commit: z.object({ id: z.string().min(1) }),
    source: project.nullable().optional(),
    author_id: z.number().int().optional(),
    labels: labels.optional(),
  }),
});

/** `Note Hook`, enough to tell what was commented on. */
export const gitlabNote = z.object({ object_attributes: z.object({ noteable_type: z.string() }) });

/**
 * `Note Hook` on a merge request. `object_attributes.action` (`create`, `update`) is sent since
 * GitLab 16.11; `system` notes are GitLab's own ("added 1 commit"), not what a person wrote.
 */
export const gitlabMergeRequestNote = z.object({
  project,
  user: z.object({ username: z.string().min(1) }),
  object_attributes: z.object({
    note: z.string(),
    noteable_type: z.literal('MergeRequest'),
    action: z.string().optional(),
    system: z.boolean().optional(),
  }),
  merge_request: z.object({ iid: z.number().int() }),
});
