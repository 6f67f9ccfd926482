import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createWebRuntime } from './web.js';

/** What a `landfall serve` process runs. */
export type Role = 'all' | 'web' | 'worker';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 25_000;

/**
 * Runs the given role until SIGTERM or SIGINT, then shuts down gracefully: stop accepting,
 * finish in-flight requests, close Redis. A second signal exits at once.
 */
export async function serve(config: Config, log: Logger, role: Role): Promise<void> {
  const closers: (() => Promise<void>)[] = [];
  if (role === 'all' || role === 'web') {
    const web = await createWebRuntime(config, log);
    await web.app.listen({ host: config.server.host, port: config.server.port });
    log.info({ host: config.server.host, port: config.server.port, apps: config.apps.length }, 'landfall web listening');
    closers.push(() => web.close());
  }
  if (role === 'all' || role === 'worker') {
    const { createWorkerRuntime } = await import('./worker.js');
    const workers = await createWorkerRuntime(config, log);
    log.info({ concurrency: config.worker.concurrency, apps: config.apps.length }, 'landfall workers running');
    closers.push(() => workers.close());
  }
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
    Promise.allSettled(closers.map((close) => close())).then(() => {
      log.info('stopped');
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
