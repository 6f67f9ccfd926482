/**
 * The preview sweep: compares each app's open pull requests with its live previews (in Redis and
 * on the cluster, by label) and queues a look at every difference: an orphan to tear down, an
 * expired or idle preview, an open pull request whose webhook never came. It never deletes
 * anything itself, and does nothing for an app whose forge could not list pull requests: the
 * jobs it queues ask the forge again before they remove anything.
 */
import type { Logger } from 'pino';
import type { AppConfig, Config, ForgeId } from '../config/schema.js';
import type { ForgeApi, OpenPullRequest } from '../forges/forge-api.js';
import type { KubeClient } from '../kube/client.js';
import type { PreviewJobData } from '../model/jobs.js';
import { errorMessage } from '../unknown.js';
import { PULL_REQUEST_LABEL } from '../model/labels.js';
import { previewSelector } from './scaffold.js';
import type { PreviewStore } from './store.js';

/** What the sweep needs. */
export interface SweepDeps {
  config: Config;
  store: PreviewStore;
  apis: Map<ForgeId, ForgeApi>;
  kube(cluster: string): Promise<KubeClient>;
  queue(data: Omit<PreviewJobData, 'seq'>): Promise<void>;
  log: Logger;
  now?: () => number;
}

/** One app's sweep, for logs and tests. */
export interface SweepReport {
  app: string;
  /** Set when the forge could not list pull requests: nothing was queued for this app. */
  error?: string;
  looked: number[];
  /** Idle previews whose jobs were asked to scale them to zero. */
  slept: number[];
}

/** Sweeps every app with previews. */
export async function sweepPreviews(deps: SweepDeps): Promise<SweepReport[]> {
  const reports: SweepReport[] = [];
  for (const app of deps.config.apps) {
    if (!app.previews) continue;
    reports.push(await sweepApp(deps, app).catch((err: unknown) => ({ app: app.name, error: errorMessage(err), looked: [], slept: [] })));
  }
  return reports;
}

async function sweepApp(deps: SweepDeps, app: AppConfig): Promise<SweepReport> {
  const settings = app.previews;
  const report: SweepReport = { app: app.name, looked: [], slept: [] };
  if (!settings) return report;
  const now = deps.now ?? Date.now;
  const api = deps.apis.get(app.forge);
  if (!api?.openPullRequests) return { ...report, error: `forges.${app.forge} has no API token: open pull requests cannot be listed` };
  let open: OpenPullRequest[];
  try {
    open = await api.openPullRequests(app.repo, app.branch);
  } catch (err) {
    deps.log.warn({ app: app.name, err: errorMessage(err) }, 'preview sweep: open pull requests could not be listed; nothing is removed');
    return { ...report, error: errorMessage(err) };
  }
  const byNumber = new Map(open.map((pr) => [pr.number, pr]));
  const stored = new Map((await deps.store.list(app.name)).map((s) => [s.number, s]));
  const onCluster = await previewNamespaces(deps, app);
  const look = async (number: number) => {
    report.looked.push(number);
    const pr = byNumber.get(number);
    await deps.queue({
      app: app.name,
      forge: app.forge,
      repo: app.repo,
      number,
      cause: 'sweep',
      ...(pr
        ? {
            pullRequest: {
              state: 'open' as const,
              headSha: pr.headSha,
              headBranch: pr.headBranch,
              headRepo: pr.headRepo,
              baseBranch: pr.baseBranch,
              ...(pr.labels ? { labels: pr.labels } : {}),
            },
          }
        : {}),
      receivedAt: now(),
    });
  };
  for (const number of new Set([...stored.keys(), ...onCluster])) {
    const state = stored.get(number);
    const pr = byNumber.get(number);
    if (!pr || !state) {
      if (state?.status !== 'expired' || pr === undefined) await look(number);
      continue;
    }
    if (state.status === 'expired') continue;
    const idle = now() - state.lastPushAt;
    if (idle > settings.ttl || (settings.trigger === 'label' && !hasLabel(pr, settings.label))) await look(number);
    else if (settings.sleepAfter !== undefined && idle > settings.sleepAfter && state.status === 'ready') {
      // The preview's own job scales it down, under its lock, so a deploy or teardown never races it.
      report.slept.push(number);
      await deps.queue({ app: app.name, forge: app.forge, repo: app.repo, number, cause: 'sleep', receivedAt: now() });
    }
  }
  for (const pr of open) {
    if (stored.has(pr.number) || onCluster.has(pr.number)) continue;
    if (settings.trigger === 'all' || hasLabel(pr, settings.label)) await look(pr.number);
  }
  return report;
}

function hasLabel(pr: OpenPullRequest, label: string): boolean {
  return (pr.labels ?? []).some((l) => l.toLowerCase() === label.toLowerCase());
}

/** Pull-request numbers of the app's preview namespaces on the cluster (by Landfall's labels). */
async function previewNamespaces(deps: SweepDeps, app: AppConfig): Promise<Set<number>> {
  const client = await deps.kube(app.cluster);
  const namespaces = await client.list('v1', 'Namespace', { labelSelector: previewSelector(app) });
  const numbers = new Set<number>();
  for (const ns of namespaces) {
    const n = Number(ns.metadata.labels?.[PULL_REQUEST_LABEL]);
    // A namespace already terminating is on its way out.
    if (Number.isInteger(n) && n > 0 && !ns.metadata.deletionTimestamp) numbers.add(n);
  }
  return numbers;
}
