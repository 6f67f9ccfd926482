/**
 * The forge calls previews make (src/forges/<forge>/pull-requests.ts), each run with Landfall's
 * own client against the forge's stand-in (test/support/forge-api): open pull requests with
 * labels and author across pages, one pull request (404: undefined), comments oldest first,
 * whether a user may push, a commit's checks in common words, and the preview environments
 * (GitHub Deployments, GitLab environments). Failures come back classified: a 500 or a dropped
 * connection is transient, a 403 permanent, and a listing that fails half-way answers nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { createBitbucketServerApi } from '../../src/forges/bitbucket-server/api.js';
import { createBitbucketApi } from '../../src/forges/bitbucket/api.js';
import { ForgeApiError } from '../../src/forges/forge-api-error.js';
import type { ForgeApi as LandfallApi, PreviewEnvironment } from '../../src/forges/forge-api.js';
import { createGiteaApi } from '../../src/forges/gitea/api.js';
import { createGithubApi } from '../../src/forges/github/api.js';
import { createGitlabApi } from '../../src/forges/gitlab/api.js';
import { startForgeApi, type ForgeApi, type ForgeApiOptions, type ForgeId } from '../support/forge-api/index.js';

const TOKEN = 'forge-test-token-1234';
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const SHA2 = '89e6c98d92887913cadf06b2adb97f26cde4849b';
const SHA3 = 'c0ffee0000000000000000000000000000000003';

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
      t.ok(Number.isFinite(comments[0]?.at), 'a time');
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

/** Statuses a CI posts, in each forge's words, and what Landfall makes of them. */
const CI: Record<ForgeId, { state: string; expect: 'success' | 'pending' | 'failure' }[]> = {
  github: [
    { state: 'success', expect: 'success' },
    { state: 'pending', expect: 'pending' },
    { state: 'failure', expect: 'failure' },
    { state: 'error', expect: 'failure' },
  ],
  gitlab: [
    { state: 'success', expect: 'success' },
    { state: 'running', expect: 'pending' },
    { state: 'pending', expect: 'pending' },
    { state: 'failed', expect: 'failure' },
    { state: 'canceled', expect: 'failure' },
    { state: 'skipped', expect: 'failure' },
  ],
  gitea: [
    { state: 'success', expect: 'success' },
    { state: 'pending', expect: 'pending' },
    { state: 'failure', expect: 'failure' },
    { state: 'error', expect: 'failure' },
    { state: 'warning', expect: 'failure' },
  ],
  bitbucket: [
    { state: 'SUCCESSFUL', expect: 'success' },
    { state: 'INPROGRESS', expect: 'pending' },
    { state: 'FAILED', expect: 'failure' },
    { state: 'STOPPED', expect: 'failure' },
  ],
  'bitbucket-server': [
    { state: 'SUCCESSFUL', expect: 'success' },
    { state: 'INPROGRESS', expect: 'pending' },
    { state: 'UNKNOWN', expect: 'pending' },
    { state: 'FAILED', expect: 'failure' },
    { state: 'CANCELLED', expect: 'failure' },
  ],
};

for (const forge of FORGES) {
  t.test(`${forge}: commitChecks in common words, the newest per context, every page`, async (t) => {
    const api = await start(t, forge);
    const repo = REPO[forge];
    const words = CI[forge];
    words.forEach((w, i) => api.seedStatus(SHA, `ci/${String(i)}-${w.state}`, w.state));
    // A context posted twice: the later post stands (a re-run that passed).
    api.seedStatus(SHA, 'ci/rerun', words.find((w) => w.expect === 'failure')!.state);
    api.seedStatus(SHA, 'ci/rerun', words[0]!.state);
    for (let i = 0; i < 120; i++) api.seedStatus(SHA, `bulk/${String(i)}`, words[0]!.state);
    api.seedStatus(SHA2, 'ci/other-commit', words[0]!.state);
    const checks = await client(api).commitChecks!(repo, SHA);
    const byContext = new Map(checks.map((c) => [c.context, c.state]));
    t.equal(checks.length, words.length + 1 + 120, 'one per context, across pages, this commit only');
    words.forEach((w, i) => t.equal(byContext.get(`ci/${String(i)}-${w.state}`), w.expect, `${w.state} → ${w.expect}`));
    t.equal(byContext.get('ci/rerun'), 'success', 'the newest post per context');
    t.same(api.unexpected, []);
  });
}

