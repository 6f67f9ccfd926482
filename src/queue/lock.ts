import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** A held lock; `lost` aborts when a renewal finds it taken or expired. */
export interface HeldLock {
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * A Redis lock with a time-to-live, renewed while held: a worker that dies (even with SIGKILL)
 * holds it at most `ttlMs` longer. Only the holder's token can renew or release it.
 */
export async function tryLock(redis: Redis, key: string, ttlMs: number): Promise<HeldLock | undefined> {
  const token = randomUUID();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return undefined;
  const controller = new AbortController();
  const timer = setInterval(
    () => {
      redis.eval(RENEW, 1, key, token, String(ttlMs)).then(
        (renewed) => {
          if (renewed !== 1) controller.abort(new Error(`lock ${key} was lost`));
        },
        () => undefined, // Redis hiccup: try again next tick; the TTL covers two more attempts.
      );
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    lost: controller.signal,
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    },
  };
}
