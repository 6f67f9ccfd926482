import type { Redis } from 'ioredis';
import type { DriftEntry } from '../sync/drift.js';
import type { ChangeEntry, HealthEntry } from '../sync/types.js';
import type { Keys } from './keys.js';

/** What caused a sync. */
export type SyncTrigger = 'push' | 'manual' | 'reconcile' | 'heal';

/** Where a sync ended up. `queued` and `running` are not final. */
export type SyncResult = 'queued' | 'running' | 'succeeded' | 'failed' | 'superseded';

/** The phases a sync passes through, in order. */
export const PHASES = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune'] as const;

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

/** History entries kept per app; older ones are deleted. */
export const HISTORY_PER_APP = 100;
/** Log lines kept per sync. */
const LOG_LINES = 300;

/** Sync records and app state in Redis, bounded per app. */
export function createHistory(redis: Redis, keys: Keys) {
  return {
    async get(id: string): Promise<SyncRecord | undefined> {
      const [text, errors] = await Promise.all([redis.get(keys.history(id)), redis.lrange(keys.statusErrors(id), 0, -1)]);
      if (!text) return undefined;
      const record = JSON.parse(text) as SyncRecord;
      if (errors.length > 0) record.statusErrors = errors;
      return record;
    },

    /** Notes a status report that finally failed, on its record (kept beside it, so saves never race). */
    async addStatusError(id: string, message: string): Promise<void> {
      await redis.multi().rpush(keys.statusErrors(id), message).ltrim(keys.statusErrors(id), -20, -1).pexpire(keys.statusErrors(id), 30 * 24 * 3_600_000).exec();
    },

    /** Stores a record; a new one is added to its app's list, trimming the oldest. */
    async save(record: SyncRecord): Promise<void> {
      if (record.log.length > LOG_LINES) record.log = record.log.slice(-LOG_LINES);
      const listKey = record.kind === 'plan' ? keys.appPlans(record.app) : keys.appSyncs(record.app);
      const results = await redis
        .multi()
        .set(keys.history(record.id), JSON.stringify(record))
        .lrem(listKey, 0, record.id)
        .lpush(listKey, record.id)
        .lrange(listKey, HISTORY_PER_APP, -1)
        .ltrim(listKey, 0, HISTORY_PER_APP - 1)
        .exec();
      const dropped = (results?.[3]?.[1] as string[] | undefined) ?? [];
      if (dropped.length > 0) await redis.del(...dropped.flatMap((id) => [keys.history(id), keys.statusErrors(id)]));
    },

    /** The newest records of an app (syncs, or plans), newest first. */
    async list(app: string, limit = 20, kind: 'sync' | 'plan' = 'sync'): Promise<SyncRecord[]> {
      const ids = await redis.lrange(kind === 'plan' ? keys.appPlans(app) : keys.appSyncs(app), 0, limit - 1);
      if (ids.length === 0) return [];
      const texts = await redis.mget(...ids.map((id) => keys.history(id)));
      return texts.filter((t): t is string => Boolean(t)).map((t) => JSON.parse(t) as SyncRecord);
    },

    async appState(app: string): Promise<AppState> {
      const hash = await redis.hgetall(keys.appState(app));
      return {
        ...(hash.deployedSha ? { deployedSha: hash.deployedSha } : {}),
        ...(hash.attemptedSha ? { attemptedSha: hash.attemptedSha } : {}),
        ...(hash.deployedAt ? { deployedAt: Number(hash.deployedAt) } : {}),
        ...(hash.lastSyncId ? { lastSyncId: hash.lastSyncId } : {}),
        ...(hash.lastResult ? { lastResult: hash.lastResult as SyncResult } : {}),
      };
    },

    /** The last drift check of an app. */
    async drift(app: string): Promise<DriftState | undefined> {
      const text = await redis.get(keys.drift(app));
      return text ? (JSON.parse(text) as DriftState) : undefined;
    },

    async setDrift(app: string, state: DriftState): Promise<void> {
      await redis.set(keys.drift(app), JSON.stringify(state));
    },

    async setAppState(app: string, state: AppState): Promise<void> {
      const fields = Object.entries(state).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]);
      if (fields.length > 0) await redis.hset(keys.appState(app), Object.fromEntries(fields));
    },
  };
}

/** The history store's type. */
export type History = ReturnType<typeof createHistory>;