t.test('github: check runs count too; the newest run per name, the worse of a status and a run of one name', async (t) => {
  const api = await start(t, 'github');
  api.seedCheckRun('acme/web', SHA, 'test', { conclusion: 'failure' });
  api.seedCheckRun('acme/web', SHA, 'test', { conclusion: 'success' });
  api.seedCheckRun('acme/web', SHA, 'e2e', { status: 'in_progress' });
  api.seedCheckRun('acme/web', SHA, 'docs', { conclusion: 'skipped' });
  api.seedCheckRun('acme/web', SHA, 'lint', { conclusion: 'neutral' });
  api.seedCheckRun('acme/web', SHA, 'deploy', { conclusion: 'timed_out' });
  api.seedCheckRun('acme/web', SHA, 'build', { conclusion: 'success' });
  api.seedStatus(SHA, 'build', 'failure');
  for (let i = 0; i < 105; i++) api.seedCheckRun('acme/web', SHA, `matrix-${String(i)}`, { conclusion: 'success' });
  const checks = new Map((await client(api).commitChecks!('acme/web', SHA)).map((c) => [c.context, c.state]));
  t.same(
    ['test', 'e2e', 'docs', 'lint', 'deploy', 'build'].map((n) => checks.get(n)),
    ['success', 'pending', 'success', 'success', 'failure', 'failure'],
  );
  t.equal(checks.size, 6 + 105, 'check runs across pages');
  t.same(api.unexpected, []);
});

const ENV: PreviewEnvironment = {
  repo: 'acme/web',
  environment: 'web-pr-7',
  sha: SHA,
  ref: 'feature',
  url: 'https://web-pr-7.preview.example.com',
  logUrl: 'https://landfall.example.com/syncs/1',
  description: 'Preview of #7',
};

t.test('github: a preview is a deployment in a transient environment; older ones and a retired one become inactive', async (t) => {
  const api = await start(t, 'github');
  const lf = client(api);
  await lf.reportEnvironment!(ENV, 'in_progress');
  await lf.reportEnvironment!(ENV, 'success');
  t.equal(api.deployments.length, 1, 'one deployment per commit and environment');
  t.match(api.deployments[0], {
    sha: SHA,
    ref: SHA,
    environment: 'web-pr-7',
    transient: true,
    production: false,
    description: 'Preview of #7',
    statuses: [
      { state: 'in_progress', environmentUrl: ENV.url, logUrl: ENV.logUrl },
      { state: 'success', environmentUrl: ENV.url, logUrl: ENV.logUrl },
    ],
  });
  t.match(api.requests.find((r) => r.method === 'POST' && r.path.endsWith('/deployments'))?.body, {
    auto_merge: false,
    required_contexts: [],
    transient_environment: true,
    production_environment: false,
  });

  // New commits: a new deployment; GitHub's auto_inactive skips transient environments, Landfall does it.
  await lf.reportEnvironment!({ ...ENV, sha: SHA2 }, 'in_progress');
  t.equal(api.deployments[0]?.statuses.at(-1)?.state, 'success', 'the old one stays live while the new one deploys');
  await lf.reportEnvironment!({ ...ENV, sha: SHA2 }, 'success');
  t.same(
    api.deployments.map((d) => [d.sha, d.statuses.at(-1)?.state, d.statuses.at(-1)?.auto]),
    [
      [SHA, 'inactive', false],
      [SHA2, 'success', false],
    ],
  );
  // A failed sync of a third commit leaves the live one alone.
  await lf.reportEnvironment!({ ...ENV, sha: SHA3 }, 'failure');
  t.equal(api.deployments[1]?.statuses.at(-1)?.state, 'success');

  await lf.retireEnvironment!('acme/web', 'web-pr-7');
  t.same(
    api.deployments.map((d) => d.statuses.at(-1)?.state),
    ['inactive', 'inactive', 'failure'],
    'the live deployment is inactive (GitHub shows a transient one as destroyed); the failed one is left as it was',
  );
  const writes = api.requests.filter((r) => r.method === 'POST').length;
  await lf.retireEnvironment!('acme/web', 'web-pr-7');
  t.equal(api.requests.filter((r) => r.method === 'POST').length, writes, 'retiring twice writes nothing');
  await lf.retireEnvironment!('acme/web', 'web-pr-99');
  t.same(api.unexpected, []);
});

