import type { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { MAX_PAGES, onePerContext, readAnswer, tooManyPages } from '../answers.js';
import { statusOf } from '../forge-api-error.js';
import { fitDescription, type CommitCheck, type ForgeApi, type OpenPullRequest, type PreviewEnvironment } from '../forge-api.js';

/** Runs `fn` with the repository's client; failures come back as ForgeApiErrors (api.ts `withClient`). */
export type WithClient = <T>(repo: string, what: string, fn: (octokit: Octokit) => Promise<T>) => Promise<T>;

/**
 * The answer of `call`, or undefined when it is a 404. Caught inside `withClient`, so an App that
 * is not installed on the repository (also a 404, from the installation lookup) stays an error.
 */
async function orNotFound<T>(call: () => Promise<{ data: T }>): Promise<T | undefined> {
  try {
    return (await call()).data;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

function split(repo: string): { owner: string; repo: string } {
  const [owner = '', name = ''] = repo.split('/');
  return { owner, repo: name };
}

// The fields read, as https://docs.github.com/rest/pulls/pulls#list-pull-requests and
// #get-a-pull-request document them: `merged` is on the single pull request only; `head.repo` is
// null when the fork was deleted.
const pullSchema = z.object({
  number: z.number(),
  state: z.string(),
  merged: z.boolean().optional(),
  merged_at: z.string().nullable().optional(),
  head: z.object({ sha: z.string(), ref: z.string(), repo: z.object({ full_name: z.string() }).nullable() }),
  base: z.object({ ref: z.string() }),
  labels: z.array(z.object({ name: z.string() })).optional(),
  user: z.object({ login: z.string() }).nullable().optional(),
});

function toPull(p: z.infer<typeof pullSchema>): OpenPullRequest {
  return {
    number: p.number,
    headSha: p.head.sha,
    headBranch: p.head.ref,
    headRepo: p.head.repo?.full_name ?? '',
    baseBranch: p.base.ref,
    labels: (p.labels ?? []).map((l) => l.name),
    ...(p.user ? { author: p.user.login } : {}),
  };
}

// https://docs.github.com/rest/issues/comments#list-issue-comments (a pull request is an issue).
const commentSchema = z.object({
  id: z.number(),
  body: z.string().nullable().optional(),
  created_at: z.string(),
  user: z.object({ login: z.string() }).nullable(),
});

// https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user:
// `permission` is the legacy base role (admin, write, read, none); maintain counts as write.
const permissionSchema = z.object({ permission: z.string(), user: z.object({ login: z.string() }).nullable().optional() });

// https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference:
// the latest status per context.
const combinedSchema = z.object({ statuses: z.array(z.object({ context: z.string(), state: z.string() })) });

// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
const checkRunSchema = z.object({ id: z.number(), name: z.string(), status: z.string(), conclusion: z.string().nullable() });

/** A commit status state in common words: error and failure fail; pending waits. */
function statusState(state: string): CommitCheck['state'] {
  if (state === 'success') return 'success';
  return state === 'pending' ? 'pending' : 'failure';
}

/**
 * A check run in common words. Not completed: pending. Neutral and skipped pass, as GitHub counts
 * them for required checks; every other conclusion (failure, cancelled, timed_out,
 * action_required, stale) fails.
 */
function runState(status: string, conclusion: string | null): CommitCheck['state'] {
  if (status !== 'completed') return 'pending';
  return conclusion === 'success' || conclusion === 'neutral' || conclusion === 'skipped' ? 'success' : 'failure';
}

// https://docs.github.com/rest/deployments/deployments#create-a-deployment: 201 with the
// deployment; a 202 `{message}` only when GitHub merged the default branch first (auto_merge,
// which is off here).
const deploymentSchema = z.object({ id: z.number() });
const deploymentStatusSchema = z.object({ id: z.number(), state: z.string() });

/** Deployment states after which a deployment still shows as live (GitHub shows the newest such one). */
const LIVE = new Set(['success', 'in_progress', 'queued', 'pending']);

/** How many of an environment's newest deployments are looked at when marking older ones inactive. */
const RECENT_DEPLOYMENTS = 10;

/**
 * The pull-request calls on GitHub: pull requests, issue comments, collaborator permissions, the
 * commit statuses and check runs of a commit, and previews as Deployments in transient
 * environments.
 */
export function githubPullRequestCalls(
  withClient: WithClient,
): Required<Pick<ForgeApi, 'openPullRequests' | 'pullRequest' | 'listComments' | 'canPush' | 'commitChecks' | 'reportEnvironment' | 'retireEnvironment'>> {
  /**
   * Posts `inactive` on the environment's recent deployments that still show as live, except
   * `keepId` and newer ones. `auto_inactive` does this only for *non-transient* environments
   * (docs: "Adds a new inactive status to all prior non-transient, non-production environment
   * deployments"), and previews are transient, so Landfall does it itself.
   */
  async function inactivate(octokit: Octokit, fullName: string, environment: string, what: string, keepId?: number): Promise<void> {
    const { owner, repo } = split(fullName);
    // GitHub documents no order for this list (it answers newest first): the newest by id of a full page are looked at.
    const { data } = await octokit.rest.repos.listDeployments({ owner, repo, environment, per_page: 100 });
    const deployments = readAnswer(what, z.array(deploymentSchema), data)
      .sort((a, b) => b.id - a.id)
      .slice(0, RECENT_DEPLOYMENTS);
    for (const d of deployments) {
      if (keepId !== undefined && d.id >= keepId) continue;
      const statuses = readAnswer(
        what,
        z.array(deploymentStatusSchema),
        (await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: d.id, per_page: 100 })).data,
      );
      const latest = statuses.reduce<z.infer<typeof deploymentStatusSchema> | undefined>((a, b) => (a && a.id > b.id ? a : b), undefined);
      if (!latest || !LIVE.has(latest.state)) continue;
      await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: d.id, state: 'inactive', description: 'Landfall removed the preview' });
    }
  }

  return {
    async openPullRequests(fullName, baseBranch) {
      const what = `GitHub pull requests of ${fullName} into ${baseBranch}`;
      return withClient(fullName, what, async (octokit) => {
        const out: OpenPullRequest[] = [];
        let pages = 0;
        for await (const page of octokit.paginate.iterator(octokit.rest.pulls.list, { ...split(fullName), state: 'open', base: baseBranch, per_page: 100 })) {
          if (++pages > MAX_PAGES) throw tooManyPages(what);
          out.push(...readAnswer(what, z.array(pullSchema), page.data).map(toPull));
        }
        return out;
      });
    },
    async pullRequest(fullName, number) {
      const what = `GitHub pull request ${fullName}#${number}`;
      const data = await withClient(fullName, what, (octokit) => orNotFound(() => octokit.rest.pulls.get({ ...split(fullName), pull_number: number })));
      if (data === undefined) return undefined;
      const p = readAnswer(what, pullSchema, data);
      const merged = p.merged === true || Boolean(p.merged_at);
      return { ...toPull(p), state: merged ? 'merged' : p.state === 'open' ? 'open' : 'closed' };
    },
    async listComments(fullName, number) {
      const what = `GitHub comments of ${fullName}#${number}`;
      return withClient(fullName, what, async (octokit) => {
        const out: { id: number; author: string; body: string; at: number }[] = [];
        let pages = 0;
        for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { ...split(fullName), issue_number: number, per_page: 100 })) {
          if (++pages > MAX_PAGES) throw tooManyPages(what);
          for (const c of readAnswer(what, z.array(commentSchema), page.data))
            out.push({ id: c.id, author: c.user?.login ?? '', body: c.body ?? '', at: Date.parse(c.created_at) });
        }
        return out.sort((a, b) => a.at - b.at || a.id - b.id).map((c) => ({ ...c, id: String(c.id) }));
      });
    },
    async canPush(fullName, user) {
      const what = `GitHub permission of ${user} on ${fullName}`;
      // 404: no such user (or a repository the token cannot see, which the other calls report).
      const data = await withClient(fullName, what, (octokit) =>
        orNotFound(() => octokit.rest.repos.getCollaboratorPermissionLevel({ ...split(fullName), username: user })),
      );
      if (data === undefined) return false;
      const p = readAnswer(what, permissionSchema, data);
      if (p.user && p.user.login.toLowerCase() !== user.toLowerCase()) return false;
      return p.permission === 'admin' || p.permission === 'write';
    },
    async commitChecks(fullName, sha) {
      const what = `GitHub checks of ${fullName}@${sha.slice(0, 7)}`;
      return withClient(fullName, what, async (octokit) => {
        const checks: CommitCheck[] = [];
        for (let page = 1; ; page++) {
          if (page > MAX_PAGES) throw tooManyPages(what);
          const { data } = await octokit.rest.repos.getCombinedStatusForRef({ ...split(fullName), ref: sha, per_page: 100, page });
          const { statuses } = readAnswer(what, combinedSchema, data);
          checks.push(...statuses.map((s) => ({ context: s.context, state: statusState(s.state) })));
          if (statuses.length < 100) break;
        }
        // The newest run per name: a re-run that passed stands over the failure before it.
        const runs = new Map<string, z.infer<typeof checkRunSchema>>();
        let pages = 0;
        for await (const page of octokit.paginate.iterator(octokit.rest.checks.listForRef, { ...split(fullName), ref: sha, per_page: 100, filter: 'latest' })) {
          if (++pages > MAX_PAGES) throw tooManyPages(what);
          for (const run of readAnswer(what, z.array(checkRunSchema), page.data)) {
            const seen = runs.get(run.name);
            if (!seen || run.id > seen.id) runs.set(run.name, run);
          }
        }
        for (const run of runs.values()) checks.push({ context: run.name, state: runState(run.status, run.conclusion) });
        return onePerContext(checks);
      });
    },
    async reportEnvironment(env: PreviewEnvironment, state) {
      const what = `GitHub deployment ${env.environment} of ${env.repo}@${env.sha.slice(0, 7)}`;
      const { owner, repo } = split(env.repo);
      await withClient(env.repo, what, async (octokit) => {
        // One deployment per commit and environment: a sync reports in_progress, then its outcome.
        const found = readAnswer(
          what,
          z.array(deploymentSchema),
          (await octokit.rest.repos.listDeployments({ owner, repo, sha: env.sha, environment: env.environment, per_page: 100 })).data,
        );
        let id = found.reduce((max, d) => Math.max(max, d.id), 0);
        if (id === 0) {
          const created = await octokit.rest.repos.createDeployment({
            owner,
            repo,
            ref: env.sha,
            environment: env.environment,
            description: fitDescription(env.description, 140),
            transient_environment: true,
            production_environment: false,
            auto_merge: false,
            required_contexts: [],
          });
          id = readAnswer(what, deploymentSchema, created.data).id;
        }
        await octokit.rest.repos.createDeploymentStatus({
          owner,
          repo,
          deployment_id: id,
          state,
          environment_url: env.url,
          log_url: env.logUrl,
          description: fitDescription(env.description, 140),
          auto_inactive: true,
        });
        if (state === 'success') await inactivate(octokit, env.repo, env.environment, what, id);
      });
    },
    async retireEnvironment(fullName, environment) {
      const what = `GitHub deployments of ${environment} on ${fullName}`;
      // Inactive on a transient environment's deployment shows it as destroyed.
      await withClient(fullName, what, (octokit) => inactivate(octokit, fullName, environment, what));
    },
  };
}
