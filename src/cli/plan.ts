import { Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import { createLogger } from '../log/logger.js';
import type { SyncRecord } from '../model/records.js';
import { planMarkdown } from '../status/comment.js';
import { SyncError } from '../sync/errors.js';
import { syncKitFromConfig } from '../sync/from-config.js';
import { runPlan } from '../sync/plan.js';

/** What `landfall plan` prints and the exit code it ends with. */
export interface PlanOutcome {
  text: string;
  /** 0 when the deploy would go through, 1 when it would not. */
  code: number;
}

/**
 * `landfall plan APP [--ref REF]`: the plan a pull request gets (render, validate, server-side
 * dry-run against the app's cluster, diff, prune), for the app's branch head or any branch, tag or
 * commit of its repository, printed as the same Markdown the pull-request comment carries. Needs
 * the cluster and git, not Redis; writes nothing anywhere.
 */
export async function runPlanCommand(config: Config, appName: string, ref?: string): Promise<PlanOutcome> {
  const app = config.apps.find((a) => a.name === appName);
  if (!app) return { text: `no app named "${appName}" (configured: ${config.apps.map((a) => a.name).join(', ') || 'none'})\n`, code: 1 };
  const kit = syncKitFromConfig(config);
  // Log lines would interleave with the plan on stdout; the plan's own log is in its record.
  const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const kept: { record?: SyncRecord } = {};
  try {
    const wanted = ref ?? app.branch;
    const sha = await kit.git.resolveRef(gitSource(app, config.forges), wanted);
    if (!sha) return { text: `${wanted} is neither a branch, a tag nor a full commit hash of ${app.repo}\n`, code: 1 };
    await runPlan(
      // The record is kept here rather than in Redis: it is what gets printed, success or failure.
      { ...kit, log, history: { save: (r) => Promise.resolve(void (kept.record = r)) } },
      {
        app,
        data: {
          app: app.name,
          forge: app.forge,
          repo: app.repo,
          number: 0,
          action: 'opened',
          headSha: sha,
          headBranch: wanted,
          headRepo: app.repo,
          baseBranch: app.branch,
          receivedAt: Date.now(),
        },
        jobId: `plan-${app.name}-cli-${sha.slice(0, 12)}`,
        attempt: 1,
        finalAttempt: true,
      },
    );
    return { text: `${header(app.name, wanted, sha)}${kept.record ? planMarkdown(kept.record) : ''}\n`, code: 0 };
  } catch (err) {
    // runPlan saved the failure in its record before throwing: print that, as a pull request shows it.
    if (err instanceof SyncError && kept.record)
      return { text: `${header(app.name, ref ?? app.branch, kept.record.sha ?? '')}${planMarkdown(kept.record)}\n`, code: 1 };
    throw err;
  } finally {
    await kit.close();
  }
}

function header(app: string, ref: string, sha: string): string {
  return `Plan for ${app} at ${ref}${sha ? ` (${sha.slice(0, 7)})` : ''}\n\n`;
}
