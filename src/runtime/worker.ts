import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createKubeClient, type KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { createSyncWorker } from '../queue/worker.js';
import { createWorkerConnection } from '../redis/connection.js';
import { createHistory } from '../store/history.js';
import { createKeys } from '../store/keys.js';
import { createGit } from '../sync/checkout.js';
import type { SyncListener } from '../sync/pipeline.js';
import { findTools } from '../sync/tools.js';

/** The worker role: BullMQ workers with everything a sync needs. */
export interface WorkerRuntime {
  worker: Worker;
  /** Clients per cluster name, created on first use. */
  kube(cluster: string): Promise<KubeClient>;
  close(): Promise<void>;
}

/** Overrides for tests: an existing KubeConfig per cluster, or Redis connections. */
export interface WorkerRuntimeOptions {
  kubeClient?: (cluster: string) => Promise<KubeClient>;
  listener?: SyncListener;
}

/** Wires the worker role from a configuration; the workers start consuming at once. */
export async function createWorkerRuntime(config: Config, log: Logger, options: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
  const connection = createWorkerConnection(config.redis.url);
  const redis = createWorkerConnection(config.redis.url);
  for (const c of [connection, redis]) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const keys = createKeys(config.redis.prefix);
  const history = createHistory(redis, keys);
  const clients = new Map<string, Promise<KubeClient>>();
  const kube =
    options.kubeClient ??
    ((cluster: string) => {
      let client = clients.get(cluster);
      if (!client) {
        const settings = config.clusters[cluster];
        if (!settings) return Promise.reject(new Error(`cluster "${cluster}" is not configured`));
        client = Promise.resolve().then(() => createKubeClient(loadKubeConfig(settings)));
        client.catch(() => clients.delete(cluster));
        clients.set(cluster, client);
      }
      return client;
    });
  const worker = createSyncWorker({
    config,
    connection,
    redis,
    keys,
    history,
    log,
    concurrency: config.worker.concurrency,
    lockMs: config.worker.lockTimeout,
    sync: {
      git: createGit({ dataDir: config.worker.dataDir, timeoutMs: config.worker.gitTimeout }),
      tools: findTools(config.worker),
      limits: { maxObjects: config.worker.maxObjects, maxBytes: config.worker.maxManifestBytes, timeoutMs: config.worker.renderTimeout },
      kube,
      applyConcurrency: config.worker.applyConcurrency,
      ...(options.listener ? { listener: options.listener } : {}),
    },
  });
  return {
    worker,
    kube,
    async close() {
      // Let running syncs finish; the grace timer of `serve` bounds how long.
      await worker.close();
      for (const client of clients.values()) await client.then((c) => c.close(), () => undefined);
      await Promise.allSettled([connection.quit(), redis.quit()]);
    },
  };
}
