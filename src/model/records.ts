/**
 * The record model, declared once: a sync's or plan's record, an app's state and its last drift
 * check, as the workers write them and the dashboard, the API and the statuses read them.
 */
import type { ChangeEntry, DriftEntry, HealthEntry } from './changes.js';
import type { SYNC_TRIGGERS } from './jobs.js';

/** What caused a sync. */
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

/** Where a sync ended up. `queued` and `running` are not final. */
export type SyncResult = 'queued' | 'running' | 'succeeded' | 'failed' | 'superseded';

/** The phases a sync passes through, in order. */
export const PHASES = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'pre-sync', 'apply', 'health', 'prune', 'post-sync'] as const;

/** One of {@link PHASES}. */
export type PhaseName = (typeof PHASES)[number];

/** A phase's timing. */
export interface PhaseRecord {
  name: PhaseName;
  startedAt: number;
  finishedAt?: number;
}

/** A line of a sync's own log, shown on its page. */
export interface SyncLogLine {
  at: number;
  level: 'info' | 'warn' | 'error';
  msg: string;
}

/** Everything known about one sync: what the dashboard, the API and the statuses read. */
export interface SyncRecord {
  id: string;
  /** A deploy, or a pull-request plan (render, validate, dry-run, diff; never a write). */
  kind?: 'sync' | 'plan';
  app: string;
  trigger: SyncTrigger;
  jobId: string;
  /** The commit the trigger announced (empty for triggers that named none). */
  requestedSha: string;
  /** The commit this sync deployed or tried to: the branch head when it ran. */
  sha?: string;
  /** Commits announced while this sync waited; the ones that are not `sha` were superseded. */
  covered: string[];
  deliveryId?: string;
  cluster: string;
  namespace: string;
  result: SyncResult;
  /** The newer commit that made this one moot, for `superseded`. */
  supersededBy?: string;
  phases: PhaseRecord[];
  /** A deploy's hook phases and waves, in the order they ran (absent before hooks and waves existed). */
  steps?: StepRecord[];
  /** For plans: the hooks the deploy would run, listed apart from the objects. */
  plannedHooks?: PlannedHook[];
  changes: ChangeEntry[];
  health: HealthEntry[];
  error?: { code: string; message: string; object?: string; file?: string; transient: boolean };
  log: SyncLogLine[];
  attempt: number;
  /** How many times a worker started this sync; above `attempt` when a worker died mid-run. */
  runs?: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Forge status reports that finally failed, so a person can see why the forge shows nothing. */
  statusErrors?: string[];
  /** For plans: the pull request. */
  pullRequest?: { number: number; headBranch: string; baseBranch: string };
}

/** What Landfall knows of an app's current state, for the dashboard and decisions. */
export interface AppState {
  /** The commit the last sync that ran to the end tried; with a failed result, it is not retried on every interval. */
  attemptedSha?: string;
  deployedSha?: string;
  deployedAt?: number;
  lastSyncId?: string;
  lastResult?: SyncResult;
}

/** An app's last reconcile: the branch head seen, and drift and health of the deployed commit. */
export interface DriftState {
  checkedAt: number;
  /** The branch head when checked. */
  headSha?: string;
  /** The deployed commit that was compared. */
  sha?: string;
  drift: DriftEntry[];
  health: HealthEntry[];
  /** Set when a heal sync put the drift right. */
  healedAt?: number;
  healedBy?: string;
  error?: string;
}

/**
 * What a sync verified of one object once it was healthy: the fingerprint of what it applied and
 * the object's resourceVersion. Any write to the object, by anyone, moves its resourceVersion, so
 * while both still match, applying the object again provably changes nothing and its dry-run
 * can be skipped; the object is still read, so drift is never missed.
 */
export interface VerifiedObject {
  fingerprint: string;
  resourceVersion: string;
}

/** When a hook runs: before the objects, after them, or when the sync fails. */
export type HookPhaseName = 'pre-sync' | 'post-sync' | 'sync-fail';

/** How a step or a hook run ended (or that it is still running). */
export type StepResult = 'running' | 'succeeded' | 'failed';

/** One step of a deploy: a hook phase, or a wave of objects applied and waited for. */
export interface StepRecord {
  type: HookPhaseName | 'wave';
  /** For a wave: its number (negative waves run first). */
  wave?: number;
  startedAt: number;
  finishedAt?: number;
  result: StepResult;
  /** For a wave: how many objects it applied. */
  objects?: number;
  /** For a hook phase: each hook run, in order. */
  hooks?: HookRunRecord[];
  message?: string;
}

/** One run of a hook object. */
export interface HookRunRecord {
  kind: string;
  namespace?: string;
  /** The hook as written: its name, or its generateName followed by `*`. */
  hook: string;
  /** The object this run created (its generated name for a generateName hook). */
  name?: string;
  startedAt: number;
  finishedAt?: number;
  result: StepResult;
  /** Why it failed, or how it finished. */
  message?: string;
  /** The last lines of its pod's log, where the API gave them. */
  logs?: string[];
}

/** A hook a plan found: it is not an object to diff, it runs at a point of the deploy. */
export interface PlannedHook {
  phase: HookPhaseName;
  kind: string;
  namespace?: string;
  /** Its name, or its generateName followed by `*`. */
  name: string;
}
