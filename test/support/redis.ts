import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis every dev and CI machine runs. */
export const REDIS_URL = process.env.LANDFALL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * A unique key prefix on the shared Redis for one test, and a client; every key under the
 * prefix is deleted when the test ends, so test files run in parallel without meeting.
 */
export async function redisForTest(t: Teardown, label = 't'): Promise<{ url: string; prefix: string; redis: Redis }> {
  const prefix = `lf-test-${label}-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  t.teardown(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });
  return { url: REDIS_URL, prefix, redis };
}

/** Deletes every key starting with `prefix:`. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
