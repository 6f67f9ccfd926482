import { z } from 'zod';
import { MAX_PAGES, onePerContext, readAnswer, tooManyPages, unless404 } from '../answers.js';
import { ForgeApiError } from '../forge-api-error.js';
import type { CommitCheck, ForgeApi, OpenPullRequest, PullRequestComment } from '../forge-api.js';
import { restCall } from '../rest-call.js';

/** What the Bitbucket Cloud calls need from the client. */
export interface BitbucketCallDeps {
  headers: Record<string, string>;
  /** `https://api.bitbucket.org/2.0`. */
  apiUrl: string;
  /** `<apiUrl>/repositories/<workspace>/<slug>`. */
  repoUrl: (repo: string) => string;
  /** A full hash for an abbreviated one, undefined when the repository has no such commit. */
  resolveSha: (repo: string, shortSha: string) => Promise<string | undefined>;
}

/** Bitbucket's 404 for a repository that does not exist or that the token cannot see. */
const REPOSITORY_GONE = /Repository not found/i;

/** An account's `{uuid}`: the identity Landfall uses for Bitbucket Cloud users (see canPush). */
const ACCOUNT_UUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

const pageSchema = z.object({ values: z.array(z.unknown()), next: z.string().optional() });

// The fields read, as https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/
// has them. `source.commit.hash` is abbreviated (12 characters); `source.repository` is null when
// the fork is gone. Bitbucket Cloud pull requests have no labels.
const pullSchema = z.object({
  id: z.number(),
  state: z.string(),
  source: z.object({
    commit: z.object({ hash: z.string() }).nullable().optional(),
    branch: z.object({ name: z.string() }),
    repository: z.object({ full_name: z.string() }).nullable().optional(),
  }),
  destination: z.object({ branch: z.object({ name: z.string() }) }),
  author: z.object({ uuid: z.string() }).nullable().optional(),
});

// https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/#api-repositories-workspace-repo-slug-pullrequests-pull-request-id-comments-get:
// a deleted comment stays listed with `deleted: true` and empty content.
const commentSchema = z.object({
  id: z.number(),
  created_on: z.string(),
  deleted: z.boolean().optional(),
  content: z.object({ raw: z.string().nullable().optional() }).nullable().optional(),
  user: z.object({ uuid: z.string() }).nullable().optional(),
});

// https://developer.atlassian.com/cloud/bitbucket/rest/api-group-workspaces/#api-workspaces-workspace-permissions-repositories-repo-slug-get:
// effective permissions (admin, write, read), groups included; only a repository admin may ask.
const permissionSchema = z.object({ permission: z.string(), user: z.object({ uuid: z.string() }) });

// https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commit-statuses/#api-repositories-workspace-repo-slug-commit-commit-statuses-get:
// one status per key (a post with the same key overwrites it).
const statusSchema = z.object({ key: z.string(), state: z.string() });

/** A build state in common words: SUCCESSFUL passes, INPROGRESS waits, FAILED and STOPPED fail. */
function statusState(state: string): CommitCheck['state'] {
  if (state === 'SUCCESSFUL') return 'success';
  return state === 'INPROGRESS' ? 'pending' : 'failure';
}

