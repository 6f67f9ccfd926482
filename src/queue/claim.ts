import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Keys } from '../store/keys.js';

/**
 * Atomically, when this job is the app's pending one: bump the generation (so pushes from now on
 * queue a new job) and take the commits announced while it waited. A retried job finds the
 * generation already moved and takes nothing, leaving those commits to the next job.
 */
const CLAIM = `
local gen = tonumber(redis.call('get', KEYS[1]) or '0')
if gen ~= tonumber(ARGV[1]) then return false end
redis.call('set', KEYS[1], gen + 1)
local shas = redis.call('lrange', KEYS[2], 0, -1)
redis.call('del', KEYS[2])
return shas
`;

/** What CLAIM answers: the commits, or nil (false in Lua) when the generation moved on. */
const claimReply = z.array(z.string()).nullable();

/** Claims a sync job's generation; returns the covered commits, or undefined if already claimed. */
export async function claimGeneration(redis: Redis, keys: Keys, app: string, generation: number): Promise<string[] | undefined> {
  const result = claimReply.parse(await redis.eval(CLAIM, 2, keys.syncGeneration(app), keys.queuedShas(app), String(generation)));
  return result ?? undefined;
}
