/**
 * The record model, declared once: a sync's or plan's record, an app's state and its last drift
 * check, as the workers write them and the dashboard, the API and the statuses read them. Each is
 * a zod schema: stored copies are read back through it, and the API's JSON Schema derives from it.
 */
import { z } from 'zod';
import { changeEntrySchema, driftEntrySchema, healthEntrySchema } from './changes.js';
import { SYNC_TRIGGERS } from './jobs.js';

/** What caused a sync. */
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

/** Where a sync ended up, and the neutral state of its forge status. `queued` and `running` are not final. */
export const SYNC_RESULTS = ['queued', 'running', 'succeeded', 'failed', 'superseded'] as const;

/** One of {@link SYNC_RESULTS}. */
export type SyncResult = (typeof SYNC_RESULTS)[number];

/** The phases a sync passes through, in order. */
export const PHASES = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'pre-sync', 'apply', 'health', 'prune', 'post-sync'] as const;

/** One of {@link PHASES}. */
export type PhaseName = (typeof PHASES)[number];

/** What a record is: a deploy, or a pull-request plan (render, validate, dry-run, diff; never a write). */
export const RECORD_KINDS = ['sync', 'plan'] as const;

/** A phase's timing. */
export const phaseRecordSchema = z.object({
  name: z.enum(PHASES),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
});

/** A phase's timing. */
export type PhaseRecord = z.infer<typeof phaseRecordSchema>;

/** A line of a sync's own log, shown on its page. */
export const syncLogLineSchema = z.object({
  at: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  msg: z.string(),
});

/** A line of a sync's own log. */
export type SyncLogLine = z.infer<typeof syncLogLineSchema>;

/** When a hook runs: before the objects, after them, or when the sync fails. */
export const HOOK_PHASES = ['pre-sync', 'post-sync', 'sync-fail'] as const;

/** One of {@link HOOK_PHASES}. */
export type HookPhaseName = (typeof HOOK_PHASES)[number];

/** How a step or a hook run ended (or that it is still running). */
export const STEP_RESULTS = ['running', 'succeeded', 'failed'] as const;

/** One of {@link STEP_RESULTS}. */
export type StepResult = (typeof STEP_RESULTS)[number];

/** One run of a hook object. */
export const hookRunRecordSchema = z.object({
  kind: z.string(),
  namespace: z.string().optional(),
  /** The hook as written: its name, or its generateName followed by `*`. */
  hook: z.string(),
  /** The object this run created (its generated name for a generateName hook). */
  name: z.string().optional(),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  result: z.enum(STEP_RESULTS),
  /** Why it failed, or how it finished. */
  message: z.string().optional(),
  /** The last lines of its pod's log, where the API gave them. */
  logs: z.array(z.string()).optional(),
});

/** One run of a hook object. */
export type HookRunRecord = z.infer<typeof hookRunRecordSchema>;

/** One step of a deploy: a hook phase, or a wave of objects applied and waited for. */
export const stepRecordSchema = z.object({
  type: z.enum([...HOOK_PHASES, 'wave']),
  /** For a wave: its number (negative waves run first). */
  wave: z.number().optional(),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  result: z.enum(STEP_RESULTS),
  /** For a wave: how many objects it applied. */
  objects: z.number().optional(),
  /** For a hook phase: each hook run, in order. */
  hooks: z.array(hookRunRecordSchema).optional(),
  message: z.string().optional(),
});

/** One step of a deploy. */
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** A hook a plan found: it is not an object to diff, it runs at a point of the deploy. */
export const plannedHookSchema = z.object({
  phase: z.enum(HOOK_PHASES),
  kind: z.string(),
  namespace: z.string().optional(),
  /** Its name, or its generateName followed by `*`. */
  name: z.string(),
});

/** A hook a plan found. */
export type PlannedHook = z.infer<typeof plannedHookSchema>;

/** Everything known about one sync: what the dashboard, the API and the statuses read. */
export const syncRecordSchema = z.object({
  id: z.string(),
  /** A deploy, or a pull-request plan. */
  kind: z.enum(RECORD_KINDS).optional(),
  app: z.string(),
  trigger: z.enum(SYNC_TRIGGERS),
  jobId: z.string(),
  /** The commit the trigger announced (empty for triggers that named none). */
  requestedSha: z.string(),
  /** The commit this sync deployed or tried to: the branch head when it ran. */
  sha: z.string().optional(),
  /** Commits announced while this sync waited; the ones that are not `sha` were superseded. */
  covered: z.array(z.string()),
  deliveryId: z.string().optional(),
  cluster: z.string(),
  namespace: z.string(),
  result: z.enum(SYNC_RESULTS),
  /** The newer commit that made this one moot, for `superseded`. */
  supersededBy: z.string().optional(),
  phases: z.array(phaseRecordSchema),
  /** A deploy's hook phases and waves, in the order they ran (absent before hooks and waves existed). */
  steps: z.array(stepRecordSchema).optional(),
  /** For plans: the hooks the deploy would run, listed apart from the objects. */
  plannedHooks: z.array(plannedHookSchema).optional(),
  changes: z.array(changeEntrySchema),
  health: z.array(healthEntrySchema),
  error: z.object({ code: z.string(), message: z.string(), object: z.string().optional(), file: z.string().optional(), transient: z.boolean() }).optional(),
  log: z.array(syncLogLineSchema),
  attempt: z.number(),
  /** How many times a worker started this sync; above `attempt` when a worker died mid-run. */
  runs: z.number().optional(),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** Forge status reports that finally failed, so a person can see why the forge shows nothing. */
  statusErrors: z.array(z.string()).optional(),
  /** For plans: the pull request. */
  pullRequest: z.object({ number: z.number(), headBranch: z.string(), baseBranch: z.string() }).optional(),
});

/** Everything known about one sync. */
export type SyncRecord = z.infer<typeof syncRecordSchema>;

/**
 * What Landfall knows of an app's current state, for the dashboard and decisions. Stored as a
 * Redis hash, so every field is read back from a string.
 */
export const appStateSchema = z.object({
  /** The commit the last sync that ran to the end tried; with a failed result, it is not retried on every interval. */
  attemptedSha: z.string().optional(),
  deployedSha: z.string().optional(),
  deployedAt: z.number().optional(),
  lastSyncId: z.string().optional(),
  lastResult: z.enum(SYNC_RESULTS).optional(),
});

/** What Landfall knows of an app's current state. */
export type AppState = z.infer<typeof appStateSchema>;

/** An app's last reconcile: the branch head seen, and drift and health of the deployed commit. */
export const driftStateSchema = z.object({
  checkedAt: z.number(),
  /** The branch head when checked. */
  headSha: z.string().optional(),
  /** The deployed commit that was compared. */
  sha: z.string().optional(),
  drift: z.array(driftEntrySchema),
  health: z.array(healthEntrySchema),
  /** Set when a heal sync put the drift right. */
  healedAt: z.number().optional(),
  healedBy: z.string().optional(),
  error: z.string().optional(),
});

/** An app's last reconcile. */
export type DriftState = z.infer<typeof driftStateSchema>;

/**
 * What a sync verified of one object once it was healthy: the fingerprint of what it applied and
 * the object's resourceVersion. Any write to the object, by anyone, moves its resourceVersion, so
 * while both still match, applying the object again provably changes nothing and its dry-run
 * can be skipped; the object is still read, so drift is never missed.
 */
export const verifiedObjectSchema = z.object({
  fingerprint: z.string(),
  resourceVersion: z.string(),
});

/** What a sync verified of one object. */
export type VerifiedObject = z.infer<typeof verifiedObjectSchema>;
