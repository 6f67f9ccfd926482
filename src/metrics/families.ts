import { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/schema.js';
import { QUEUES } from '../model/jobs.js';
import { RECONCILE_QUEUE } from '../queue/reconcile.js';
import { createProducerConnection } from '../redis/connection.js';
import { STATUS_QUEUE } from '../status/reporter.js';
import { readWebhookChecks } from '../hook-admin/monitor.js';
import { createKeys } from '../store/keys.js';

/** The metrics of one process, on its own registry (nothing global, so tests can run many). */
export interface Metrics {
  registry: Registry;
  webhooks: Counter<'forge' | 'outcome'>;
  webhookSeconds: Histogram<'forge'>;
  /** Webhook body bytes the process holds now (server.maxInFlightBytes bounds it). */
  webhookBytesInFlight: Gauge;
  syncs: Counter<'app' | 'result' | 'trigger'>;
  syncPhaseSeconds: Histogram<'app' | 'phase'>;
  plans: Counter<'app' | 'result'>;
  queueJobs: Gauge<'queue' | 'state'>;
  driftedObjects: Gauge<'app'>;
  statusReports: Counter<'forge' | 'result'>;
  webhookProblems: Gauge<'forge' | 'repo'>;
  webhookRedeliveries: Counter<'forge' | 'result'>;
}

/** Readers that fill gauges from Redis when Prometheus scrapes, so every process reports the same. */
export interface MetricCollectors {
  queues?(gauge: Gauge<'queue' | 'state'>): Promise<void>;
  webhooks?(gauge: Gauge<'forge' | 'repo'>): Promise<void>;
}

/**
 * Creates the metric families Landfall exports at /metrics, plus the process defaults.
 * `collectQueues` fills the queue-depth gauge when Prometheus scrapes.
 */
export function createMetrics(collect: MetricCollectors = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'landfall_webhooks_total', help: 'Webhook deliveries by forge and outcome (accepted, ignored:<reason>, or the error).', labelNames: ['forge', 'outcome'], registers: [registry] }),
    webhookSeconds: new Histogram({
      name: 'landfall_webhook_duration_seconds',
      help: 'Time to verify, parse and durably enqueue a webhook delivery.',
      labelNames: ['forge'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      registers: [registry],
    }),
    webhookBytesInFlight: new Gauge({ name: 'landfall_webhook_bytes_in_flight', help: 'Webhook body bytes held by this process now; at server.maxInFlightBytes deliveries are answered 503.', registers: [registry] }),
    syncs: new Counter({ name: 'landfall_syncs_total', help: 'Finished syncs by app, result and trigger.', labelNames: ['app', 'result', 'trigger'], registers: [registry] }),
    syncPhaseSeconds: new Histogram({
      name: 'landfall_sync_phase_duration_seconds',
      help: 'Duration of each sync phase.',
      labelNames: ['app', 'phase'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    plans: new Counter({ name: 'landfall_plans_total', help: 'Finished pull-request plans by app and result.', labelNames: ['app', 'result'], registers: [registry] }),
    queueJobs: new Gauge({
      name: 'landfall_queue_jobs',
      help: 'Jobs per queue and state.',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        if (collect.queues) await collect.queues(this).catch(() => undefined);
      },
    }),
    driftedObjects: new Gauge({ name: 'landfall_drifted_objects', help: 'Objects whose live state differs from Git, per app, at the last drift check.', labelNames: ['app'], registers: [registry] }),
    statusReports: new Counter({ name: 'landfall_status_reports_total', help: 'Commit status and comment posts by forge and result (posted, failed).', labelNames: ['forge', 'result'], registers: [registry] }),
    webhookProblems: new Gauge({
      name: 'landfall_webhook_problems',
      help: "Problems the last webhook check found per repository (missing or disabled hook, wrong URL or events, failed deliveries); 0 is healthy, -1 could not be checked.",
      labelNames: ['forge', 'repo'],
      registers: [registry],
      async collect() {
        if (collect.webhooks) await collect.webhooks(this).catch(() => undefined);
      },
    }),
    webhookRedeliveries: new Counter({ name: 'landfall_webhook_redeliveries_total', help: 'Failed deliveries Landfall asked the forge to send again, by result (requested, failed).', labelNames: ['forge', 'result'], registers: [registry] }),
  };
}

/** A process's metrics, with the queue-depth gauge reading every Landfall queue at scrape time. */
export function createProcessMetrics(config: Config): { metrics: Metrics; close(): Promise<void> } {
  const redis = createProducerConnection(config.redis);
  redis.on('error', () => undefined);
  const queues = [QUEUES.sync, QUEUES.plan, STATUS_QUEUE, RECONCILE_QUEUE].map((name) => new Queue(name, { connection: redis, prefix: config.redis.prefix }));
  const metrics = createMetrics({
    async queues(gauge) {
      for (const queue of queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) gauge.set({ queue: queue.name, state }, n);
      }
    },
    async webhooks(gauge) {
      gauge.reset();
      for (const check of await readWebhookChecks(redis, createKeys(config.redis.prefix))) gauge.set({ forge: check.forge, repo: check.repo }, check.checked ? check.problems.length : -1);
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
