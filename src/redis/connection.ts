import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** How the process reaches Redis: one server (`url`), Sentinel, or Cluster. */
export interface RedisSettings {
  url: string;
  /** Sentinels to ask for the current master of `name`. */
  sentinels?: { host: string; port: number }[] | undefined;
  name?: string | undefined;
  sentinelPassword?: string | undefined;
  /** Seed nodes of a Redis Cluster. */
  cluster?: { host: string; port: number }[] | undefined;
  /** Password (and user) for Sentinel and Cluster nodes; a standalone URL carries its own. */
  password?: string | undefined;
  username?: string | undefined;
  tls?: boolean | undefined;
}

/** How long the web process waits for Redis before answering 503: well inside every forge's 10 s timeout. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2_000;

const reconnect = (attempt: number) => Math.min(attempt * 200, 2_000);

/**
 * Creates a connection for the configured topology. A Cluster is returned typed as a Redis: both
 * speak the same commands and events, and BullMQ accepts either. With a Cluster, every key must
 * share one hash slot, which is why the configuration insists on a `{hash-tag}` prefix.
 */
export function connect(settings: RedisSettings | string, options: RedisOptions): Redis {
  const s: RedisSettings = typeof settings === 'string' ? { url: settings } : settings;
  const auth = { ...(s.password ? { password: s.password } : {}), ...(s.username ? { username: s.username } : {}), ...(s.tls ? { tls: {} } : {}) };
  if (s.cluster?.length) {
    // Cast: a Cluster speaks the same commands and events as a Redis and BullMQ accepts either, but ioredis types them apart.
    return new Cluster(s.cluster, {
      redisOptions: { ...options, ...auth },
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      clusterRetryStrategy: reconnect,
      enableAutoPipelining: options.enableAutoPipelining ?? false,
    }) as unknown as Redis;
  }
  if (s.sentinels?.length) {
    return new Redis({
      ...options,
      ...auth,
      sentinels: s.sentinels,
      name: s.name ?? 'mymaster',
      ...(s.sentinelPassword ? { sentinelPassword: s.sentinelPassword } : {}),
      sentinelRetryStrategy: reconnect,
    });
  }
  return new Redis(s.url, options);
}

/**
 * The connection the web process writes events with. It fails fast: no offline queue, one retry,
 * a command timeout. A webhook must get a 503 or be spooled rather than hang until the forge
 * gives up. Auto-pipelining sends the commands of concurrent deliveries in one write.
 */
export function createProducerConnection(settings: RedisSettings | string, extra: RedisOptions = {}): Redis {
  return connect(settings, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    retryStrategy: reconnect,
    ...extra,
  });
}

/**
 * A connection for BullMQ workers and other long-lived consumers: commands wait across Redis
 * restarts instead of failing, as BullMQ requires for its blocking calls.
 */
export function createWorkerConnection(settings: RedisSettings | string, extra: RedisOptions = {}): Redis {
  return connect(settings, { maxRetriesPerRequest: null, retryStrategy: reconnect, ...extra });
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
