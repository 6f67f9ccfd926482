import { z } from 'zod';
import { FORGE_IDS } from './forge-ids.js';

/** What caused a sync. */
export const SYNC_TRIGGERS = ['push', 'manual', 'reconcile', 'heal'] as const;

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
  /** Written by the worker once it claims the generation: the commits this job deploys, kept for its retries. */
  covered: z.array(z.string()).optional(),
  /** Written by the worker: when the job first waited for a moving branch to settle. */
  settlingSince: z.number().optional(),
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

/** The job id of an app's pending sync at a generation. BullMQ ids may not contain ':'. */
export function syncJobId(app: string, generation: number): string {
  return `sync-${app}-${generation}`;
}

/** The job id of a plan: one per pull request head, so a redelivery plans nothing twice. */
export function planJobId(app: string, number: number, headSha: string): string {
  return `plan-${app}-${number}-${headSha}`;
}
