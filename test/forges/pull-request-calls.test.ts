/**
 * The forge calls previews make (src/forges/<forge>/pull-requests.ts), each run with Landfall's
 * own client against the forge's stand-in (test/support/forge-api): open pull requests with
 * labels and author across pages, one pull request (404: undefined), comments oldest first,
 * whether a user may push, a commit's checks in common words, and the preview environments
 * (GitHub Deployments, GitLab environments). Failures come back classified: a 500 or a dropped
 * connection is transient, a 403 permanent, and a listing that fails half-way answers nothing.
 */
import t from 'tap';
import { createBitbucketServerApi } from '../../src/forges/bitbucket-server/api.js';
import { createBitbucketApi } from '../../src/forges/bitbucket/api.js';
import { ForgeApiError } from '../../src/forges/forge-api-error.js';
import type { ForgeApi as LandfallApi } from '../../src/forges/forge-api.js';
import { createGiteaApi } from '../../src/forges/gitea/api.js';
import { createGithubApi } from '../../src/forges/github/api.js';
import { createGitlabApi } from '../../src/forges/gitlab/api.js';
import { startForgeApi, type ForgeApi, type ForgeApiOptions, type ForgeId } from '../support/forge-api/index.js';

const TOKEN = 'forge-test-token-1234';
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const SHA2 = '89e6c98d92887913cadf06b2adb97f26cde4849b';

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

async function start(tt: TeardownHost, forge: ForgeId, options: Partial<ForgeApiOptions> = {}): Promise<ForgeApi> {
  const api = await startForgeApi(forge, { token: TOKEN, ...options });
  tt.teardown(() => api.close());
  return api;
}

/** Landfall's client for the stand-in. */
function client(forge: ForgeApi): LandfallApi {
  switch (forge.forge) {
    case 'github':
      return createGithubApi({ apiUrl: forge.url, token: TOKEN });
    case 'gitlab':
      return createGitlabApi({ url: forge.url, token: TOKEN });
    case 'gitea':
      return createGiteaApi({ url: forge.url, token: TOKEN });
    case 'bitbucket':
      return createBitbucketApi({ apiUrl: forge.url, token: TOKEN });
    case 'bitbucket-server':
      return createBitbucketServerApi({ url: forge.url, token: TOKEN });
  }
}

/** The rejection of a promise that must fail. */
async function failure(promise: Promise<unknown>): Promise<ForgeApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ForgeApiError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Names forges use for one repository in the tests. */
const REPO: Record<ForgeId, string> = {
  github: 'acme/web',
  gitlab: 'acme/platform/web',
  gitea: 'acme/web',
  bitbucket: 'acme/web',
  'bitbucket-server': 'ACME/web',
};

/** A commenter per forge: Bitbucket Cloud names accounts by `{uuid}`. */
const MAINTAINER: Record<ForgeId, string> = {
  github: 'maintainer',
  gitlab: 'maintainer',
  gitea: 'maintainer',
  bitbucket: '{0a0a0a0a-0000-4000-8000-00000000000a}',
  'bitbucket-server': 'maintainer',
};
const OUTSIDER: Record<ForgeId, string> = {
  github: 'outsider',
  gitlab: 'outsider',
  gitea: 'outsider',
  bitbucket: '{0b0b0b0b-0000-4000-8000-00000000000b}',
  'bitbucket-server': 'outsider',
};

/** Whether the forge's pull requests carry labels. */
const LABELS: Record<ForgeId, boolean> = { github: true, gitlab: true, gitea: true, bitbucket: false, 'bitbucket-server': false };

const FORGES: ForgeId[] = ['github', 'gitlab', 'gitea', 'bitbucket', 'bitbucket-server'];

/** The path of each forge's pull-request listing. */
const PULLS_PATH: Record<ForgeId, RegExp> = {
  github: /\/pulls$/,
  gitlab: /\/merge_requests$/,
  gitea: /\/pulls$/,
  bitbucket: /\/pullrequests$/,
  'bitbucket-server': /\/pull-requests$/,
};

