/**
 * Where each pull request's preview stands, kept in Redis: one JSON value per pull request and a
 * set of the pull requests of each app that have a preview or wait for one. The cluster keeps
 * the truth of what is deployed (the preview's namespace and inventory); this is what the
 * dashboard, the sweep and `maxOpen` read.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { decodeStoredJson } from '../store/codec.js';
import type { Keys } from '../store/keys.js';

/**
 * What a preview is doing: `waiting` (for approval, CI statuses or a free slot: `reason` says
 * which), `deploying`, `ready`, `failed`, `sleeping` (workloads scaled to zero), `expired` (torn
 * down after `ttl` without a push; the next push brings it back).
 */
export const PREVIEW_STATUSES = ['waiting', 'deploying', 'ready', 'failed', 'sleeping', 'expired'] as const;

/** One of {@link PREVIEW_STATUSES}. */
export type PreviewStatus = (typeof PREVIEW_STATUSES)[number];

/** A preview as stored. */
export const previewStateSchema = z.object({
  app: z.string(),
  number: z.number().int(),
  namespace: z.string(),
  status: z.enum(PREVIEW_STATUSES),
  /** Why it waits or failed, for people. */
  reason: z.string().optional(),
  /** The head commit it runs (or is being brought to). */
  sha: z.string().optional(),
  headBranch: z.string().optional(),
  /** Set when the pull request comes from a fork. */
  fork: z.boolean().optional(),
  url: z.string().optional(),
  /** The last sync of the preview (its record id). */
  syncId: z.string().optional(),
  /** Whether objects may be in the cluster (a deploy was started): teardown has work to do. */
  applied: z.boolean().optional(),
  /** What a waiting preview waits for, and since when (waits for CI statuses are bounded). */
  waitingFor: z.enum(['approval', 'checks', 'slot']).optional(),
  waitingSince: z.number().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** The last push (or opening) of the pull request: `ttl` and `sleepAfter` count from it. */
  lastPushAt: z.number(),
});

/** A preview as stored. */
export type PreviewState = z.infer<typeof previewStateSchema>;

/** KEYS: the app's slots. ARGV: the pull request, the most slots. 1 when it holds a slot. */
const TAKE_SLOT = `
if redis.call('sismember', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('scard', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('sadd', KEYS[1], ARGV[1])
return 1
`;

/** Reads and writes previews. */
export interface PreviewStore {
  get(app: string, number: number): Promise<PreviewState | undefined>;
  put(state: PreviewState): Promise<void>;
  remove(app: string, number: number): Promise<void>;
  /** The pull requests of an app with a preview or waiting for one. */
  numbers(app: string): Promise<number[]>;
  /**
   * Takes one of the app's `max` preview slots for the pull request, atomically (several workers
   * may start previews at once); true when it has one (already, or now). Kept until {@link freeSlot}.
   */
  takeSlot(app: string, number: number, max: number): Promise<boolean>;
  freeSlot(app: string, number: number): Promise<void>;
  list(app: string): Promise<PreviewState[]>;
}

/** Previews in Redis. */
export function createPreviewStore(redis: Redis, keys: Keys): PreviewStore {
  const store: PreviewStore = {
    async get(app, number) {
      const key = keys.preview(app, number);
      const text = await redis.get(key);
      return text === null ? undefined : decodeStoredJson(previewStateSchema, key, text);
    },
    async put(state) {
      await redis.multi().set(keys.preview(state.app, state.number), JSON.stringify(state)).sadd(keys.previews(state.app), String(state.number)).exec();
    },
    async remove(app, number) {
      await redis.multi().del(keys.preview(app, number)).srem(keys.previews(app), String(number)).srem(keys.previewSlots(app), String(number)).exec();
    },
    async takeSlot(app, number, max) {
      return (await redis.eval(TAKE_SLOT, 1, keys.previewSlots(app), String(number), String(max))) === 1;
    },
    async freeSlot(app, number) {
      await redis.srem(keys.previewSlots(app), String(number));
    },
    async numbers(app) {
      return (await redis.smembers(keys.previews(app))).map(Number).filter((n) => Number.isInteger(n));
    },
    async list(app) {
      const states = await Promise.all((await store.numbers(app)).map((n) => store.get(app, n).catch(() => undefined)));
      return states.filter((s): s is PreviewState => s !== undefined).sort((a, b) => a.number - b.number);
    },
  };
  return store;
}
