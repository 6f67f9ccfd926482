import { Redis, type RedisOptions } from 'ioredis';

/** How long the web process waits for Redis before answering 503: well inside every forge's 10 s timeout. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2_000;

/**
 * The connection the web process writes events with. It fails fast: no offline queue, one retry,
 * a command timeout. A webhook must get a 503 (so the forge can redeliver) rather than hang until
 * the forge gives up. Auto-pipelining sends the commands of concurrent deliveries in one write.
 */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    // Keep reconnecting in the background, never faster than every 2 s.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...extra,
  });
}

/**
 * A connection for BullMQ workers and other long-lived consumers: commands wait across Redis
 * restarts instead of failing, as BullMQ requires for its blocking calls.
 */
export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...extra,
  });
}

/**
 * Resolves once the connection is ready, waiting at most `timeoutMs` for a (re)connect in
 * progress. Lets a producer ride out a Redis restart of a second or two instead of failing,
 * while still failing well inside a forge's delivery timeout when Redis stays away.
 */
export async function whenReady(redis: Redis, timeoutMs = PRODUCER_COMMAND_TIMEOUT_MS): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'end') throw new Error('the Redis connection was closed');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not reachable within ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