for (const forge of FORGES) {
  t.test(forge, async (t) => {
    const repo = REPO[forge];

    t.test('openPullRequests: every page, into the base branch only, with labels and author', async (t) => {
      const api = await start(t, forge);
      for (let n = 1; n <= 130; n++) {
        api.seedPullRequest(repo, {
          number: n,
          headSha: n % 2 ? SHA : SHA2,
          headBranch: `feature-${n}`,
          baseBranch: n === 3 ? 'staging' : 'main',
          ...(n === 4 ? { state: 'closed' as const } : n === 5 ? { state: 'merged' as const } : {}),
          ...(n === 7 ? { fork: true } : {}),
          labels: n === 1 ? ['preview', 'needs-review'] : [],
          author: n === 1 ? MAINTAINER[forge] : OUTSIDER[forge],
        });
      }
      const open = await client(api).openPullRequests!(repo, 'main');
      t.equal(open.length, 127, '130 seeded, one into staging, one closed, one merged');
      const first = open.find((p) => p.number === 1);
      t.match(first, { number: 1, headSha: SHA, headBranch: 'feature-1', headRepo: repo, baseBranch: 'main', author: MAINTAINER[forge] });
      if (LABELS[forge]) t.same(first?.labels, ['preview', 'needs-review']);
      else t.notOk(first?.labels?.length, 'no labels on this forge');
      // GitLab names only the fork's project id: empty, which is not this repository either.
      t.match(
        open.find((p) => p.number === 7),
        { headSha: SHA, headRepo: forge === 'gitlab' ? '' : /fork-owner\/web/i },
        'a fork is not this repository',
      );
      t.notOk(
        open.some((p) => [3, 4, 5].includes(p.number)),
        'not the closed, merged or other-branch ones',
      );
      t.ok(api.requests.filter((r) => r.method === 'GET').length >= 2, 'more than one page was read');
      t.same(api.unexpected, []);
    });

    t.test('pullRequest: open, closed, merged, and undefined for one that does not exist', async (t) => {
      const api = await start(t, forge);
      api.seedPullRequest(repo, { number: 11, headSha: SHA, headBranch: 'a', baseBranch: 'main', labels: ['preview'], author: MAINTAINER[forge] });
      api.seedPullRequest(repo, { number: 12, headSha: SHA, headBranch: 'b', baseBranch: 'main', state: 'closed' });
      api.seedPullRequest(repo, { number: 13, headSha: SHA, headBranch: 'c', baseBranch: 'main', state: 'merged' });
      const lf = client(api);
      t.match(await lf.pullRequest!(repo, 11), { number: 11, state: 'open', headSha: SHA, headBranch: 'a', baseBranch: 'main', author: MAINTAINER[forge] });
      t.match(await lf.pullRequest!(repo, 12), { state: 'closed' });
      t.match(await lf.pullRequest!(repo, 13), { state: 'merged' });
      t.equal(await lf.pullRequest!(repo, 99), undefined);
      api.updatePullRequest(repo, 11, { headSha: SHA2, state: 'closed' });
      t.match(await lf.pullRequest!(repo, 11), { state: 'closed', headSha: SHA2 }, 'what the forge says now');
      t.same(api.unexpected, []);
    });

    t.test('listComments: oldest first, every page, deleted and system ones left out', async (t) => {
      const api = await start(t, forge);
      api.seedPullRequest(repo, { number: 7, headSha: SHA, headBranch: 'a', baseBranch: 'main' });
      const ids: number[] = [];
      for (let i = 0; i < 120; i++) ids.push(api.seedComment(7, `comment ${i}`, { repo, author: i === 0 ? MAINTAINER[forge] : OUTSIDER[forge] }).id);
      api.deleteComment(ids[5]!);
      api.seedComment(7, 'added 1 commit', { repo, author: MAINTAINER[forge], system: true });
      api.seedComment(8, 'another pull request', { repo });
      const comments = await client(api).listComments!(repo, 7);
      const expected = 120 - 1 + (forge === 'gitlab' ? 0 : 1);
      t.equal(comments.length, expected, forge === 'gitlab' ? 'the system note is not anyone’s' : 'one deleted');
      t.match(comments[0], { id: String(ids[0]), author: MAINTAINER[forge], body: 'comment 0' });
      t.type(comments[0]?.at, 'number');
      t.ok(
        comments.every((c, i) => i === 0 || c.at >= comments[i - 1]!.at),
        'oldest first',
      );
      t.notOk(
        comments.some((c) => c.body === 'comment 5'),
        'the deleted one is gone',
      );
      t.same(api.unexpected, []);
    });

    t.test('canPush: write and above may, read and strangers may not', async (t) => {
      const api = await start(t, forge);
      api.seedPermission(repo, MAINTAINER[forge], 'write');
      api.seedPermission(repo, OUTSIDER[forge], 'read');
      api.seedPermission(repo, 'admin-person', 'admin');
      api.seedPermission('acme/other', 'elsewhere', 'admin');
      const lf = client(api);
      t.equal(await lf.canPush!(repo, MAINTAINER[forge]), true, 'write');
      t.equal(await lf.canPush!(repo, OUTSIDER[forge]), false, 'read');
      if (forge !== 'bitbucket') {
        t.equal(await lf.canPush!(repo, 'admin-person'), true, 'admin');
        t.equal(await lf.canPush!(repo, 'elsewhere'), false, 'admin of another repository only');
        t.equal(await lf.canPush!(repo, 'nobody-at-all'), false, 'an unknown user');
      } else {
        t.equal(await lf.canPush!(repo, 'admin-person'), false, 'a nickname is never trusted: only an account uuid');
        t.equal(api.requests.filter((r) => r.path.includes('/permissions/')).length, 2, 'and not even asked about');
      }
      t.same(api.unexpected, []);
    });

    t.test('failures are classified, and a listing failing on its second page answers nothing', async (t) => {
      const api = await start(t, forge);
      for (let n = 1; n <= 120; n++) api.seedPullRequest(repo, { number: n, headSha: SHA, headBranch: `f${n}`, baseBranch: 'main' });
      const lf = client(api);
      // A sweep compares this list with the live previews: part of it must never pass for all of it.
      api.failNext({ method: 'GET', pathRegex: PULLS_PATH[forge], status: 500, skip: 1 });
      const pages = () => api.requests.filter((r) => PULLS_PATH[forge].test(r.path));
      const second = await failure(lf.openPullRequests!(repo, 'main'));
      t.same([second.status, second.transient], [500, true], 'a 500 is transient');
      t.equal(pages().length, 2, 'the first page was read, the second failed');
      t.equal((await lf.openPullRequests!(repo, 'main')).length, 120, 'all of it once the forge answers');
      api.down(true, 'reset');
      const reset = await failure(lf.commitChecks!(repo, SHA));
      // Octokit reports a dropped connection as a 500 of its own; plain fetch as no status.
      t.same([reset.status, reset.transient], [forge === 'github' ? 500 : 0, true], 'no answer at all: transient');
      api.down(false);
      api.failNext({ method: 'GET', status: 403 });
      const denied = await failure(lf.listComments!(repo, 1));
      t.same([denied.status, denied.transient], [403, false], 'a 403 is permanent');
      api.failNext({ method: 'GET', status: 429, headers: { 'Retry-After': '7' } });
      const limited = await failure(lf.pullRequest!(repo, 1));
      t.match(limited, { status: 429, transient: true, retryAfterMs: 7000 }, 'a 429 waits as told');
      t.same(api.unexpected, []);
    });
  });
}
