import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
 * Creates the metric families Landfall exports at /metrics, plus the process defaults. A leaf:
 * it imports nothing of Landfall, so any layer can count into it; the gauges that read Redis get
 * their readers from `collect` (the runtime wires them up, see runtime/process-metrics.ts).
 */
export function createMetrics(collect: MetricCollectors = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({
      name: 'landfall_webhooks_total',
      help: 'Webhook deliveries by forge and outcome (accepted, ignored:<reason>, or the error).',
      labelNames: ['forge', 'outcome'],
      registers: [registry],
    }),
    webhookSeconds: new Histogram({
      name: 'landfall_webhook_duration_seconds',
      help: 'Time to verify, parse and durably enqueue a webhook delivery.',
      labelNames: ['forge'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      registers: [registry],
    }),
    webhookBytesInFlight: new Gauge({
      name: 'landfall_webhook_bytes_in_flight',
      help: 'Webhook body bytes held by this process now; at server.maxInFlightBytes deliveries are answered 503.',
      registers: [registry],
    }),
    syncs: new Counter({
      name: 'landfall_syncs_total',
      help: 'Finished syncs by app, result and trigger.',
      labelNames: ['app', 'result', 'trigger'],
      registers: [registry],
    }),
    syncPhaseSeconds: new Histogram({
      name: 'landfall_sync_phase_duration_seconds',
      help: 'Duration of each sync phase.',
      labelNames: ['app', 'phase'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    plans: new Counter({
      name: 'landfall_plans_total',
      help: 'Finished pull-request plans by app and result.',
      labelNames: ['app', 'result'],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'landfall_queue_jobs',
      help: 'Jobs per queue and state.',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        if (collect.queues) await collect.queues(this).catch(() => undefined);
      },
    }),
    driftedObjects: new Gauge({
      name: 'landfall_drifted_objects',
      help: 'Objects whose live state differs from Git, per app, at the last drift check.',
      labelNames: ['app'],
      registers: [registry],
    }),
    statusReports: new Counter({
      name: 'landfall_status_reports_total',
      help: 'Commit status and comment posts by forge and result (posted, failed).',
      labelNames: ['forge', 'result'],
      registers: [registry],
    }),
    webhookProblems: new Gauge({
      name: 'landfall_webhook_problems',
      help: 'Problems the last webhook check found per repository (missing or disabled hook, wrong URL or events, failed deliveries); 0 is healthy, -1 could not be checked.',
      labelNames: ['forge', 'repo'],
      registers: [registry],
      async collect() {
        if (collect.webhooks) await collect.webhooks(this).catch(() => undefined);
      },
    }),
    webhookRedeliveries: new Counter({
      name: 'landfall_webhook_redeliveries_total',
      help: 'Failed deliveries Landfall asked the forge to send again, by result (requested, failed).',
      labelNames: ['forge', 'result'],
      registers: [registry],
    }),
  };
}
