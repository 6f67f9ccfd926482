import type { Logger } from 'pino';
import type { AppConfig, Config } from '../config/schema.js';
import type { SyncRecord } from '../model/records.js';
import type { SyncListener } from '../sync/pipeline.js';
import type { PlanListener } from '../sync/plan.js';
import { deployMarkdown, planComment, planMarkdown } from './comment.js';
import type { DesiredStatus, StatusReporter } from './reporter.js';
import { deployedDescription, failureReason, planSummary, short, statusContext } from './wording.js';

interface ListenerDeps {
  config: Config;
  reporter: StatusReporter;
  log: Logger;
}

function pageUrl(config: Config, record: SyncRecord): string {
  return `${config.server.publicUrl}/syncs/${encodeURIComponent(record.id)}`;
}

/** Reports a status without ever throwing into the sync. */
function safeReport(deps: ListenerDeps, status: DesiredStatus): void {
  deps.reporter.report(status).catch((err: unknown) => deps.log.warn({ err, sha: status.sha, context: status.context }, 'status not recorded'));
}

/** Whether an app's statuses go out as GitHub check runs (a GitHub App), which carry a Markdown summary. */
function checkRuns(config: Config, app: AppConfig): boolean {
  return app.forge === 'github' && Boolean(config.forges.github?.app);
}

/** Commit statuses for deploys: running, then success, failure or superseded. */
export function createSyncStatusListener(deps: ListenerDeps): SyncListener {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const summary = (record: SyncRecord, app: AppConfig) =>
    checkRuns(deps.config, app) ? { summary: deployMarkdown(record, pageUrl(deps.config, record)) } : {};
  const base = (record: SyncRecord, app: AppConfig, sha: string) => ({
    forge: app.forge,
    repo: app.repo,
    sha,
    context: statusContext(app.name, 'deploy'),
    targetUrl: pageUrl(deps.config, record),
    ref: app.branch,
    recordId: record.id,
    at: Date.now(),
  });
  return {
    started(record) {
      const app = apps.get(record.app);
      if (!app || !record.sha) return;
      safeReport(deps, {
        ...base(record, app, record.sha),
        state: 'running',
        description: `Deploying ${short(record.sha)} to ${app.cluster}/${app.namespace}`,
        ...summary(record, app),
      });
    },
    superseded(record, sha, by) {
      const app = apps.get(record.app);
      if (!app) return;
      safeReport(deps, { ...base(record, app, sha), state: 'superseded', description: `superseded by ${short(by)}` });
    },
    progress(record, activity) {
      const app = apps.get(record.app);
      if (!app || !record.sha) return;
      safeReport(deps, {
        ...base(record, app, record.sha),
        state: 'running',
        description: `Deploying ${short(record.sha)} to ${app.cluster}/${app.namespace}: ${activity}`,
      });
    },
    finished(record, final) {
      const app = apps.get(record.app);
      if (!app) return;
      if (record.result === 'superseded' && record.requestedSha && record.supersededBy) {
        safeReport(deps, { ...base(record, app, record.requestedSha), state: 'superseded', description: `superseded by ${short(record.supersededBy)}` });
        return;
      }
      const sha = record.sha ?? record.requestedSha;
      if (!sha) return;
      if (record.result === 'succeeded') {
        const ran = record.phases.some((p) => p.name === 'apply');
        const description = ran
          ? deployedDescription(sha, app.cluster, app.namespace, record.changes, (record.finishedAt ?? Date.now()) - (record.startedAt ?? Date.now()))
          : `Deployed ${short(sha)} to ${app.cluster}/${app.namespace} (already running)`;
        safeReport(deps, { ...base(record, app, sha), state: 'succeeded', description, ...summary(record, app) });
      } else if (record.result === 'failed' && final) {
        safeReport(deps, {
          ...base(record, app, sha),
          state: 'failed',
          description: `Failed: ${failureReason(record.error?.message ?? 'unknown error')}`,
          ...summary(record, app),
        });
      } else if (record.result === 'failed') {
        // Transient: say so, and that it is being retried, without flipping the commit to failed.
        safeReport(deps, {
          ...base(record, app, sha),
          state: 'running',
          description: `Retrying after attempt ${record.attempt}: ${failureReason(record.error?.message ?? 'unknown error')}`,
          ...summary(record, app),
        });
      }
    },
  };
}

/** Plan statuses on the pull request's head, and the plan comment when `prComments` is on. */
export function createPlanListener(deps: ListenerDeps): PlanListener {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const base = (record: SyncRecord, app: AppConfig) => ({
    forge: app.forge,
    repo: app.repo,
    sha: record.sha ?? record.requestedSha,
    context: statusContext(app.name, 'plan'),
    targetUrl: pageUrl(deps.config, record),
    ...(record.pullRequest ? { ref: record.pullRequest.headBranch } : {}),
    recordId: record.id,
    at: Date.now(),
  });
  return {
    started(record) {
      const app = apps.get(record.app);
      if (app) safeReport(deps, { ...base(record, app), state: 'running', description: `Planning ${short(record.requestedSha)}` });
    },
    superseded(record, by) {
      const app = apps.get(record.app);
      if (app) safeReport(deps, { ...base(record, app), sha: record.requestedSha, state: 'superseded', description: `superseded by ${short(by)}` });
    },
    async finished(record, final) {
      const app = apps.get(record.app);
      if (!app || (record.result === 'failed' && !final)) return;
      const ok = record.result === 'succeeded';
      safeReport(deps, {
        ...base(record, app),
        state: ok ? 'succeeded' : 'failed',
        description: ok ? `Plan: ${planSummary(record.changes)}` : `Plan failed: ${failureReason(record.error?.message ?? 'unknown error')}`,
        ...(checkRuns(deps.config, app) ? { summary: planMarkdown(record, pageUrl(deps.config, record)) } : {}),
      });
      if (!app.prComments || !record.pullRequest) return;
      await deps.reporter
        .reportComment({
          forge: app.forge,
          repo: app.repo,
          app: app.name,
          number: record.pullRequest.number,
          body: planComment(record, pageUrl(deps.config, record)),
          recordId: record.id,
        })
        .catch((err: unknown) => deps.log.warn({ app: app.name, pr: record.pullRequest?.number, err }, 'plan comment not recorded'));
    },
  };
}
