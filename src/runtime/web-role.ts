import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAppIndex } from '../apps/match.js';
import type { Config } from '../config/schema.js';
import { buildApp } from '../http/app.js';
import { checkDeliveryHead, createDeliveryHandler, type DeliveryHead } from '../intake/handle.js';
import { createSpool, startSpoolReplayer, type Spool } from '../intake/spool.js';
import { createSignIn } from '../http/signin.js';
import { createView } from '../http/view.js';
import { readWebhookCheck } from '../hook-admin/stored-checks.js';
import type { Metrics } from '../metrics/families.js';
import { createIntake, jobDefaults, type Intake } from '../queue/producer.js';
import { createHistory } from '../store/history.js';
import { QUEUES } from '../queue/names.js';
import type { PlanJobData, SyncJobData } from '../model/jobs.js';
import { createProducerConnection } from '../redis/connection.js';
import { createPreviewStore } from '../previews/store.js';
import { createKeys } from '../store/keys.js';

/** The web role: the HTTP app and the Redis connection it writes events with. */
export interface WebRuntime {
  app: FastifyInstance;
  intake: Intake;
  redis: Redis;
  spool: Spool;
  /** Replays spooled deliveries now (tests; it also runs on its own). */
  drainSpool(): Promise<number>;
  /** The listeners besides `app` that the configuration asks for: `/hooks/*` alone, `/metrics` alone. */
  extra: { hooks?: FastifyInstance; metrics?: FastifyInstance };
  /** Listens on `server.port` and on every extra port; answers what listens where. */
  listen(): Promise<{ name: string; port: number }[]>;
  /** Stops accepting requests, lets in-flight ones finish, then closes Redis. */
  close(): Promise<void>;
}

/** Options for {@link createWebRuntime}; tests override the Redis connection. */
export interface WebRuntimeOptions {
  redis?: Redis;
  now?: () => number;
  metrics?: Metrics;
  /** In the `all` role: whether this process's workers run (part of readiness). */
  workersRunning?: () => boolean;
}

/** Wires the web role from a configuration. Nothing listens until the caller calls `app.listen`. */
export async function createWebRuntime(config: Config, log: Logger, options: WebRuntimeOptions = {}): Promise<WebRuntime> {
  const redis = options.redis ?? createProducerConnection(config.redis);
  // A Redis that is down at start-up must not crash the server: it answers 503 until Redis is back.
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const queueOptions = { connection: redis, prefix: config.redis.prefix };
  const syncQueue = new Queue<SyncJobData>(QUEUES.sync, queueOptions);
  const planQueue = new Queue<PlanJobData>(QUEUES.plan, queueOptions);
  const statusQueue = new Queue(QUEUES.status, queueOptions);
  const reconcileQueue = new Queue(QUEUES.reconcile, queueOptions);
  const previewQueue = new Queue(QUEUES.preview, queueOptions);
  const queues = [syncQueue, planQueue, statusQueue, reconcileQueue, previewQueue];
  for (const queue of queues) queue.on('error', (err) => log.warn({ err: err.message, queue: queue.name }, 'queue error'));
  const keys = createKeys(config.redis.prefix);
  const intake = createIntake({ redis, keys, syncQueue, planQueue, previewQueue, prefix: config.redis.prefix, jobDefaults: jobDefaults(config) });
  const spool = createSpool({ dir: config.server.spoolDir });
  const replayer = startSpoolReplayer({ spool, intake, log });
  // Replay as soon as Redis is back, not only on the timer.
  redis.on('ready', () => void replayer.drain().catch(() => undefined));
  const handleDelivery = createDeliveryHandler({
    config,
    apps: createAppIndex(config.apps),
    intake,
    log,
    spool,
    ...(options.now ? { now: options.now } : {}),
  });
  const view = createView({
    config,
    history: createHistory(redis, keys),
    syncQueue,
    planQueue,
    webhook: (app) => readWebhookCheck(redis, keys, app),
    previews: createPreviewStore(redis, keys),
  });
  const readiness = {
    redis: () => pingRedis(redis),
    ...(options.workersRunning ? { workers: () => Promise.resolve(options.workersRunning?.() ?? false) } : {}),
  };
  const hooks = {
    handleDelivery,
    checkHead: (head: DeliveryHead) => checkDeliveryHead(config, head),
    maxBodyBytes: config.server.maxBodyBytes,
    maxInFlightBytes: config.server.maxInFlightBytes,
  };
  const { hooksPort, metricsPort } = config.server;
  const app = await buildApp({
    log,
    readiness,
    limits: config.server,
    // With a listener of their own, webhooks and metrics leave the main port.
    ...(hooksPort === undefined ? { hooks } : {}),
    rateLimit: config.server.rateLimit,
    trustProxy: config.server.trustProxy,
    api: { config, view, intake },
    ...(config.server.auth.signIn ? { signIn: createSignIn({ config, redis, log }) } : {}),
    admin: { queues, apiTokens: config.server.apiTokens, writable: config.server.queueBoardWritable, publicUrl: config.server.publicUrl },
    ...(options.metrics ? { metrics: options.metrics, serveMetrics: metricsPort === undefined } : {}),
  });
  const extra: WebRuntime['extra'] = {};
  if (hooksPort !== undefined) {
    extra.hooks = await buildApp({
      log,
      readiness,
      limits: config.server,
      hooks,
      rateLimit: config.server.rateLimit,
      trustProxy: config.server.trustProxy,
      ...(options.metrics ? { metrics: options.metrics, serveMetrics: false } : {}),
    });
  }
  if (metricsPort !== undefined && options.metrics) {
    extra.metrics = await buildApp({ log, readiness, limits: config.server, metrics: options.metrics });
  }
  const apps = [app, extra.hooks, extra.metrics].filter((a): a is FastifyInstance => a !== undefined);
  return {
    app,
    intake,
    redis,
    spool,
    drainSpool: () => replayer.drain(),
    extra,
    async listen() {
      const host = config.server.host;
      const wanted: [string, FastifyInstance | undefined, number | undefined][] = [
        ['web', app, config.server.port],
        ['hooks', extra.hooks, hooksPort],
        ['metrics', extra.metrics, metricsPort],
      ];
      const bound: { name: string; port: number }[] = [];
      for (const [name, instance, port] of wanted) {
        if (!instance || port === undefined) continue;
        await instance.listen({ host, port });
        const address = instance.server.address();
        bound.push({ name, port: typeof address === 'object' && address ? address.port : port });
      }
      return bound;
    },
    async close() {
      await Promise.all(apps.map((a) => a.close()));
      await replayer.stop();
      await Promise.allSettled(queues.map((q) => q.close()));
      if (!options.redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Whether Redis answers now. */
export async function pingRedis(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  return (await redis.ping()) === 'PONG';
}
