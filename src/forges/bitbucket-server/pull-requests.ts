import { z } from 'zod';
import { MAX_PAGES, onePerContext, readAnswer, tooManyPages, unless404 } from '../answers.js';
import type { CommitCheck, ForgeApi, OpenPullRequest, PullRequestComment } from '../forge-api.js';
import { restCall } from '../rest-call.js';

/** What the Bitbucket Data Center calls need from the client. */
export interface BitbucketServerCallDeps {
  headers: Record<string, string>;
  /** The instance root, `https://bitbucket.example.com`. */
  url: string;
  /** `<url>/rest/api/latest/projects/<key>/repos/<slug>`. */
  repoUrl: (repo: string) => string;
}

/** Data Center's 404 for a repository (or project) that does not exist or that the token cannot see. */
const REPOSITORY_GONE = /NoSuchRepositoryException|NoSuchProjectException/;

const pageSchema = z.object({ values: z.array(z.unknown()), isLastPage: z.boolean().optional(), nextPageStart: z.number().nullable().optional() });

// The fields read, as https://developer.atlassian.com/server/bitbucket/rest/ (pull requests) has
// them: `fromRef.latestCommit` is the full head hash. Data Center pull requests have no labels.
const pullSchema = z.object({
  id: z.number(),
  state: z.string(),
  fromRef: z.object({ displayId: z.string(), latestCommit: z.string(), repository: z.object({ slug: z.string(), project: z.object({ key: z.string() }) }) }),
  toRef: z.object({ id: z.string(), displayId: z.string() }),
  author: z.object({ user: z.object({ name: z.string() }) }).optional(),
});

function toPull(p: z.infer<typeof pullSchema>): OpenPullRequest {
  return {
    number: p.id,
    headSha: p.fromRef.latestCommit,
    headBranch: p.fromRef.displayId,
    headRepo: `${p.fromRef.repository.project.key}/${p.fromRef.repository.slug}`,
    baseBranch: p.toRef.displayId,
    ...(p.author ? { author: p.author.user.name } : {}),
  };
}

interface DcComment {
  id: number;
  text: string;
  createdDate: number;
  author: { name: string };
  comments?: DcComment[] | undefined;
}

// A comment of the activities resource, with its replies nested under `comments`.
const commentSchema: z.ZodType<DcComment> = z.lazy(() =>
  z.object({
    id: z.number(),
    text: z.string(),
    createdDate: z.number(),
    author: z.object({ name: z.string() }),
    comments: z.array(commentSchema).optional(),
  }),
);
const activitySchema = z.object({ action: z.string(), comment: commentSchema.optional() });

// GET /rest/api/latest/users with a `permission.1` filter: the users who hold that permission on
// the repository, through a project grant or a group too. `filter` matches the name, display
// name or e-mail anywhere, so the name is compared after.
const userSchema = z.object({ name: z.string(), active: z.boolean().optional() });

// GET /rest/build-status/latest/commits/{commitId}: every build status of the commit. Deprecated
// since 7.14 for the repository-scoped builds resource, whose GET answers one key only; this is
// the only call that lists them.
const buildSchema = z.object({ key: z.string(), state: z.string(), dateAdded: z.number().optional() });

/** A build state in common words: SUCCESSFUL passes, INPROGRESS and UNKNOWN wait, FAILED and CANCELLED fail. */
function buildState(state: string): CommitCheck['state'] {
  if (state === 'SUCCESSFUL') return 'success';
  return state === 'FAILED' || state === 'CANCELLED' ? 'failure' : 'pending';
}

/** Every comment of a thread, replies included. */
function flatten(comment: DcComment): DcComment[] {
  return [comment, ...(comment.comments ?? []).flatMap(flatten)];
}

/**
 * The pull-request calls on Bitbucket Data Center: pull requests, their comments (from the
 * activities), who may write to the repository, and build statuses. Users are named by their
 * username (`name`). Data Center has no deployment API that shows a URL on the pull request:
 * previews are reported there with a build status and a comment.
 */
