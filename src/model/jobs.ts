import { z } from 'zod';
import { FORGE_IDS } from './forge-ids.js';

/** What caused a sync. */
/** `preview`: a pull request's head deployed into its preview namespace (src/previews). */
export const SYNC_TRIGGERS = ['push', 'manual', 'reconcile', 'heal', 'preview'] as const;

/**
 * A `sync` job: deploy the app's branch head. `sha` is the commit the trigger announced; the
 * worker deploys what the branch points at when it runs and marks older commits superseded.
 * Jobs carry this neutral event, never the forge's payload, to keep each job small.
 */
export const syncJobSchema = z.object({
  app: z.string(),
  trigger: z.enum(SYNC_TRIGGERS),
  forge: z.enum(FORGE_IDS),
  repo: z.string(),
  branch: z.string(),
  /** Empty for triggers that name no commit (manual, reconcile): the branch head is resolved at run time. */
  sha: z.string(),
  before: z.string().optional(),
  deliveryId: z.string().optional(),
  /** The generation this job was queued under; see `createKeys().syncGeneration`. */
  generation: z.number().int().nonnegative(),
  receivedAt: z.number(),
  /** Set by the worker: when the job first waited for a burst of pushes to settle. */
  settlingSince: z.number().optional(),
  /** Set by the worker when it claims the generation: the commits this job deploys or supersedes. */
  covered: z.array(z.string()).optional(),
});

/** Data of a `sync` job. */
export type SyncJobData = z.infer<typeof syncJobSchema>;

/** A `plan` job: render, validate and dry-run a pull request's head, and report it on the pull request. */
export const planJobSchema = z.object({
  app: z.string(),
  forge: z.enum(FORGE_IDS),
  repo: z.string(),
  number: z.number().int(),
  action: z.enum(['opened', 'updated', 'reopened']),
  headSha: z.string(),
  headBranch: z.string(),
  headRepo: z.string(),
  baseBranch: z.string(),
  deliveryId: z.string().optional(),
  receivedAt: z.number(),
});

/** Data of a `plan` job. */
export type PlanJobData = z.infer<typeof planJobSchema>;

/** What woke a preview job: a pull-request event, a comment, the sweep, or a freed slot. */
export const PREVIEW_CAUSES = ['opened', 'updated', 'reopened', 'labeled', 'closed', 'merged', 'comment', 'sweep', 'slot', 'checks', 'sleep'] as const;

/**
 * What a maintainer comments on a fork's pull request, followed by the full head sha, to let that
 * commit run as a preview. Comments without it are not even queued.
 */
export const PREVIEW_APPROVE_WORD = '/landfall preview';

/** One of {@link PREVIEW_CAUSES}. */
export type PreviewCause = (typeof PREVIEW_CAUSES)[number];

/** A pull request as a preview job sees it, from the event or the forge's API. */
export const pullRequestSnapshotSchema = z.object({
  state: z.enum(['open', 'closed', 'merged']),
  headSha: z.string(),
  headBranch: z.string(),
  /** Full name of the head's repository; differs from the app's repo for forks; empty when the fork is gone. */
  headRepo: z.string(),
  baseBranch: z.string(),
  /** Undefined where the forge has no labels (Bitbucket). */
  labels: z.array(z.string()).optional(),
  author: z.string().optional(),
});

/** A pull request as a preview job sees it. */
export type PullRequestSnapshot = z.infer<typeof pullRequestSnapshotSchema>;

/**
 * A `preview` job: bring a pull request's preview to what the pull request asks now (deploy its
 * head, wait, or tear down). Jobs of one pull request are numbered; an older one finds a newer
 * queued and does nothing, so the newest event wins.
 */
export const previewJobSchema = z.object({
  app: z.string(),
  forge: z.enum(FORGE_IDS),
  repo: z.string(),
  number: z.number().int(),
  cause: z.enum(PREVIEW_CAUSES),
  /** The pull-request event's view of it; comments and the sweep ask the forge instead. */
  pullRequest: pullRequestSnapshotSchema.optional(),
  /** This job's place in the pull request's sequence (`createKeys().previewSeq`). */
  seq: z.number().int().nonnegative(),
  deliveryId: z.string().optional(),
  receivedAt: z.number(),
});

/** Data of a `preview` job. */
export type PreviewJobData = z.infer<typeof previewJobSchema>;

/** The job id of a preview job: one per event of a pull request. */
export function previewJobId(app: string, number: number, seq: number): string {
  return `preview-${app}-${number}-${seq}`;
}

/**
 * What an app's sync job ids start with; the generation follows. Handed to the intake's Lua
 * script, which appends the generation it reads, so the id is built in one place.
 */
export function syncJobIdPrefix(app: string): string {
  return `sync-${app}-`;
}

/** The job id of an app's pending sync at a generation. BullMQ ids may not contain ':'. */
export function syncJobId(app: string, generation: number): string {
  return `${syncJobIdPrefix(app)}${generation}`;
}

/** The job id of a plan: one per pull request head, so a redelivery plans nothing twice. */
export function planJobId(app: string, number: number, headSha: string): string {
  return `plan-${app}-${number}-${headSha}`;
}

/** A `status` job: post whatever status the slot named by `digest` desires when the job runs. */
export const statusJobSchema = z.object({
  digest: z.string(),
  /** How often the job waited for a forge's Retry-After, without spending an attempt. */
  waits: z.number().int().nonnegative().optional(),
});

/** Data of a `status` job. */
export type StatusJobData = z.infer<typeof statusJobSchema>;

/** A `comment` job: post or edit the plan comment of a pull request. */
export const commentJobSchema = z.object({
  app: z.string(),
  number: z.number().int(),
});

/** Data of a `comment` job. */
export type CommentJobData = z.infer<typeof commentJobSchema>;

/** Something worth telling people about. */
export const notificationSchema = z.object({
  event: z.enum(['sync-failed', 'drift-found', 'drift-healed']),
  app: z.string(),
  /** One line for people. */
  message: z.string(),
  sha: z.string().optional(),
  /** The page with the details. */
  url: z.string(),
  /** Drifted objects, for drift events: `Deployment/web/web spec.replicas`. */
  objects: z.array(z.string()).optional(),
});

/** Something worth telling people about. */
export type Notification = z.infer<typeof notificationSchema>;

/** Where notifications go. */
export const NOTIFY_TARGETS = ['webhook', 'slack'] as const;

/** A `notify` job: deliver one notification to one target. */
export const notifyJobSchema = z.object({
  target: z.enum(NOTIFY_TARGETS),
  notification: notificationSchema,
});

/** Data of a `notify` job. */
export type NotifyJobData = z.infer<typeof notifyJobSchema>;

/** The job id of a status post: one per desired-status sequence number of a slot. */
export function statusJobId(digest: string, seq: number): string {
  return `st-${digest}-${seq}`;
}

/** The job id of a plan-comment post: one per desired-body sequence number. */
export function commentJobId(app: string, number: number, seq: number): string {
  return `cm-${app}-${number}-${seq}`;
}

/** The status slot a plan comment's posts are serialised under (it shares the status lock). */
export function commentSlot(app: string, number: number): string {
  return `comment-${app}-${number}`;
}
