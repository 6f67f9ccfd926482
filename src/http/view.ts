import { z } from 'zod';
import type { StoredWebhookCheck } from '../hook-admin/stored-checks.js';
import type { Queue } from 'bullmq';
import type { AppConfig, Config } from '../config/schema.js';
import { commitUrl } from '../forges/links.js';
import { failureReason } from '../status/wording.js';
import type { History } from '../store/history.js';
import type { DriftState, SyncRecord } from '../model/records.js';
import type { PlanJobData, SyncJobData } from '../model/jobs.js';
import type { PreviewState, PreviewStore } from '../previews/store.js';

/** At a glance, where an app stands. */
export const APP_STATUSES = ['synced', 'progressing', 'out-of-sync', 'drifted', 'degraded', 'failed', 'not-deployed'] as const;

/** One of {@link APP_STATUSES}. */
export type AppStatus = (typeof APP_STATUSES)[number];

/** What the dashboard and `/api/apps` show for one app. */
export const appSummarySchema = z.object({
  name: z.string(),
  forge: z.string(),
  repo: z.string(),
  branch: z.string(),
  path: z.string(),
  cluster: z.string(),
  namespace: z.string(),
  status: z.enum(APP_STATUSES),
  /** Why the status is what it is, in words. */
  reason: z.string(),
  deployedSha: z.string().optional(),
  deployedAt: z.number().optional(),
  deployedUrl: z.string().optional(),
  headSha: z.string().optional(),
  lastSync: z
    .object({
      id: z.string(),
      result: z.string(),
      trigger: z.string(),
      sha: z.string().optional(),
      startedAt: z.number().optional(),
      finishedAt: z.number().optional(),
      error: z.string().optional(),
    })
    .optional(),
  drift: z.object({ count: z.number(), checkedAt: z.number().optional(), healedAt: z.number().optional(), healedBy: z.string().optional() }),
  health: z.object({ total: z.number(), current: z.number(), failing: z.number() }),
  selfHeal: z.boolean(),
  prune: z.boolean(),
});

/** What the dashboard and `/api/apps` show for one app. */
export type AppSummary = z.infer<typeof appSummarySchema>;

/** A sync or plan that is still waiting in the queue (no record yet). */
export interface QueuedJob {
  id: string;
  app: string;
  kind: 'sync' | 'plan';
  sha: string;
  state: string;
  createdAt: number;
}