export function bitbucketServerPullRequestCalls(
  deps: BitbucketServerCallDeps,
): Required<Pick<ForgeApi, 'openPullRequests' | 'pullRequest' | 'listComments' | 'canPush' | 'commitChecks'>> {
  const { headers, repoUrl } = deps;

  /** Every page of a paged listing (`start`, `limit`, `isLastPage`, `nextPageStart`). */
  async function pages(what: string, url: string): Promise<unknown[]> {
    const out: unknown[] = [];
    let start = 0;
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw tooManyPages(what);
      const answer = readAnswer(what, pageSchema, await restCall(what, 'GET', `${url}${url.includes('?') ? '&' : '?'}limit=100&start=${start}`, headers));
      out.push(...answer.values);
      if (answer.isLastPage !== false || answer.nextPageStart === undefined || answer.nextPageStart === null) return out;
      start = answer.nextPageStart;
    }
  }

  return {
    async openPullRequests(repo, baseBranch) {
      const what = `Bitbucket DC pull requests of ${repo} into ${baseBranch}`;
      const at = encodeURIComponent(`refs/heads/${baseBranch}`);
      const list = readAnswer(what, z.array(pullSchema), await pages(what, `${repoUrl(repo)}/pull-requests?state=OPEN&direction=INCOMING&at=${at}`));
      return list.filter((p) => p.toRef.id === `refs/heads/${baseBranch}`).map(toPull);
    },
    async pullRequest(repo, number) {
      const what = `Bitbucket DC pull request ${repo}#${number}`;
      const data = await unless404(() => restCall<unknown>(what, 'GET', `${repoUrl(repo)}/pull-requests/${number}`, headers), REPOSITORY_GONE);
      if (data === undefined) return undefined;
      const p = readAnswer(what, pullSchema, data);
      // DECLINED: closed.
      return { ...toPull(p), state: p.state === 'OPEN' ? 'open' : p.state === 'MERGED' ? 'merged' : 'closed' };
    },
    async listComments(repo, number) {
      const what = `Bitbucket DC comments of ${repo}#${number}`;
      // The activities carry each comment with its current text and its replies; a deleted
      // comment is no longer there.
      const activities = readAnswer(what, z.array(activitySchema), await pages(what, `${repoUrl(repo)}/pull-requests/${number}/activities`));
      const byId = new Map<number, DcComment>();
      for (const a of activities) if (a.action === 'COMMENTED' && a.comment) for (const c of flatten(a.comment)) byId.set(c.id, c);
      return [...byId.values()]
        .map((c): PullRequestComment => ({ id: String(c.id), author: c.author.name, body: c.text, at: c.createdDate }))
        .sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
    },
    /**
     * True when the user holds REPO_WRITE (or more) on the repository, directly, through the
     * project or through a group: the users resource filtered by that permission, which any
     * licensed user may read. An unknown or deactivated user: false.
     */
    async canPush(repo, user) {
      const what = `Bitbucket DC permission of ${user} on ${repo}`;
      const [project = '', slug = ''] = repo.split('/');
      const query = new URLSearchParams({
        filter: user,
        'permission.1': 'REPO_WRITE',
        'permission.1.projectKey': project,
        'permission.1.repositorySlug': slug,
      });
      const users = readAnswer(what, z.array(userSchema), await pages(what, `${deps.url}/rest/api/latest/users?${query.toString()}`));
      return users.some((u) => u.name.toLowerCase() === user.toLowerCase() && u.active !== false);
    },
    async commitChecks(repo, sha) {
      const what = `Bitbucket DC build statuses of ${repo}@${sha.slice(0, 7)}`;
      const builds = readAnswer(what, z.array(buildSchema), await pages(what, `${deps.url}/rest/build-status/latest/commits/${sha}`));
      const newest = new Map<string, z.infer<typeof buildSchema>>();
      for (const b of builds) {
        const seen = newest.get(b.key);
        if (!seen || (b.dateAdded ?? 0) > (seen.dateAdded ?? 0)) newest.set(b.key, b);
      }
      return onePerContext([...newest.values()].map((b) => ({ context: b.key, state: buildState(b.state) })));
    },
  };
}
