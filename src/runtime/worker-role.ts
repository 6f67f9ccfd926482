import { Queue, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { KubeClient } from '../kube/client.js';
import { createForgeApis } from '../forges/api-clients.js';
import type { Metrics } from '../metrics/families.js';
import { createNotifier } from '../notify.js';
import { createIntake, jobDefaults } from '../queue/producer.js';
import { QUEUES } from '../queue/names.js';
import { createPlanWorker } from '../queue/plan-jobs.js';
import { createPreviewWorker, schedulePreviewSweep } from '../previews/worker.js';
import { createPreviewStore } from '../previews/store.js';
import { createReconcileWorker, scheduleReconciles, scheduleWebhookChecks } from '../queue/reconcile.js';
import { runWebhookCheck } from '../hook-admin/monitor.js';
import { combineListeners, createPlanEventsListener, createSyncEventsListener } from './sync-events.js';
import { createSyncWorker } from '../queue/sync-jobs.js';
import { startStatusDispatcher } from '../status/dispatcher.js';
import { createPlanListener, createSyncStatusListener } from '../status/listeners.js';
import { createStatusReporter } from '../status/reporter.js';
import { createStatusWorker } from '../status/worker.js';
import { createWorkerConnection } from '../redis/connection.js';
import { createHistory } from '../store/history.js';
import { createKeys } from '../store/keys.js';
import { decryptRoot, removeLeftoverDirs } from '../decrypt/workdir.js';
import { syncKitFromConfig } from '../sync/from-config.js';

/** The worker role: BullMQ workers with everything a sync needs. */
export interface WorkerRuntime {
  worker: Worker;
  planWorker: Worker;
  previewWorker: Worker;
  statusWorker: Worker;
  reconcileWorker: Worker;
  /** Clients per cluster name, created on first use. */
  kube(cluster: string): Promise<KubeClient>;
  close(): Promise<void>;
}

/** Overrides for tests: an existing Kubernetes client per cluster. */
export interface WorkerRuntimeOptions {
  kubeClient?: (cluster: string) => Promise<KubeClient>;
  metrics?: Metrics;
  /** How long a sync joined by several pushes waits for its branch to be still, and at most (see createSyncWorker). */
  settle?: { settleMs: number; maxSettleMs: number };
}

/** Wires the worker role from a configuration; the workers start consuming at once. */
export async function createWorkerRuntime(config: Config, log: Logger, options: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
  const connection = createWorkerConnection(config.redis);
  const redis = createWorkerConnection(config.redis);
  for (const c of [connection, redis]) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const keys = createKeys(config.redis.prefix);
  const history = createHistory(redis, keys);
  const kit = syncKitFromConfig(config, options.kubeClient ? { kubeClient: options.kubeClient } : {});
  const { git, tools, limits, decryption } = kit;
  const kube = (cluster: string) => kit.kube(cluster);
  // Crash recovery: decrypted files a killed worker left behind go before any render starts.
  const leftovers = await removeLeftoverDirs(decryptRoot());
  if (leftovers > 0) log.warn({ removed: leftovers }, 'removed decrypted working directories left by a stopped worker');
  const apis = createForgeApis(config.forges);
  const statusQueue = new Queue(QUEUES.status, { connection: redis, prefix: config.redis.prefix });
  const reporter = createStatusReporter({ redis, keys, queue: statusQueue });
  const statusConnection = createWorkerConnection(config.redis);
  const metrics = options.metrics;
  const statusWorker = createStatusWorker({
    connection: statusConnection,
    redis,
    keys,
    prefix: config.redis.prefix,
    apis,
    history,
    log,
    config,
    ...(metrics
      ? {
          counters: {
            posted: (forge: string) => metrics.statusReports.inc({ forge, result: 'posted' }),
            failed: (forge: string) => metrics.statusReports.inc({ forge, result: 'failed' }),
          },
        }
      : {}),
  });
  const notifier = createNotifier(config, statusQueue);
  const dispatcher = startStatusDispatcher({ redis, keys, config, reporter, history, log });
  const worker = createSyncWorker({
    config,
    connection,
    redis,
    keys,
    history,
    log,
    concurrency: config.worker.concurrency,
    lockMs: config.worker.lockTimeout,
    ...(options.settle ?? {}),
    sync: {
      git,
      tools,
      limits,
      kube,
      decryption,
      applyConcurrency: config.worker.applyConcurrency,
      verified: history.verified,
      listener: combineListeners(
        log,
        createSyncStatusListener({ config, reporter, log }),
        createSyncEventsListener({ config, history, log, notifier, ...(metrics ? { metrics } : {}) }),
      ),
    },
  });
  const planConnection = createWorkerConnection(config.redis);
  const planWorker = createPlanWorker({
    config,
    connection: planConnection,
    redis,
    keys,
    history,
    log,
    concurrency: Math.max(1, Math.floor(config.worker.concurrency / 2)),
    plan: {
      git,
      tools,
      limits,
      kube,
      decryption,
      applyConcurrency: config.worker.applyConcurrency,
      verified: history.verified,
      listener: combineListeners(log, createPlanListener({ config, reporter, log }), createPlanEventsListener(metrics)),
      resolveSha: async (app, shortSha) => apis.get(app.forge)?.resolveSha?.(app.repo, shortSha),
    },
  });
  // Reconcile: job schedulers per app, and the worker that checks head, drift and health.
  const reconcileConnection = createWorkerConnection(config.redis);
  const reconcileQueue = new Queue(QUEUES.reconcile, { connection: redis, prefix: config.redis.prefix });
  const syncQueue = new Queue(QUEUES.sync, { connection: redis, prefix: config.redis.prefix });
  const planQueue = new Queue(QUEUES.plan, { connection: redis, prefix: config.redis.prefix });
  // The webhook check needs a forge API; without any token there is nothing it could ask.
  const webhookInterval = apis.size > 0 ? config.worker.webhookCheckInterval : 'off';
  const schedule = async () => {
    await scheduleReconciles(reconcileQueue, config.apps);
    await scheduleWebhookChecks(reconcileQueue, webhookInterval);
  };
  await schedule();
  // A Redis that restarted without its data lost the schedulers: put them back on reconnect.
  redis.on('ready', () => void schedule().catch((err: Error) => log.warn({ err: err.message }, 'reconcile schedules not restored')));
  const previewQueue = new Queue(QUEUES.preview, { connection: redis, prefix: config.redis.prefix });
  const previewStore = createPreviewStore(redis, keys);
  const previewConnection = createWorkerConnection(config.redis);
  const previewWorker = createPreviewWorker({
    config,
    connection: previewConnection,
    redis,
    keys,
    log,
    queue: previewQueue,
    concurrency: Math.max(1, Math.floor(config.worker.concurrency / 2)),
    lockMs: config.worker.lockTimeout,
    preview: {
      config,
      store: previewStore,
      apis,
      reporter,
      log,
      sync: { git, tools, limits, kube, decryption, forges: config.forges, applyConcurrency: config.worker.applyConcurrency, history, log },
    },
    sweep: { config, store: previewStore, apis, kube, log },
  });
  await schedulePreviewSweep(previewQueue, config);
  const intake = createIntake({ redis, keys, syncQueue, planQueue, previewQueue, prefix: config.redis.prefix, jobDefaults: jobDefaults(config) });
  const reconcileWorker = createReconcileWorker({
    config,
    connection: reconcileConnection,
    history,
    intake,
    drift: { git, tools, limits, decryption, forges: config.forges, kube, log, applyConcurrency: config.worker.applyConcurrency, verified: history.verified },
    log,
    notifier,
    ...(metrics ? { metrics } : {}),
    async webhookCheck() {
      const { checks, redelivered, recovered } = await runWebhookCheck({ config, apis, redis, keys, log, intake, ...(metrics ? { metrics } : {}) });
      const bad = checks.filter((c) => !c.ok).length;
      const reenabled = recovered.filter((r) => r.reenabled).length;
      return `${checks.length} repositories checked, ${bad} with problems, ${redelivered.length} deliveries redelivered, ${reenabled} disabled hooks re-enabled`;
    },
  });
  return {
    worker,
    planWorker,
    previewWorker,
    statusWorker,
    reconcileWorker,
    kube,
    async close() {
      // Let running syncs finish; the grace timer of `serve` bounds how long.
      await Promise.allSettled([worker.close(), planWorker.close(), previewWorker.close(), statusWorker.close(), reconcileWorker.close(), dispatcher.stop()]);
      await Promise.allSettled([statusQueue.close(), reconcileQueue.close(), syncQueue.close(), planQueue.close(), previewQueue.close()]);
      await kit.close();
      await Promise.allSettled([connection, planConnection, previewConnection, statusConnection, reconcileConnection, redis].map((c) => c.quit()));
    },
  };
}
