import { Queue } from 'bullmq';
import type { Config } from '../config/schema.js';
import { readWebhookChecks } from '../hook-admin/stored-checks.js';
import { createMetrics, type Metrics } from '../metrics/families.js';
import { QUEUES } from '../queue/names.js';
import { createProducerConnection } from '../redis/connection.js';
import { createKeys } from '../store/keys.js';

/**
 * A process's metrics, with the gauges that read Redis at scrape time wired up: the depth of
 * every Landfall queue and the last webhook check per repository. Lives in runtime/ because it
 * is the one place that may know queues, stored checks and metric families together.
 */
export function createProcessMetrics(config: Config): { metrics: Metrics; close(): Promise<void> } {
  const redis = createProducerConnection(config.redis);
  redis.on('error', () => undefined);
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: redis, prefix: config.redis.prefix }));
  const metrics = createMetrics({
    async queues(gauge) {
      for (const queue of queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) gauge.set({ queue: queue.name, state }, n);
      }
    },
    async webhooks(gauge) {
      gauge.reset();
      for (const check of await readWebhookChecks(redis, createKeys(config.redis.prefix)))
        gauge.set({ forge: check.forge, repo: check.repo }, check.checked ? check.problems.length : -1);
    },
  });
  return {
    metrics,
    async close() {
      await Promise.allSettled(queues.map((q) => q.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
