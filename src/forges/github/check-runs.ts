/**
 * GitHub check runs as status reports: how a neutral status becomes a check run, updated in
 * place through a sync. Only a GitHub App may write check runs; a token posts commit statuses.
 */
import { fitMarkdown } from '../../clip.js';
import type { SyncResult } from '../../model/records.js';
import { ForgeApiError } from '../forge-api-error.js';
import { fitDescription, type CheckRunSpec, type ForgeApi, type PostedReport, type StatusReport } from '../forge-api.js';

/** GitHub's limit on a check run's `output.summary`. */
export const CHECK_RUN_SUMMARY_LIMIT = 65_535;

/** GitHub's limit on a check run's `output.title`, as Landfall fills it. */
const TITLE_LIMIT = 1_000;

/** A neutral state as a check run's status and conclusion. */
export function checkRunState(state: SyncResult): Pick<CheckRunSpec, 'status' | 'conclusion'> {
  switch (state) {
    case 'queued':
      return { status: 'queued' };
    case 'running':
      return { status: 'in_progress' };
    case 'succeeded':
      return { status: 'completed', conclusion: 'success' };
    case 'failed':
      return { status: 'completed', conclusion: 'failure' };
    case 'superseded':
      return { status: 'completed', conclusion: 'cancelled' };
  }
}

/** A status report as the check run to post. */
export function checkRunSpec(report: StatusReport): CheckRunSpec {
  return {
    name: report.context,
    ...checkRunState(report.state),
    title: fitDescription(report.description, TITLE_LIMIT),
    summary: fitMarkdown(report.summary || report.description, CHECK_RUN_SUMMARY_LIMIT, report.targetUrl, report.subject),
    detailsUrl: report.targetUrl,
    externalId: report.recordId,
  };
}

/**
 * Gives a GitHub API that may write check runs (an App) its `postReport`: the check run is
 * updated in place through a sync, and a run that completed and is started again (a re-sync of
 * the same commit) gets a new one. An App without the Checks permission (403) is reported
 * `unavailable`, so commit statuses are posted instead.
 */
export function withCheckRunReports(api: ForgeApi): ForgeApi {
  if (!api.checkRuns || !api.upsertCheckRun) return api;
  const upsert = api.upsertCheckRun.bind(api);
  return {
    ...api,
    async postReport(report: StatusReport, previous?: PostedReport): Promise<PostedReport | { unavailable: string }> {
      const spec = checkRunSpec(report);
      const final = spec.status === 'completed';
      const known = previous && !(previous.final && !final) ? previous.id : undefined;
      try {
        return { id: await upsert(report.repo, report.sha, spec, known), final };
      } catch (err) {
        if (err instanceof ForgeApiError && err.status === 403 && !err.transient) {
          return { unavailable: 'the GitHub App may not write check runs (grant it "Checks: Read and write")' };
        }
        throw err;
      }
    },
  };
}