t.test('github: an App without the Deployments permission gets a permanent 403', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const permissions = { statuses: 'write', pull_requests: 'write', issues: 'write', contents: 'read', metadata: 'read' } as const;
  const api = await start(t, 'github', { app: { appId: 77, publicKey, installations: { 'acme/web': 9 }, permissions } });
  const lf = createGithubApi({ apiUrl: api.url, app: { appId: 77, privateKey } });
  api.seedPullRequest('acme/web', { number: 7, headSha: SHA, headBranch: 'feature', baseBranch: 'main' });
  t.match(await lf.pullRequest!('acme/web', 7), { number: 7, state: 'open' }, 'pull requests: fine');
  const denied = await failure(lf.reportEnvironment!(ENV, 'success'));
  t.same([denied.status, denied.transient], [403, false]);
  t.match(denied.message, /Resource not accessible by integration/);
  t.equal(api.deployments.length, 0);
  t.equal(api.unexpected.length, 1, 'the stand-in notes the missing permission');
});

t.test('gitlab: a preview is an environment with the preview URL; retiring stops it; a reopened one starts afresh', async (t) => {
  const api = await start(t, 'gitlab');
  const lf = client(api);
  const env = { ...ENV, repo: 'acme/platform/web' };
  await lf.reportEnvironment!(env, 'in_progress');
  t.match(api.environments, [{ name: 'web-pr-7', externalUrl: ENV.url, state: 'available', tier: 'development' }]);
  const writes = () => api.requests.filter((r) => r.method !== 'GET').length;
  const before = writes();
  await lf.reportEnvironment!(env, 'success');
  t.equal(writes(), before, 'nothing to change: nothing written');
  await lf.reportEnvironment!({ ...env, url: 'https://moved.example.com' }, 'success');
  t.match(api.environments, [{ externalUrl: 'https://moved.example.com' }]);
  t.equal(api.requests.at(-1)?.method, 'PUT');

  await lf.retireEnvironment!('acme/platform/web', 'web-pr-7');
  t.match(api.environments, [{ state: 'stopped' }]);
  const stopped = writes();
  await lf.retireEnvironment!('acme/platform/web', 'web-pr-7');
  t.equal(writes(), stopped, 'a stopped one is left alone');

  // Reopened: GitLab starts a stopped environment only with a deployment; it is made again.
  const oldId = api.environments[0]?.id;
  await lf.reportEnvironment!(env, 'in_progress');
  t.match(api.environments, [{ name: 'web-pr-7', state: 'available', externalUrl: ENV.url }]);
  t.not(api.environments[0]?.id, oldId);
  await lf.retireEnvironment!('acme/platform/web', 'no-such-preview');

  // Stopped by someone meanwhile (404 on stop): fine.
  api.failNext({ method: 'POST', pathRegex: /\/stop$/, status: 404 });
  await lf.retireEnvironment!('acme/platform/web', 'web-pr-7');
  t.same(api.unexpected, []);
});

