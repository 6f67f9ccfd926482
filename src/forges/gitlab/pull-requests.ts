import { z } from 'zod';
import { MAX_PAGES, onePerContext, readAnswer, tooManyPages, unless404 } from '../answers.js';
import { ForgeApiError } from '../forge-api-error.js';
import type { CommitCheck, ForgeApi, OpenPullRequest, PullRequestComment } from '../forge-api.js';
import { restCall } from '../rest-call.js';

/** What the GitLab calls need from the client: the auth header and the project's API URL. */
export interface GitlabCallDeps {
  headers: Record<string, string>;
  /** `<url>/api/v4`. */
  api: string;
  /** `<url>/api/v4/projects/<url-encoded path>`. */
  project: (repo: string) => string;
}

/** GitLab's 404 for a project that does not exist or that the token cannot see. */
const PROJECT_GONE = /Project Not Found/i;

/** GitLab pages hold at most 100 items (`per_page`). */
const PER_PAGE = 100;

// The fields read, as https://docs.gitlab.com/api/merge_requests/ documents them: `labels` are
// names unless `with_labels_details` is asked for; `state` is opened, closed, locked or merged.
const mergeRequestSchema = z.object({
  iid: z.number(),
  state: z.string(),
  sha: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  source_project_id: z.number(),
  target_project_id: z.number(),
  labels: z.array(z.string()).optional(),
  author: z.object({ username: z.string() }).nullable().optional(),
});

function toPull(mr: z.infer<typeof mergeRequestSchema>, repo: string): OpenPullRequest {
  return {
    number: mr.iid,
    headSha: mr.sha,
    headBranch: mr.source_branch,
    // A fork's path would take another call; previews only need to know it is not this project.
    headRepo: mr.source_project_id === mr.target_project_id ? repo : '',
    baseBranch: mr.target_branch,
    labels: mr.labels ?? [],
    ...(mr.author ? { author: mr.author.username } : {}),
  };
}

// https://docs.gitlab.com/api/notes/#list-all-merge-request-notes: `system` notes are GitLab's
// own ("added 1 commit", "changed the description"), not anyone's words.
const noteSchema = z.object({ id: z.number(), body: z.string(), system: z.boolean(), created_at: z.string(), author: z.object({ username: z.string() }) });

// https://docs.gitlab.com/api/users/#list-users (`username` is an exact, case-insensitive match)
// and https://docs.gitlab.com/api/project_members/#get-a-member-of-a-project-including-inherited-and-invited-members
const userSchema = z.object({ id: z.number(), username: z.string(), state: z.string().optional() });
const memberSchema = z.object({ id: z.number(), access_level: z.number(), state: z.string().optional(), membership_state: z.string().optional() });

/** GitLab's Developer role: the lowest that may push (to branches that are not protected). */
const DEVELOPER = 30;

// https://docs.gitlab.com/api/commits/#list-the-statuses-of-a-commit: the latest status per name
// unless `all` is asked for; external statuses and CI jobs alike.
const statusSchema = z.object({ id: z.number(), name: z.string(), status: z.string() });

/**
 * A commit status in common words. Success passes; failed, canceled and skipped (the job did not
 * succeed, and will not) fail; created, pending, running, manual, scheduled and the other waiting
 * states are pending.
 */
function statusState(status: string): CommitCheck['state'] {
  if (status === 'success') return 'success';
  return status === 'failed' || status === 'canceled' || status === 'skipped' ? 'failure' : 'pending';
}

// https://docs.gitlab.com/api/environments/: `name` filters by the exact name; `state` is
// available, stopping or stopped.
const environmentSchema = z.object({ id: z.number(), name: z.string(), external_url: z.string().nullable().optional(), state: z.string() });

/**
 * The pull-request calls on GitLab: merge requests, their notes, project membership, commit
 * statuses, and previews as environments with an external URL.
 */
