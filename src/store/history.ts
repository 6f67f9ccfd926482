import type { Redis } from 'ioredis';
import type { AppState, DriftState, SyncRecord, SyncResult, VerifiedObject } from '../model/records.js';
import type { Keys } from './keys.js';

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

    /** What the app's last successful sync verified per object; empty when unknown (a full dry-run then). */
    verified: {
      async load(app: string): Promise<Map<string, VerifiedObject>> {
        const text = await redis.get(keys.verified(app));
        if (!text) return new Map();
        const parsed = JSON.parse(text) as Record<string, VerifiedObject>;
        return new Map(Object.entries(parsed).filter(([, v]) => typeof v?.fingerprint === 'string' && typeof v.resourceVersion === 'string'));
      },
      async save(app: string, verified: Map<string, VerifiedObject>): Promise<void> {
        await redis.set(keys.verified(app), JSON.stringify(Object.fromEntries(verified)));
      },
    },

    async setAppState(app: string, state: AppState): Promise<void> {
      const fields = Object.entries(state).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]);
      if (fields.length > 0) await redis.hset(keys.appState(app), Object.fromEntries(fields));
    },
  };
}

/** The history store's type. */
export type History = ReturnType<typeof createHistory>;
