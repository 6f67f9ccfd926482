import { z } from 'zod';
import { MAX_PAGES, onePerContext, readAnswer, tooManyPages, unless404 } from '../answers.js';
import { ForgeApiError } from '../forge-api-error.js';
import type { CommitCheck, ForgeApi, OpenPullRequest, PullRequestComment } from '../forge-api.js';
import { restCall, restGet } from '../rest-call.js';

/** What the Gitea calls need from the client: the auth header and the repository's API URL. */
export interface GiteaCallDeps {
  headers: Record<string, string>;
  /** `<url>/api/v1/repos/<owner>/<repo>`. */
  repoUrl: (repo: string) => string;
}

/** Items per page asked for; Gitea answers at most `[api] MAX_RESPONSE_ITEMS` (50 by default). */
const LIMIT = 50;

// The fields read, as Gitea's swagger (`PullRequest`) has them: `merged` says whether a closed
// pull request was merged; `head.repo` is null when the fork is gone.
const pullSchema = z.object({
  number: z.number(),
  state: z.string(),
  merged: z.boolean().optional(),
  head: z.object({ sha: z.string(), ref: z.string(), repo: z.object({ full_name: z.string() }).nullable().optional() }),
  base: z.object({ ref: z.string() }),
  labels: z
    .array(z.object({ name: z.string() }))
    .nullable()
    .optional(),
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

// Gitea's `Comment` (GET /repos/{owner}/{repo}/issues/{index}/comments).
const commentSchema = z.object({ id: z.number(), body: z.string(), created_at: z.string(), user: z.object({ login: z.string() }).nullable() });

// GET /repos/{owner}/{repo}/collaborators/{collaborator}/permission (`RepoCollaboratorPermission`):
// `permission` is the access mode's name: none, read, write, admin or owner
// (routers/api/v1/repo/collaborators.go, GetRepoPermissions).
const permissionSchema = z.object({ permission: z.string(), user: z.object({ login: z.string() }).nullable().optional() });

// GET /repos/{owner}/{repo}/commits/{ref}/status (`CombinedStatus`): the latest status per
// context, each with its state under `status`.
const combinedSchema = z.object({ statuses: z.array(z.object({ context: z.string(), status: z.string() })).nullable() });

/**
 * A Gitea commit status in common words. Success passes; pending waits; error, failure and
 * warning fail (warning is final and not a success: Gitea itself merges only on success).
 */
function statusState(status: string): CommitCheck['state'] {
  if (status === 'success') return 'success';
  return status === 'pending' ? 'pending' : 'failure';
}

/**
 * The pull-request calls on Gitea and Forgejo: pull requests, their comments, collaborator
 * permissions and the combined commit status. Gitea has no deployments or environments: previews
 * are reported there with a commit status and a comment.
 */
export function giteaPullRequestCalls(
  deps: GiteaCallDeps,
): Required<Pick<ForgeApi, 'openPullRequests' | 'pullRequest' | 'listComments' | 'canPush' | 'commitChecks'>> {
  const { headers, repoUrl } = deps;

  /**
   * Every page of a listing: until `X-Total-Count` items are in, or an empty page (Gitea caps
   * `limit` at its own maximum, so a short page does not mean the last one).
   */
  async function pages(what: string, url: string, items: (body: unknown) => unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw tooManyPages(what);
      const answer = await restGet<unknown>(what, `${url}${url.includes('?') ? '&' : '?'}page=${page}&limit=${LIMIT}`, headers);
      const list = items(answer.body);
      out.push(...list);
      const total = answer.headers.get('x-total-count');
      if (list.length === 0 || (total !== null && out.length >= Number(total))) return out;
    }
  }

  return {
    async openPullRequests(repo, baseBranch) {
      const what = `Gitea pull requests of ${repo} into ${baseBranch}`;
      const list = await pages(what, `${repoUrl(repo)}/pulls?state=open`, (body) => readAnswer(what, z.array(z.unknown()), body));
      return readAnswer(what, z.array(pullSchema), list)
        .filter((p) => p.base.ref === baseBranch)
        .map(toPull);
    },
    async pullRequest(repo, number) {
      const what = `Gitea pull request ${repo}#${number}`;
      const data = await unless404(() => restCall<unknown>(what, 'GET', `${repoUrl(repo)}/pulls/${number}`, headers));
      if (data === undefined) return undefined;
      const p = readAnswer(what, pullSchema, data);
      return { ...toPull(p), state: p.merged === true ? 'merged' : p.state === 'open' ? 'open' : 'closed' };
    },
    async listComments(repo, number) {
      const what = `Gitea comments of ${repo}#${number}`;
      // The endpoint answers every comment of the issue at once (only since/before filters).
      const list = readAnswer(what, z.array(commentSchema), await restCall(what, 'GET', `${repoUrl(repo)}/issues/${number}/comments`, headers));
      return list
        .map((c): PullRequestComment => ({ id: String(c.id), author: c.user?.login ?? '', body: c.body, at: Date.parse(c.created_at) }))
        .sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
    },
    /**
     * True for write, admin and owner. Gitea answers for another user only to a site admin or a
     * repository admin: the token needs admin rights on the repository, else a 403 names that.
     * An unknown user: false.
     */
    async canPush(repo, user) {
      const what = `Gitea permission of ${user} on ${repo}`;
      let data: unknown;
      try {
        data = await unless404(() => restCall<unknown>(what, 'GET', `${repoUrl(repo)}/collaborators/${encodeURIComponent(user)}/permission`, headers));
      } catch (err) {
        if (err instanceof ForgeApiError && err.status === 403)
          throw new ForgeApiError(
            `${err.message} — Gitea tells another user's permission only to a repository admin: give forges.gitea.token admin rights on ${repo}`,
            403,
            false,
            undefined,
            { cause: err },
          );
        throw err;
      }
      if (data === undefined) return false;
      const p = readAnswer(what, permissionSchema, data);
      if (p.user && p.user.login.toLowerCase() !== user.toLowerCase()) return false;
      return p.permission === 'write' || p.permission === 'admin' || p.permission === 'owner';
    },
    async commitChecks(repo, sha) {
      const what = `Gitea statuses of ${repo}@${sha.slice(0, 7)}`;
      const list = await pages(what, `${repoUrl(repo)}/commits/${sha}/status`, (body) => readAnswer(what, combinedSchema, body).statuses ?? []);
      const statuses = readAnswer(what, z.array(z.object({ context: z.string(), status: z.string() })), list);
      return onePerContext(statuses.map((s) => ({ context: s.context, state: statusState(s.status) })));
    },
  };
}