/** A BBQL string literal. */
function bbql(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The pull-request calls on Bitbucket Cloud: pull requests, their comments, repository
 * permissions and commit statuses. Users are named by their account `{uuid}` (what `author`
 * holds): nicknames are neither unique nor fixed, so an approval is only ever checked against
 * the account that wrote it. Bitbucket Cloud has no deployment API for previews: they are
 * reported with a commit status and a comment.
 */
export function bitbucketPullRequestCalls(
  deps: BitbucketCallDeps,
): Required<Pick<ForgeApi, 'openPullRequests' | 'pullRequest' | 'listComments' | 'canPush' | 'commitChecks'>> {
  const { headers, repoUrl } = deps;

  /** Every page of a paginated listing, following `next`. */
  async function pages(what: string, first: string): Promise<unknown[]> {
    const out: unknown[] = [];
    let next: string | undefined = first;
    for (let page = 1; next; page++) {
      if (page > MAX_PAGES) throw tooManyPages(what);
      const answer: z.infer<typeof pageSchema> = readAnswer(what, pageSchema, await restCall(what, 'GET', next, headers));
      out.push(...answer.values);
      next = answer.next;
    }
    return out;
  }

  /**
   * A full hash for the abbreviated one, looked up in the fork first when the pull request comes
   * from one (a fork the token cannot read answers 403 or 404: then the base repository, which
   * has the commit too once Bitbucket fetched it for the pull request). `known` keeps what one
   * listing already looked up. Unresolvable: the abbreviated hash as it is.
   */
  async function fullHash(hash: string, headRepo: string, repo: string, known: Map<string, string>): Promise<string> {
    if (hash.length === 0 || hash.length >= 40) return hash;
    const cached = known.get(hash);
    if (cached) return cached;
    let full: string | undefined;
    if (headRepo && headRepo.toLowerCase() !== repo.toLowerCase()) {
      try {
        full = await deps.resolveSha(headRepo, hash);
      } catch (err) {
        if (!(err instanceof ForgeApiError && (err.status === 401 || err.status === 403))) throw err;
      }
    }
    full ??= await deps.resolveSha(repo, hash);
    known.set(hash, full ?? hash);
    return full ?? hash;
  }

  /** The pull request in common words, with its head's full hash. */
  async function toPull(p: z.infer<typeof pullSchema>, repo: string, known = new Map<string, string>()): Promise<OpenPullRequest> {
    const headRepo = p.source.repository?.full_name ?? '';
    return {
      number: p.id,
      headSha: await fullHash(p.source.commit?.hash ?? '', headRepo, repo, known),
      headBranch: p.source.branch.name,
      headRepo,
      baseBranch: p.destination.branch.name,
      ...(p.author ? { author: p.author.uuid } : {}),
    };
  }

  return {
    async openPullRequests(repo, baseBranch) {
      const what = `Bitbucket pull requests of ${repo} into ${baseBranch}`;
      const q = encodeURIComponent(`destination.branch.name=${bbql(baseBranch)}`);
      const list = readAnswer(what, z.array(pullSchema), await pages(what, `${repoUrl(repo)}/pullrequests?state=OPEN&pagelen=50&q=${q}`));
      const out: OpenPullRequest[] = [];
      const known = new Map<string, string>();
      for (const p of list) if (p.destination.branch.name === baseBranch) out.push(await toPull(p, repo, known));
      return out;
    },
    async pullRequest(repo, number) {
      const what = `Bitbucket pull request ${repo}#${number}`;
      const data = await unless404(() => restCall<unknown>(what, 'GET', `${repoUrl(repo)}/pullrequests/${number}`, headers), REPOSITORY_GONE);
      if (data === undefined) return undefined;
      const p = readAnswer(what, pullSchema, data);
      // DECLINED and SUPERSEDED pull requests are closed.
      return { ...(await toPull(p, repo)), state: p.state === 'OPEN' ? 'open' : p.state === 'MERGED' ? 'merged' : 'closed' };
    },
    async listComments(repo, number) {
      const what = `Bitbucket comments of ${repo}#${number}`;
      const list = readAnswer(what, z.array(commentSchema), await pages(what, `${repoUrl(repo)}/pullrequests/${number}/comments?pagelen=100&sort=created_on`));
      return list
        .filter((c) => c.deleted !== true)
        .map((c): PullRequestComment => ({ id: String(c.id), author: c.user?.uuid ?? '', body: c.content?.raw ?? '', at: Date.parse(c.created_on) }))
        .sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
    },
    /**
     * True when the account `{uuid}` has write or admin permission on the repository. Bitbucket
     * Cloud answers another user's permission only to a repository admin: without admin rights
     * the token gets a 403, which names that. Anything but an account uuid: false.
     */
    async canPush(repo, user) {
      if (!ACCOUNT_UUID.test(user)) return false;
      const what = `Bitbucket permission of ${user} on ${repo}`;
      const [workspace = '', slug = ''] = repo.split('/');
      const q = encodeURIComponent(`user.uuid=${bbql(user)}`);
      let list: unknown[];
      try {
        list = await pages(what, `${deps.apiUrl}/workspaces/${encodeURIComponent(workspace)}/permissions/repositories/${encodeURIComponent(slug)}?q=${q}`);
      } catch (err) {
        if (err instanceof ForgeApiError && err.status === 403)
          throw new ForgeApiError(
            `${err.message} — Bitbucket tells another user's permission only to a repository admin: give forges.bitbucket.token admin rights on ${repo}`,
            403,
            false,
            undefined,
            { cause: err },
          );
        throw err;
      }
      return readAnswer(what, z.array(permissionSchema), list).some(
        (p) => p.user.uuid.toLowerCase() === user.toLowerCase() && (p.permission === 'write' || p.permission === 'admin'),
      );
    },
    async commitChecks(repo, sha) {
      const what = `Bitbucket statuses of ${repo}@${sha.slice(0, 7)}`;
      const list = readAnswer(what, z.array(statusSchema), await pages(what, `${repoUrl(repo)}/commit/${sha}/statuses?pagelen=100`));
      return onePerContext(list.map((s) => ({ context: s.key, state: statusState(s.state) })));
    },
  };
}
