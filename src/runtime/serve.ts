import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { buildApp } from '../http/app.js';
import { createProcessMetrics } from './process-metrics.js';
import { createProducerConnection } from '../redis/connection.js';
import { createWebRuntime, pingRedis } from './web-role.js';

/** What a `landfall serve` process runs. */
export type Role = 'all' | 'web' | 'worker';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 25_000;

/**
 * Runs the given role until SIGTERM or SIGINT, then shuts down gracefully: stop accepting,
 * finish in-flight requests and syncs, close Redis. A second signal exits at once. Every role
 * serves /healthz, /readyz and /metrics (the worker role on `worker.probePort`, /metrics of the others
 * on `server.metricsPort` when set); `web` and `all` also serve webhooks (on `server.hooksPort` when
 * set), the API and the dashboard.
 */
export async function serve(config: Config, log: Logger, role: Role): Promise<void> {
  const closers: (() => Promise<void>)[] = [];
  const processMetrics = createProcessMetrics(config);
  const { metrics } = processMetrics;
  let workersRunning: (() => boolean) | undefined;

  if (role === 'all' || role === 'worker') {
    const { createWorkerRuntime } = await import('./worker-role.js');
    const workers = await createWorkerRuntime(config, log, { metrics });
    workersRunning = () => workers.worker.isRunning() && workers.planWorker.isRunning();
    log.info({ concurrency: config.worker.concurrency, apps: config.apps.length }, 'landfall workers running');
    closers.push(() => workers.close());
  }
  if (role === 'all' || role === 'web') {
    const web = await createWebRuntime(config, log, { metrics, ...(workersRunning ? { workersRunning } : {}) });
    const bound = await web.listen();
    for (const { name, port } of bound.slice(1)) log.info({ host: config.server.host, port }, `landfall ${name} listening`);
    log.info({ host: config.server.host, port: bound[0]?.port, apps: config.apps.length }, 'landfall web listening');
    // Stop taking webhooks before the workers stop.
    closers.unshift(() => web.close());
  } else {
    // A worker alone still answers probes and scrapes.
    const redis = createProducerConnection(config.redis);
    redis.on('error', () => undefined);
    const app = await buildApp({
      log,
      metrics,
      limits: config.server,
      readiness: { redis: () => pingRedis(redis), workers: () => Promise.resolve(workersRunning?.() ?? false) },
    });
    // A port of its own: a web process with the same configuration may run beside it.
    await app.listen({ host: config.server.host, port: config.worker.probePort });
    log.info({ host: config.server.host, port: config.worker.probePort }, 'landfall worker probes listening');
    closers.unshift(async () => {
      await app.close();
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  closers.push(() => processMetrics.close());

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('graceful shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    void (async () => {
      for (const close of closers) await close().catch((err: Error) => log.warn({ err: err.message }, 'error while closing'));
      log.info('stopped');
      log.flush();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
