import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  appStateSchema,
  driftStateSchema,
  syncRecordSchema,
  verifiedObjectSchema,
  type AppState,
  type DriftState,
  type SyncRecord,
  type VerifiedObject,
} from '../model/records.js';
import { decodeHash, decodeStoredJson, StoredDataError } from './codec.js';
import type { Keys } from './keys.js';

/** History entries kept per app; older ones are deleted. */
export const HISTORY_PER_APP = 100;
/** Log lines kept per sync. */
const LOG_LINES = 300;

/** An app's state as its Redis hash holds it: every field a string, numbers included. */
const appStateHash = appStateSchema.extend({ deployedAt: z.coerce.number().optional() });

/** The verified objects of an app as stored: entries that do not read as one are dropped (a full dry-run then). */
const verifiedMap = z.record(z.string(), z.unknown()).transform(
  (entries) =>
    new Map(
      Object.entries(entries).flatMap(([id, v]) => {
        const parsed = verifiedObjectSchema.safeParse(v);
        return parsed.success ? [[id, parsed.data] as const] : [];
      }),
    ),
);

/** Reply of LRANGE inside a MULTI: the ids pushed off an app's list. */
const droppedIds = z.array(z.string()).catch([]);

/** Sync records and app state in Redis, bounded per app. */
export function createHistory(redis: Redis, keys: Keys) {
  return {
    async get(id: string): Promise<SyncRecord | undefined> {
      const [text, errors] = await Promise.all([redis.get(keys.history(id)), redis.lrange(keys.statusErrors(id), 0, -1)]);
      if (!text) return undefined;
      const record = decodeStoredJson(syncRecordSchema, keys.history(id), text);
      if (errors.length > 0) record.statusErrors = errors;
      return record;
    },

    /** Notes a status report that finally failed, on its record (kept beside it, so saves never race). */
    async addStatusError(id: string, message: string): Promise<void> {
      await redis
        .multi()
        .rpush(keys.statusErrors(id), message)
        .ltrim(keys.statusErrors(id), -20, -1)
        .pexpire(keys.statusErrors(id), 30 * 24 * 3_600_000)
        .exec();
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
      const dropped = droppedIds.parse(results?.[3]?.[1]);
      if (dropped.length > 0) await redis.del(...dropped.flatMap((id) => [keys.history(id), keys.statusErrors(id)]));
    },

    /**
     * The newest records of an app (syncs, or plans), newest first. A record that does not read
     * (another version's, or changed by hand) is left out, so one bad record never hides the rest.
     */
    async list(app: string, limit = 20, kind: 'sync' | 'plan' = 'sync'): Promise<SyncRecord[]> {
      const ids = await redis.lrange(kind === 'plan' ? keys.appPlans(app) : keys.appSyncs(app), 0, limit - 1);
      if (ids.length === 0) return [];
      const texts = await redis.mget(...ids.map((id) => keys.history(id)));
      return texts.flatMap((text, i) => {
        if (!text) return [];
        try {
          return [decodeStoredJson(syncRecordSchema, keys.history(ids[i] ?? ''), text)];
        } catch (err) {
          if (err instanceof StoredDataError) return [];
          throw err;
        }
      });
    },

    /** An app's state; a hash that does not read throws a {@link StoredDataError}. */
    async appState(app: string): Promise<AppState> {
      const key = keys.appState(app);
      return decodeHash(appStateHash, key, await redis.hgetall(key));
    },

    /** The last drift check of an app. */
    async drift(app: string): Promise<DriftState | undefined> {
      const text = await redis.get(keys.drift(app));
      return text ? decodeStoredJson(driftStateSchema, keys.drift(app), text) : undefined;
    },

    async setDrift(app: string, state: DriftState): Promise<void> {
      await redis.set(keys.drift(app), JSON.stringify(state));
    },

    /** What the app's last successful sync verified per object; empty when unknown (a full dry-run then). */
    verified: {
      async load(app: string): Promise<Map<string, VerifiedObject>> {
        const text = await redis.get(keys.verified(app));
        if (!text) return new Map();
        try {
          return decodeStoredJson(verifiedMap, keys.verified(app), text);
        } catch (err) {
          if (err instanceof StoredDataError) return new Map();
          throw err;
        }
      },
      async save(app: string, verified: Map<string, VerifiedObject>): Promise<void> {
        await redis.set(keys.verified(app), JSON.stringify(Object.fromEntries(verified)));
      },
    },

    async setAppState(app: string, state: AppState): Promise<void> {
      const fields = Object.entries(state)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]);
      if (fields.length > 0) await redis.hset(keys.appState(app), Object.fromEntries(fields));
    },
  };
}

/** The history store's type. */
export type History = ReturnType<typeof createHistory>;