/** Reads what Landfall knows into the shapes the API and the dashboard show. */
export function createView(deps: {
  config: Config;
  history: History;
  syncQueue: Queue<SyncJobData>;
  planQueue: Queue<PlanJobData>;
  webhook?: (app: AppConfig) => Promise<StoredWebhookCheck | undefined>;
  /** Where previews are kept (src/previews/store.ts). */
  previews?: PreviewStore;
}) {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));

  function status(
    app: AppConfig,
    lastSync: SyncRecord | undefined,
    deployedSha: string | undefined,
    drift: DriftState | undefined,
    running: boolean,
  ): [AppStatus, string] {
    const failingHealth = drift?.health.filter((h) => h.status === 'Failed' || h.status === 'NotFound') ?? [];
    if (running || lastSync?.result === 'running' || lastSync?.result === 'queued') return ['progressing', 'a sync is running or queued'];
    if (lastSync?.result === 'failed') return ['failed', lastSync.error ? failureReason(lastSync.error.message) : 'the last sync failed'];
    if (!deployedSha) return ['not-deployed', 'nothing has been deployed yet'];
    if (failingHealth.length > 0)
      return [
        'degraded',
        `${failingHealth.length} object(s) unhealthy: ${failingHealth
          .slice(0, 3)
          .map((h) => `${h.kind}/${h.name} ${h.reason}`)
          .join(', ')}`,
      ];
    if (drift && drift.drift.length > 0) return ['drifted', `${drift.drift.length} object(s) differ from Git${app.selfHeal ? ' (healing)' : ''}`];
    if (drift?.headSha && drift.headSha !== deployedSha)
      return ['out-of-sync', `branch ${app.branch} is at ${drift.headSha.slice(0, 7)}, ${deployedSha.slice(0, 7)} is deployed`];
    return ['synced', `${deployedSha.slice(0, 7)} is deployed and matches the cluster`];
  }

  async function queued(app: string): Promise<QueuedJob[]> {
    const jobs = [
      ...(await deps.syncQueue.getJobs(['waiting', 'delayed', 'active', 'prioritized'], 0, 200)),
      ...(await deps.planQueue.getJobs(['waiting', 'delayed', 'active', 'prioritized'], 0, 200)),
    ];
    const out: QueuedJob[] = [];
    for (const job of jobs) {
      if (!job || job.data?.app !== app) continue;
      const data: Partial<SyncJobData & PlanJobData> = job.data;
      out.push({
        id: String(job.id),
        app,
        kind: job.name === 'plan' ? 'plan' : 'sync',
        sha: data.sha ?? data.headSha ?? '',
        state: String(await job.getState()),
        createdAt: job.timestamp,
      });
    }
    return out;
  }

  async function summary(app: AppConfig): Promise<AppSummary> {
    const [state, drift, recent, pending] = await Promise.all([
      deps.history.appState(app.name),
      deps.history.drift(app.name),
      deps.history.list(app.name, 1),
      queued(app.name),
    ]);
    const last = recent[0];
    const [appStatus, reason] = status(
      app,
      last,
      state.deployedSha,
      drift,
      pending.some((j) => j.kind === 'sync' && j.state === 'active'),
    );
    const deployedUrl = state.deployedSha ? commitUrl(app, deps.config.forges, state.deployedSha) : undefined;
    return {
      name: app.name,
      forge: app.forge,
      repo: app.repo,
      branch: app.branch,
      path: app.path,
      cluster: app.cluster,
      namespace: app.namespace,
      status: appStatus,
      reason,
      ...(state.deployedSha ? { deployedSha: state.deployedSha } : {}),
      ...(state.deployedAt ? { deployedAt: state.deployedAt } : {}),
      ...(deployedUrl ? { deployedUrl } : {}),
      ...(drift?.headSha ? { headSha: drift.headSha } : {}),
      ...(last
        ? {
            lastSync: {
              id: last.id,
              result: last.result,
              trigger: last.trigger,
              ...(last.sha ? { sha: last.sha } : {}),
              ...(last.startedAt ? { startedAt: last.startedAt } : {}),
              ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
              ...(last.error ? { error: last.error.message } : {}),
            },
          }
        : {}),
      drift: {
        count: drift?.drift.length ?? 0,
        ...(drift?.checkedAt ? { checkedAt: drift.checkedAt } : {}),
        ...(drift?.healedAt ? { healedAt: drift.healedAt } : {}),
        ...(drift?.healedBy ? { healedBy: drift.healedBy } : {}),
      },
      health: {
        total: drift?.health.length ?? last?.health.length ?? 0,
        current: (drift?.health ?? last?.health ?? []).filter((h) => h.status === 'Current').length,
        failing: (drift?.health ?? []).filter((h) => h.status === 'Failed' || h.status === 'NotFound').length,
      },
      selfHeal: app.selfHeal,
      prune: app.prune,
    };
  }

  return {
    app: (name: string) => apps.get(name),
    apps: () => Promise.all(deps.config.apps.map(summary)),
    summary,
    drift: (name: string) => deps.history.drift(name),
    /** The last webhook check of the app's repository, if one ran. */
    webhook: async (app: AppConfig) => (deps.webhook ? deps.webhook(app) : undefined),
    syncs: (name: string, limit: number) => deps.history.list(name, limit),
    plans: (name: string, limit: number) => deps.history.list(name, limit, 'plan'),
    queued,
    /** The app's pull-request previews, by number. */
    previews: async (app: AppConfig): Promise<PreviewState[]> => (app.previews && deps.previews ? deps.previews.list(app.name) : []),
    /** A record, or a queued job that has none yet. */
    async sync(id: string): Promise<SyncRecord | undefined> {
      const record = await deps.history.get(id);
      if (record) return record;
      const job = (await deps.syncQueue.getJob(id)) ?? (await deps.planQueue.getJob(id));
      if (!job?.data?.app) return undefined;
      // Either job's data, its fields read by name as before (a plan's trigger is always 'push').
      const data: Partial<SyncJobData & PlanJobData> & { app: string } = job.data;
      const app = apps.get(data.app);
      const plan = job.name === 'plan';
      return {
        id,
        kind: plan ? 'plan' : 'sync',
        app: data.app,
        trigger: plan ? 'push' : (data.trigger ?? 'push'),
        jobId: id,
        requestedSha: data.sha ?? data.headSha ?? '',
        covered: [],
        cluster: app?.cluster ?? '',
        namespace: app?.namespace ?? '',
        result: 'queued',
        phases: [],
        changes: [],
        health: [],
        log: [
          {
            at: job.timestamp,
            level: 'info',
            msg: `queued; ${(await job.getState()) === 'delayed' ? "waiting for the app's running sync to finish" : 'waiting for a worker'}`,
          },
        ],
        attempt: 0,
        createdAt: job.timestamp,
        ...(plan ? { pullRequest: { number: data.number ?? 0, headBranch: data.headBranch ?? '', baseBranch: data.baseBranch ?? '' } } : {}),
      };
    },
  };
}

/** The view's type. */
export type View = ReturnType<typeof createView>;