export function gitlabPullRequestCalls(
  deps: GitlabCallDeps,
): Required<Pick<ForgeApi, 'openPullRequests' | 'pullRequest' | 'listComments' | 'canPush' | 'commitChecks' | 'reportEnvironment' | 'retireEnvironment'>> {
  const { headers, project } = deps;

  /** Every page of a listing (`query` without paging), until a short page. */
  async function all(what: string, url: string, query: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw tooManyPages(what);
      const list = readAnswer(
        what,
        z.array(z.unknown()),
        await restCall(what, 'GET', `${url}?${query}${query ? '&' : ''}per_page=${PER_PAGE}&page=${page}`, headers),
      );
      out.push(...list);
      if (list.length < PER_PAGE) return out;
    }
  }

  async function environmentNamed(repo: string, name: string, what: string) {
    const list = readAnswer(
      what,
      z.array(environmentSchema),
      await restCall(what, 'GET', `${project(repo)}/environments?name=${encodeURIComponent(name)}`, headers),
    );
    return list.find((e) => e.name === name);
  }

  return {
    async openPullRequests(repo, baseBranch) {
      const what = `GitLab merge requests of ${repo} into ${baseBranch}`;
      const list = await all(what, `${project(repo)}/merge_requests`, `state=opened&target_branch=${encodeURIComponent(baseBranch)}`);
      return readAnswer(what, z.array(mergeRequestSchema), list).map((mr) => toPull(mr, repo));
    },
    async pullRequest(repo, number) {
      const what = `GitLab merge request ${repo}!${number}`;
      const data = await unless404(() => restCall<unknown>(what, 'GET', `${project(repo)}/merge_requests/${number}`, headers), PROJECT_GONE);
      if (data === undefined) return undefined;
      const mr = readAnswer(what, mergeRequestSchema, data);
      // `locked` is the moment of merging: still open until GitLab says merged.
      const state = mr.state === 'merged' ? 'merged' : mr.state === 'closed' ? 'closed' : 'open';
      return { ...toPull(mr, repo), state };
    },
    async listComments(repo, number) {
      const what = `GitLab notes of ${repo}!${number}`;
      const list = await all(what, `${project(repo)}/merge_requests/${number}/notes`, 'sort=asc&order_by=created_at');
      return readAnswer(what, z.array(noteSchema), list)
        .filter((n) => !n.system)
        .map((n): PullRequestComment => ({ id: String(n.id), author: n.author.username, body: n.body, at: Date.parse(n.created_at) }))
        .sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
    },
    /**
     * True for an active member (direct, inherited from a group, or invited) with the Developer
     * role or above: Developers may push to branches that are not protected, and Maintainers and
     * Owners to protected ones too. Guests, Planners and Reporters may not push. An unknown user,
     * a blocked one or one who is not a member: false.
     */
    async canPush(repo, user) {
      const what = `GitLab membership of ${user} in ${repo}`;
      const users = readAnswer(what, z.array(userSchema), await restCall(what, 'GET', `${deps.api}/users?username=${encodeURIComponent(user)}`, headers));
      const found = users.find((u) => u.username.toLowerCase() === user.toLowerCase());
      if (!found || (found.state !== undefined && found.state !== 'active')) return false;
      const member = await unless404(() => restCall<unknown>(what, 'GET', `${project(repo)}/members/all/${found.id}`, headers), PROJECT_GONE);
      if (member === undefined) return false;
      const m = readAnswer(what, memberSchema, member);
      if (m.id !== found.id) return false;
      if (m.state !== undefined && m.state !== 'active') return false;
      if (m.membership_state !== undefined && m.membership_state !== 'active') return false;
      return m.access_level >= DEVELOPER;
    },
    async commitChecks(repo, sha) {
      const what = `GitLab statuses of ${repo}@${sha.slice(0, 7)}`;
      const list = readAnswer(what, z.array(statusSchema), await all(what, `${project(repo)}/repository/commits/${sha}/statuses`, ''));
      // The newest per name (a job of the branch pipeline and one of the merge-request pipeline
      // can share a name; a retried job is newer than the one it replaces).
      const newest = new Map<string, z.infer<typeof statusSchema>>();
      for (const s of list) {
        const seen = newest.get(s.name);
        if (!seen || s.id > seen.id) newest.set(s.name, s);
      }
      return onePerContext([...newest.values()].map((s) => ({ context: s.name, state: statusState(s.status) })));
    },
    /**
     * Creates the environment with the preview's URL, or points it at the URL. A stopped one (the
     * pull request was closed and reopened) is deleted and created again: GitLab starts a
     * stopped environment only with a deployment, and has no call to start one.
     */
    async reportEnvironment(env) {
      const what = `GitLab environment ${env.environment} of ${env.repo}`;
      let found = await environmentNamed(env.repo, env.environment, what);
      if (found?.state === 'stopped') {
        await restCall(what, 'DELETE', `${project(env.repo)}/environments/${found.id}`, headers);
        found = undefined;
      }
      if (!found) {
        try {
          await restCall(what, 'POST', `${project(env.repo)}/environments`, headers, { name: env.environment, external_url: env.url, tier: 'development' });
          return;
        } catch (err) {
          // Created meanwhile by another worker ("has already been taken"): update that one.
          if (!(err instanceof ForgeApiError && err.status === 400)) throw err;
          found = await environmentNamed(env.repo, env.environment, what);
          if (!found) throw err;
        }
      }
      if (found.external_url !== env.url) await restCall(what, 'PUT', `${project(env.repo)}/environments/${found.id}`, headers, { external_url: env.url });
    },
    async retireEnvironment(repo, environment) {
      const what = `GitLab environment ${environment} of ${repo}`;
      const found = await environmentNamed(repo, environment, what);
      if (!found || found.state === 'stopped') return;
      // Gone meanwhile: nothing left to stop.
      await unless404(() => restCall(what, 'POST', `${project(repo)}/environments/${found.id}/stop`, headers));
    },
  };
}