t.test('gitlab: an environment created meanwhile by another worker is updated, not an error', async (t) => {
  const api = await start(t, 'gitlab');
  api.seedEnvironment('acme/platform/web', { name: 'web-pr-7', externalUrl: 'https://old.example.com' });
  // The first look finds nothing (the other worker had not created it yet); the create is refused.
  api.failNext({ method: 'GET', pathRegex: /\/environments$/, status: 200, body: [] });
  await client(api).reportEnvironment!({ ...ENV, repo: 'acme/platform/web' }, 'success');
  t.match(api.environments, [{ name: 'web-pr-7', externalUrl: ENV.url }]);
  t.same(
    api.requests.map((r) => `${r.method} ${r.status}`),
    ['GET 200', 'POST 400', 'GET 200', 'PUT 200'],
  );
  t.same(api.unexpected, []);
});

t.test('forges without a deployment API have no reportEnvironment: the caller posts a status and a comment there', async (t) => {
  for (const forge of ['gitea', 'bitbucket', 'bitbucket-server'] as const) {
    const api = await start(t, forge);
    const lf = client(api);
    t.notOk('reportEnvironment' in lf || 'retireEnvironment' in lf, forge);
    t.ok('pullRequest' in lf && 'commitChecks' in lf, `${forge} has the other calls`);
  }
});

t.test('canPush names the missing right when the token may not see other users’ permissions (Gitea, Bitbucket Cloud)', async (t) => {
  const gitea = await start(t, 'gitea');
  gitea.failNext({ method: 'GET', pathRegex: /\/permission$/, status: 403 });
  const g = await failure(client(gitea).canPush!('acme/web', 'maintainer'));
  t.same([g.status, g.transient], [403, false]);
  t.match(g.message, /Only admins can query all permissions.*give forges\.gitea\.token admin rights on acme\/web/);
  const bb = await start(t, 'bitbucket');
  bb.failNext({ method: 'GET', pathRegex: /\/permissions\//, status: 403 });
  const b = await failure(client(bb).canPush!('acme/web', MAINTAINER.bitbucket));
  t.match(b.message, /give forges\.bitbucket\.token admin rights on acme\/web/);
  t.same([...gitea.unexpected, ...bb.unexpected], []);
});

t.test('gitea: the owner may push; GitLab: a Reporter may not, a Maintainer may', async (t) => {
  const gitea = await start(t, 'gitea');
  t.equal(await client(gitea).canPush!('acme/web', 'acme'), true, 'the repository owner (permission "owner")');
  const gitlab = await start(t, 'gitlab');
  gitlab.seedPermission('acme/platform/web', 'reporter', 'read');
  gitlab.seedPermission('acme/platform/web', 'planner', 'triage');
  gitlab.seedPermission('acme/platform/web', 'keeper', 'maintain');
  const gl = client(gitlab);
  t.same(await Promise.all(['reporter', 'planner', 'keeper'].map((u) => gl.canPush!('acme/platform/web', u))), [false, false, true]);
  t.same([...gitea.unexpected, ...gitlab.unexpected], []);
});

t.test('a pull request of a repository the token cannot see is an error, not "no such pull request" (GitLab, Data Center)', async (t) => {
  const gitlab = await start(t, 'gitlab', { repos: ['acme/platform/web'] });
  const g = await failure(client(gitlab).pullRequest!('acme/gone', 1));
  t.equal(g.status, 404);
  const dc = await start(t, 'bitbucket-server', { repos: ['ACME/web'] });
  const d = await failure(client(dc).pullRequest!('ACME/gone', 1));
  t.equal(d.status, 404);
  t.equal(gitlab.unexpected.length + dc.unexpected.length, 2, 'both stand-ins note the unknown repository');
});

t.test('an answer of another shape is a permanent error naming the field', async (t) => {
  const api = await start(t, 'gitea');
  api.failNext({ method: 'GET', pathRegex: /\/pulls\/7$/, status: 200, body: { number: '7', state: 'open' } });
  const err = await failure(client(api).pullRequest!('acme/web', 7));
  t.same([err.status, err.transient], [0, false]);
  t.match(err.message, /Gitea pull request acme\/web#7 answered in a shape Landfall does not know \(number: /);
  t.same(api.unexpected, []);
});
