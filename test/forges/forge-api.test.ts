/**
 * Tests of the forge API stand-ins themselves (test/support/forge-api): each forge is driven with
 * the client Landfall uses for it (@octokit/rest and @octokit/auth-app for GitHub, @gitbeaker/rest
 * for GitLab, plain fetch for Bitbucket Cloud, Bitbucket Data Center, Gitea and GitLab's hook
 * events) and checked for what it stores, what it answers and what it records as unexpected.
 * No sleeps: state changes are awaited; time-dependent cases move the stand-in's clock.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import t from 'tap';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { Gitlab } from '@gitbeaker/rest';
import { startForgeApi, type ForgeApi, type ForgeApiOptions, type ForgeId, type GitHubAppOptions, type GitHubDelivery } from '../support/forge-api/index.js';

// Response bodies are checked field by field; a loose type keeps that readable.
type Obj = Record<string, any>;

const TOKEN = 'forge-test-token-1234';
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const SHA2 = '89e6c98d92887913cadf06b2adb97f26cde4849b';
const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

async function start(tt: TeardownHost, forge: ForgeId, options: Partial<ForgeApiOptions> = {}): Promise<ForgeApi> {
  const api = await startForgeApi(forge, { token: TOKEN, ...options });
  tt.teardown(() => api.close());
  return api;
}

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** Plain fetch against the stand-in, JSON in and out. */
async function call(
  url: string,
  method: string,
  options: { auth?: string | null; body?: unknown; contentType?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json', ...(options.headers ?? {}) };
  if (options.auth !== null) headers['authorization'] = options.auth ?? `Bearer ${TOKEN}`;
  if (options.body !== undefined && options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, headers: res.headers, body };
}

/** The rejection of a promise that must fail (a resolved promise fails the test). */
async function failure(promise: Promise<unknown>): Promise<Obj> {
  try {
    await promise;
  } catch (err) {
    return err as Obj;
  }
  throw new Error('expected the call to fail');
}

function octokit(api: ForgeApi, token = TOKEN): Octokit {
  return new Octokit({ auth: token, baseUrl: api.url, log: QUIET });
}

t.test('github', async (t) => {
  t.test('createCommitStatus is stored, in order, context compared case-insensitively', async (t) => {
    const gh = await start(t, 'github');
    t.equal(gh.url, `${gh.origin}/api/v3`);
    const ok = octokit(gh);
    const res = await ok.rest.repos.createCommitStatus({
      owner: 'acme',
      repo: 'web',
      sha: SHA,
      state: 'pending',
      target_url: 'https://landfall.example/deploys/1',
      description: 'Deploying to prod',
      context: 'landfall/prod',
    });
    t.equal(res.status, 201);
    t.match(res.data, { state: 'pending', context: 'landfall/prod', description: 'Deploying to prod', target_url: 'https://landfall.example/deploys/1' });
    t.type(res.data.id, 'number');
    t.match(res.headers.location, /\/api\/v3\/repos\/acme\/web\/statuses\//);
    t.equal(res.headers['x-ratelimit-remaining'], '4999');

    await ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success', context: 'Landfall/Prod' });
    const list = gh.statuses.get(`${SHA}|landfall/prod`);
    t.equal(list?.length, 2, 'both posts under the first-seen context');
    t.match(gh.statuses.latest(SHA, 'LANDFALL/PROD'), { sha: SHA, state: 'success', context: 'Landfall/Prod', description: null, targetUrl: null });

    const req = gh.requests[0]!;
    t.equal(req.method, 'POST');
    t.equal(req.path, `/api/v3/repos/acme/web/statuses/${SHA}`);
    t.equal(req.headers['authorization'], `token ${TOKEN}`);
    t.equal(req.headers['accept'], 'application/vnd.github.v3+json');
    t.same(req.body, { state: 'pending', target_url: 'https://landfall.example/deploys/1', description: 'Deploying to prod', context: 'landfall/prod' });
    t.equal(req.status, 201);
    t.equal(req.route, 'POST /repos/{owner}/{repo}/statuses/{sha}');
    t.same(gh.unexpected, []);
  });

  t.test('Bearer is accepted; a wrong or missing token is a 401 recorded unexpected', async (t) => {
    const gh = await start(t, 'github');
    const bearer = await call(`${gh.url}/repos/acme/web/statuses/${SHA}`, 'POST', { body: { state: 'success' } });
    t.equal(bearer.status, 201);
    t.match(await failure(octokit(gh, 'wrong-token').rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' })), {
      status: 401,
      response: { data: { message: 'Bad credentials', status: '401' } },
    });
    const none = await call(`${gh.url}/repos/acme/web/statuses/${SHA}`, 'POST', { auth: null, body: { state: 'success' } });
    t.equal(none.status, 401);
    t.equal(none.body.message, 'Requires authentication');
    t.equal(gh.unexpected.length, 2);
    t.match(gh.unexpected[0], { status: 401, reason: 'wrong token' });
    t.equal(gh.statuses.all().length, 1, 'refused posts are not stored');
  });

  t.test('an unknown route is a 404 recorded unexpected', async (t) => {
    const gh = await start(t, 'github');
    t.match(await failure(octokit(gh).request('GET /repos/{owner}/{repo}/commits/{ref}/check-suites', { owner: 'acme', repo: 'web', ref: SHA })), {
      status: 404,
    });
    t.equal(gh.unexpected.length, 1);
    t.match(gh.unexpected[0]!.reason, /no route for GET/);
    // A known path with the wrong method is a 404 too on GitHub.
    const del = await call(`${gh.url}/repos/acme/web/statuses/${SHA}`, 'DELETE', { auth: `token ${TOKEN}` });
    t.equal(del.status, 404);
    t.equal(gh.unexpected.length, 2);
  });

  t.test('the 140-character description rule and the full-sha rule', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    await ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success', description: 'x'.repeat(140), context: 'c' });
    t.same(gh.unexpected, [], '140 characters is fine');
    const err = await ok.rest.repos
      .createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success', description: 'x'.repeat(141), context: 'c' })
      .then(
        () => undefined,
        (e: Obj) => e,
      );
    t.equal(err?.status, 422);
    t.same(err?.response.data, {
      message: 'Validation Failed',
      errors: [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }],
      documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
      status: '422',
    });
    t.equal(gh.unexpected.length, 1);
    t.match(gh.unexpected[0]!.reason, /description is 141 characters \(maximum 140\)/);
    t.equal(gh.statuses.latest(SHA, 'c')?.description, 'x'.repeat(140), 'the refused post was not stored');

    t.match(await failure(ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA.slice(0, 7), state: 'success' })), {
      status: 422,
      response: { data: { message: `No commit found for SHA: ${SHA.slice(0, 7)}` } },
    });
    t.match(await failure(ok.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'acme', repo: 'web', sha: SHA, state: 'done' as 'success' })), {
      status: 422,
    });
    t.match(
      await failure(ok.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'acme', repo: 'web', sha: SHA, state: 'success', targetUrl: 'x' })),
      {
        status: 422,
      },
    );
    t.equal(gh.unexpected.length, 4);
    t.match(gh.unexpected[3]!.reason, /targetUrl is not a documented field/);
  });

  t.test('issue comments: create, list with pagination, edit in place', async (t) => {
    const gh = await start(t, 'github', { login: 'landfall[bot]' });
    const ok = octokit(gh);
    const created = await ok.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 7, body: '<!-- landfall --> deploying' });
    t.equal(created.status, 201);
    t.match(created.data, { body: '<!-- landfall --> deploying', user: { login: 'landfall[bot]', type: 'Bot' } });
    const listed = await ok.rest.issues.listComments({ owner: 'acme', repo: 'web', issue_number: 7, per_page: 100 });
    t.equal(listed.data.length, 1);
    const updated = await ok.rest.issues.updateComment({ owner: 'acme', repo: 'web', comment_id: listed.data[0]!.id, body: '<!-- landfall --> deployed' });
    t.equal(updated.status, 200);
    t.equal(updated.data.body, '<!-- landfall --> deployed');

    const comments = gh.comments.get(7) ?? [];
    t.equal(comments.length, 1, 'edited in place, not posted twice');
    t.match(comments[0], { id: created.data.id, body: '<!-- landfall --> deployed', edits: 1, author: 'landfall[bot]' });
    t.ok(comments[0]!.updatedAt > comments[0]!.createdAt);

    gh.seedComment(7, 'a human wrote this', { author: 'octocat', repo: 'acme/web' });
    await ok.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 7, body: 'third' });
    const all = await ok.paginate(ok.rest.issues.listComments, { owner: 'acme', repo: 'web', issue_number: 7, per_page: 2 });
    t.same(
      all.map((c) => c.body),
      ['<!-- landfall --> deployed', 'a human wrote this', 'third'],
    );
    t.equal(gh.requests.filter((r) => r.method === 'GET').length, 3, 'one page plus two more through the Link header');

    t.match(await failure(ok.rest.issues.updateComment({ owner: 'acme', repo: 'web', comment_id: 424242, body: 'x' })), { status: 404 });
    t.match(gh.unexpected, [{ reason: 'comment 424242 was never created' }]);
    gh.deleteComment(created.data.id);
    t.match(await failure(ok.rest.issues.updateComment({ owner: 'acme', repo: 'web', comment_id: created.data.id, body: 'x' })), { status: 404 });
    t.equal(gh.unexpected.length, 1, 'updating a comment a human deleted is a 404 but not unexpected');

    t.match(await failure(ok.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 7, body: 'y'.repeat(65537) })), {
      status: 422,
      response: { data: { errors: [{ field: 'body', message: 'body is too long (maximum is 65536 characters)' }] } },
    });
  });

  t.test('failNext: 429 with Retry-After, then the rate-limit 403, then success', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    gh.failNext({ method: 'POST', pathRegex: /\/statuses\//, status: 429, headers: { 'Retry-After': '1' } });
    const reset = Math.floor(Date.now() / 1000) + 60;
    gh.failNext({ pathRegex: /\/statuses\//, status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } });
    const post = (): Promise<unknown> => ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' });
    t.match(await failure(post()), { status: 429, response: { headers: { 'retry-after': '1' } } });
    const limited = (await post().then(
      () => undefined,
      (e: Obj) => e,
    )) as Obj;
    t.equal(limited.status, 403);
    t.equal(limited.response.headers['x-ratelimit-remaining'], '0');
    t.equal(limited.response.headers['x-ratelimit-reset'], String(reset));
    t.match(limited.response.data.message, /API rate limit exceeded/);
    await post();
    t.same(
      gh.requests.map((r) => [r.status, r.fault]),
      [
        [429, 'failNext'],
        [403, 'failNext'],
        [201, undefined],
      ],
    );
    t.equal(gh.statuses.all().length, 1);
    t.same(gh.unexpected, [], 'faults are not unexpected');
  });
});

t.test('gitlab', async (t) => {
  const project = 'acme/platform/web';
  const client = (api: ForgeApi, token = TOKEN): InstanceType<typeof Gitlab> => new Gitlab({ host: api.url, token });

  t.test('Commits.editStatus is stored; the project path arrives URL-encoded', async (t) => {
    const gl = await start(t, 'gitlab');
    t.equal(gl.url, gl.origin);
    const api = client(gl);
    const res = (await api.Commits.editStatus(project, SHA, 'running', {
      name: 'landfall/prod',
      targetUrl: 'https://landfall.example/deploys/1',
      description: 'Deploying',
      ref: 'main',
    })) as Obj;
    t.match(res, {
      sha: SHA,
      ref: 'main',
      status: 'running',
      name: 'landfall/prod',
      target_url: 'https://landfall.example/deploys/1',
      description: 'Deploying',
    });
    const req = gl.requests[0]!;
    t.equal(req.path, `/api/v4/projects/acme%2Fplatform%2Fweb/statuses/${SHA}`);
    t.equal(req.headers['private-token'], TOKEN);
    t.same(req.body, { state: 'running', name: 'landfall/prod', target_url: 'https://landfall.example/deploys/1', description: 'Deploying', ref: 'main' });
    t.match(gl.statuses.latest(SHA, 'landfall/prod'), { state: 'running', ref: 'main', targetUrl: 'https://landfall.example/deploys/1' });

    const done = (await api.Commits.editStatus(project, SHA, 'success', { name: 'landfall/prod', ref: 'main' })) as Obj;
    t.equal(done.id, res.id, 'the running job is updated, not a new one');
    t.equal(done.description, 'Deploying', 'fields not sent are kept on the job');
    t.same(gl.unexpected, []);

    const bearer = await call(`${gl.url}/api/v4/projects/42/statuses/${SHA}`, 'POST', { body: { state: 'pending' } });
    t.equal(bearer.status, 201, 'Authorization: Bearer and numeric ids work too');
  });

  t.test("re-posting the same state is GitLab's 400, not unexpected; finished jobs are followed by new ones", async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    const opts = { name: 'landfall/prod', ref: 'main' };
    await api.Commits.editStatus(project, SHA, 'running', opts);
    t.match(await failure(api.Commits.editStatus(project, SHA, 'running', opts)), {
      message: 'Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")',
    });
    t.match(await failure(api.Commits.editStatus(project, SHA2, 'pending', opts).then(() => api.Commits.editStatus(project, SHA2, 'pending', opts))), {
      message: 'Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")',
    });
    t.same(
      gl.requests.map((r) => r.status),
      [201, 400, 201, 400],
    );
    t.same(gl.unexpected, [], 'the transition 400 is expected behaviour');
    t.equal(gl.statuses.get(`${SHA}|landfall/prod`)?.length, 1, 'the refused post is not stored');

    const first = (await api.Commits.editStatus(project, SHA, 'success', opts)) as Obj;
    const again = (await api.Commits.editStatus(project, SHA, 'success', opts)) as Obj;
    t.not(again.id, first.id, 'success after success starts a new external job (real GitLab behaviour)');
    t.equal(again.status, 'success');
  });

  t.test('length and value rules', async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    await api.Commits.editStatus(project, SHA, 'pending', { name: 'a', description: 'd'.repeat(255) });
    t.same(gl.unexpected, []);
    const err = (await api.Commits.editStatus(project, SHA, 'success', { name: 'b', description: 'd'.repeat(256) }).then(
      () => undefined,
      (e: Obj) => e,
    )) as Obj;
    t.equal(err.cause.response.status, 400);
    // gitbeaker puts the JSON-encoded `message` object in the error message.
    t.same(JSON.parse(err.message as string), { description: ['is too long (maximum is 255 characters)'] });
    t.match(gl.unexpected, [{ status: 400, reason: /description is 256 characters/ }]);

    const bad = await call(`${gl.url}/api/v4/projects/acme%2Fweb/statuses/${SHA}`, 'POST', { auth: `Bearer ${TOKEN}`, body: { state: 'done' } });
    t.same([bad.status, bad.body], [400, { error: 'state does not have a valid value' }]);
    const unencoded = await call(`${gl.url}/api/v4/projects/acme/web/statuses/${SHA}`, 'POST', { body: { state: 'success' } });
    t.same([unencoded.status, unencoded.body], [404, { error: '404 Not Found' }]);
    t.equal(gl.unexpected.length, 3);
  });

  t.test('a wrong token is a 401 recorded unexpected', async (t) => {
    const gl = await start(t, 'gitlab');
    t.match(await failure(client(gl, 'nope').Commits.editStatus(project, SHA, 'success', { name: 'x' })), { message: '401 Unauthorized' });
    t.match(gl.unexpected, [{ status: 401, reason: 'wrong PRIVATE-TOKEN' }]);
  });

  t.test('merge-request notes: create, edit in place, list all pages', async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    const note = (await api.MergeRequestNotes.create(project, 12, '<!-- landfall --> deploying')) as Obj;
    t.match(note, { body: '<!-- landfall --> deploying', system: false, author: { username: 'landfall-bot' }, noteable_iid: 12 });
    const edited = (await api.MergeRequestNotes.edit(project, 12, note.id, { body: '<!-- landfall --> deployed' })) as Obj;
    t.equal(edited.body, '<!-- landfall --> deployed');
    t.equal(gl.comments.get(12)?.length, 1);
    t.equal(gl.comments.get(12)?.[0]?.edits, 1);
    t.same(gl.requests[1]!.body, { body: '<!-- landfall --> deployed' });

    for (let i = 0; i < 24; i++) gl.seedComment(12, `human ${String(i)}`, { author: 'alice', repo: project });
    const all = (await api.MergeRequestNotes.all(project, 12)) as Obj[];
    t.equal(all.length, 25, 'gitbeaker follows the Link header over two pages of 20');
    t.equal(all[0]!.body, 'human 23', "newest first, GitLab's default sort");
    t.equal(all[24]!.body, '<!-- landfall --> deployed');
    t.same(
      gl.requests.filter((r) => r.method === 'GET').map((r) => r.query['page'] ?? '1'),
      ['1', '2'],
    );
    t.same(gl.unexpected, []);
  });

  t.test('failNext: a 500 then success; 429s that gitbeaker retries by itself', async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    gl.failNext({ method: 'POST', status: 500 });
    t.match(await failure(api.Commits.editStatus(project, SHA, 'pending', { name: 'x' })), { message: '500 Internal Server Error' });
    await api.Commits.editStatus(project, SHA, 'pending', { name: 'x' });
    gl.failNext({ status: 429, times: 2 });
    await api.Commits.editStatus(project, SHA, 'running', { name: 'x' });
    t.same(
      gl.requests.map((r) => r.status),
      [500, 201, 429, 429, 201],
    );
    t.equal(gl.requests[2]!.fault, 'failNext');
    t.equal(gl.statuses.latest(SHA, 'x')?.state, 'running');
    t.same(gl.unexpected, []);
  });
});

t.test('bitbucket cloud', async (t) => {
  const statusUrl = (api: ForgeApi, commit: string): string => `${api.url}/repositories/acme/web/commit/${commit}/statuses/build`;

  t.test('a build status is stored; the same key overwrites', async (t) => {
    const bb = await start(t, 'bitbucket');
    t.equal(bb.url, `${bb.origin}/2.0`);
    const first = await call(statusUrl(bb, SHA), 'POST', {
      body: {
        key: 'landfall-prod',
        state: 'INPROGRESS',
        url: 'https://landfall.example/d/1',
        name: 'Landfall prod',
        description: 'Deploying',
        refname: 'main',
      },
    });
    t.equal(first.status, 201);
    t.match(first.body, { type: 'build', key: 'landfall-prod', state: 'INPROGRESS', url: 'https://landfall.example/d/1', refname: 'main' });
    t.match(first.headers.get('content-type'), /^application\/json/);
    const second = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'landfall-prod', state: 'SUCCESSFUL', url: 'https://landfall.example/d/1' } });
    t.equal(second.status, 201, '201 on overwrite too');
    t.equal(second.body.created_on, first.body.created_on);
    t.equal(second.body.uuid, first.body.uuid);
    t.match(bb.statuses.latest(SHA, 'landfall-prod'), { state: 'SUCCESSFUL', targetUrl: 'https://landfall.example/d/1', description: null });
    t.equal(bb.statuses.get(`${SHA}|landfall-prod`)?.length, 2);
    t.same(bb.unexpected, []);
  });

  t.test('short hashes: the commit lookup resolves them; statuses need the full hash', async (t) => {
    const bb = await start(t, 'bitbucket');
    bb.seedCommit(SHA);
    const found = await call(`${bb.url}/repositories/acme/web/commit/${SHA.slice(0, 7)}`, 'GET');
    t.same([found.status, found.body.hash, found.body.type], [200, SHA, 'commit']);
    const missing = await call(`${bb.url}/repositories/acme/web/commit/abcdef1`, 'GET');
    t.same([missing.status, missing.body], [404, { type: 'error', error: { message: 'Commit not found' } }]);
    t.same(bb.unexpected, [], 'asking about an unknown commit is not unexpected');
    const short = await call(statusUrl(bb, SHA.slice(0, 7)), 'POST', { body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' } });
    t.equal(short.status, 404);
    t.match(bb.unexpected, [{ reason: /not a full 40-hex hash/ }]);
  });

  t.test('the key length rule and required fields', async (t) => {
    const bb = await start(t, 'bitbucket');
    const ok = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'k'.repeat(40), state: 'FAILED', url: 'https://x' } });
    t.equal(ok.status, 201);
    const long = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'k'.repeat(41), state: 'FAILED', url: 'https://x' } });
    t.equal(long.status, 400);
    t.same(long.body, {
      type: 'error',
      error: {
        message: 'key: Ensure this value has at most 40 characters (it has 41).',
        fields: { key: ['Ensure this value has at most 40 characters (it has 41).'] },
      },
    });
    const noUrl = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'k', state: 'FAILED' } });
    t.same([noUrl.status, noUrl.body.error.message], [400, 'url: This field is required.']);
    const badState = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'k', state: 'success', url: 'https://x' } });
    t.equal(badState.status, 400);
    t.equal(bb.unexpected.length, 3);
    t.equal(bb.statuses.all().length, 1);
  });

  t.test('Basic auth when a username is configured; wrong credentials are a 401', async (t) => {
    const bb = await start(t, 'bitbucket', { username: 'deploy@acme.example' });
    const basic = `Basic ${Buffer.from(`deploy@acme.example:${TOKEN}`).toString('base64')}`;
    const ok = await call(statusUrl(bb, SHA), 'POST', { auth: basic, body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' } });
    t.equal(ok.status, 201);
    const bearer = await call(statusUrl(bb, SHA), 'POST', { body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' } });
    t.equal(bearer.status, 401);
    t.same(bearer.body, { type: 'error', error: { message: 'Token is invalid, expired, or not supported for this endpoint.' } });
    t.match(bb.unexpected, [{ status: 401, reason: /expected Basic auth/ }]);
  });

  t.test('pull-request comments: create, edit in place, paginated list; unknown routes', async (t) => {
    const bb = await start(t, 'bitbucket');
    const base = `${bb.url}/repositories/acme/web/pullrequests/3/comments`;
    const created = await call(base, 'POST', { body: { content: { raw: 'deploying' } } });
    t.equal(created.status, 201);
    t.match(created.body, { id: Number, content: { raw: 'deploying' }, deleted: false });
    const edited = await call(`${base}/${String(created.body.id)}`, 'PUT', { body: { content: { raw: 'deployed' } } });
    t.same([edited.status, edited.body.content.raw], [200, 'deployed']);
    t.match(bb.comments.get(3), [{ body: 'deployed', edits: 1 }]);
    t.equal(bb.comments.get(3)?.length, 1);

    for (let i = 0; i < 11; i++) bb.seedComment(3, `c${String(i)}`, { repo: 'acme/web' });
    const page1 = await call(base, 'GET');
    t.match(page1.body, { pagelen: 10, size: 12, page: 1 });
    t.equal(page1.body.values.length, 10);
    const page2 = await call(page1.body.next, 'GET');
    t.equal(page2.body.values.length, 2);
    t.notOk(page2.body.next);

    const nowhere = await call(`${bb.url}/repositories/acme/web/pullrequests/3/tasks`, 'GET');
    t.equal(nowhere.status, 404);
    t.equal(nowhere.body.error.message, 'Resource not found');
    t.equal(bb.unexpected.length, 1);
  });

  t.test('failNext: a 500 once, then success', async (t) => {
    const bb = await start(t, 'bitbucket');
    bb.failNext({ pathRegex: /statuses\/build$/, status: 500 });
    bb.seedCommit(SHA);
    const lookup = await call(`${bb.url}/repositories/acme/web/commit/${SHA.slice(0, 8)}`, 'GET');
    t.equal(lookup.status, 200, 'a request the fault does not match is handled normally');
    const body = { key: 'k', state: 'SUCCESSFUL', url: 'https://x' };
    const failed = await call(statusUrl(bb, SHA), 'POST', { body });
    t.same([failed.status, failed.body], [500, { type: 'error', error: { message: 'Something went wrong' } }]);
    t.equal(bb.statuses.all().length, 0);
    const ok = await call(statusUrl(bb, SHA), 'POST', { body });
    t.equal(ok.status, 201);
    t.equal(bb.statuses.all().length, 1);
    t.same(bb.unexpected, []);

    bb.reset();
    t.same([bb.requests.length, bb.statuses.size, bb.commits.size], [0, 0, 0], 'reset() empties everything');
    await bb.close();
    await bb.close();
    t.pass('close() twice is fine');
  });
});

t.test('bitbucket data center', async (t) => {
  const buildsUrl = (api: ForgeApi, commit = SHA): string => `${api.url}/rest/api/latest/projects/ACME/repos/web/commits/${commit}/builds`;

  t.test('a build status is a 204 with no body', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    t.equal(dc.url, dc.origin);
    const res = await call(buildsUrl(dc), 'POST', {
      body: {
        key: 'landfall-prod',
        state: 'INPROGRESS',
        url: 'https://landfall.example/d/1',
        name: 'Landfall prod',
        description: 'Deploying',
        ref: 'refs/heads/main',
      },
    });
    t.equal(res.status, 204);
    t.equal(res.body, undefined);
    t.equal(res.headers.get('content-type'), null);
    t.match(dc.statuses.latest(SHA, 'landfall-prod'), {
      state: 'INPROGRESS',
      ref: 'refs/heads/main',
      name: 'Landfall prod',
      targetUrl: 'https://landfall.example/d/1',
    });
    t.same(dc.unexpected, []);
  });

  t.test('validation: url length, state values, media type, auth', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    const long = await call(buildsUrl(dc), 'POST', { body: { key: 'k', state: 'SUCCESSFUL', url: `https://x/${'u'.repeat(450)}` } });
    t.equal(long.status, 400);
    t.match(long.body, { errors: [{ context: 'url', message: /at most 450/ }] });
    const state = await call(buildsUrl(dc), 'POST', { body: { key: 'k', state: 'STOPPED', url: 'https://x' } });
    t.equal(state.status, 400);
    const text = await call(buildsUrl(dc), 'POST', { body: JSON.stringify({ key: 'k', state: 'SUCCESSFUL', url: 'https://x' }), contentType: 'text/plain' });
    t.equal(text.status, 415);
    const wrong = await call(buildsUrl(dc), 'POST', { auth: 'Bearer nope', body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' } });
    t.equal(wrong.status, 401);
    t.match(wrong.body, { errors: [{ exceptionName: 'com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException' }] });
    t.same(
      dc.unexpected.map((u) => u.status),
      [400, 400, 415, 401],
    );
    t.equal(dc.statuses.all().length, 0);
  });

  t.test('comments: versions, a stale version is a 409, activities show the current text', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    const base = `${dc.url}/rest/api/latest/projects/ACME/repos/web/pull-requests/5`;
    const created = await call(`${base}/comments`, 'POST', { body: { text: 'deploying' } });
    t.match([created.status, created.body], [201, { id: Number, version: 0, text: 'deploying' }]);
    const id = created.body.id as number;
    const edited = await call(`${base}/comments/${String(id)}`, 'PUT', { body: { text: 'deployed', version: 0 } });
    t.match([edited.status, edited.body], [200, { version: 1, text: 'deployed' }]);
    const stale = await call(`${base}/comments/${String(id)}`, 'PUT', { body: { text: 'again', version: 0 } });
    t.equal(stale.status, 409);
    t.match(stale.body, { errors: [{ exceptionName: 'com.atlassian.bitbucket.comment.CommentOutOfDateException' }] });
    t.same(dc.unexpected, [], "a stale version is the forge's normal answer");

    const acts = await call(`${base}/activities?limit=25&start=0`, 'GET');
    t.equal(acts.status, 200);
    t.match(acts.body, { isLastPage: true, size: 2 });
    t.match(acts.body.values[0], { action: 'COMMENTED', commentAction: 'ADDED', comment: { id, version: 1, text: 'deployed' } });
    t.match(acts.body.values[1], { action: 'OPENED' });
    t.match(dc.comments.get(5), [{ id, body: 'deployed', edits: 1, version: 1 }]);
  });
});

t.test('gitea', async (t) => {
  t.test("a status is stored; Bearer is not Gitea's scheme", async (t) => {
    const gt = await start(t, 'gitea');
    t.equal(gt.url, gt.origin);
    const url = `${gt.url}/api/v1/repos/acme/web/statuses/${SHA}`;
    const res = await call(url, 'POST', {
      auth: `token ${TOKEN}`,
      body: { state: 'warning', target_url: 'https://landfall.example/d/1', description: 'Drift', context: 'landfall/prod' },
    });
    t.equal(res.status, 201);
    t.match(res.body, { id: Number, status: 'warning', target_url: 'https://landfall.example/d/1', description: 'Drift', context: 'landfall/prod' });
    t.match(gt.statuses.latest(SHA, 'landfall/prod'), { state: 'warning' });
    const bearer = await call(url, 'POST', { body: { state: 'success' } });
    t.equal(bearer.status, 401);
    t.match(gt.unexpected, [{ status: 401, reason: /expected "token <token>"/ }]);
  });

  t.test('comments: create, edit in place, list', async (t) => {
    const gt = await start(t, 'gitea');
    const auth = `token ${TOKEN}`;
    const base = `${gt.url}/api/v1/repos/acme/web/issues`;
    const created = await call(`${base}/9/comments`, 'POST', { auth, body: { body: 'deploying' } });
    t.match([created.status, created.body], [201, { id: Number, body: 'deploying', user: { login: 'landfall-bot' } }]);
    const edited = await call(`${base}/comments/${String(created.body.id)}`, 'PATCH', { auth, body: { body: 'deployed' } });
    t.same([edited.status, edited.body.body], [200, 'deployed']);
    const list = await call(`${base}/9/comments`, 'GET', { auth });
    t.same(
      (list.body as Obj[]).map((c) => c.body),
      ['deployed'],
    );
    t.match(gt.comments.get(9), [{ edits: 1 }]);
    t.same(gt.unexpected, []);
  });
});

t.test('down(), waitFor() and the repository allow-list', async (t) => {
  t.test('while down every request is a 503; statuses arrive once it is back', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    const post = (): Promise<unknown> => ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success', context: 'landfall' });
    gh.down(true);
    t.match(await failure(post()), { status: 503 });
    t.match(gh.requests, [{ status: 503, fault: 'down' }]);
    const arrived = gh.waitFor((f) => f.statuses.latest(SHA, 'landfall')?.state === 'success', 5000);
    gh.down(false);
    await post();
    await arrived;
    t.same(gh.unexpected, []);
  });

  t.test("down(true, 'reset') drops connections", async (t) => {
    const gt = await start(t, 'gitea');
    gt.down(true, 'reset');
    await t.rejects(call(`${gt.url}/api/v1/repos/acme/web/issues/1/comments`, 'GET', { auth: `token ${TOKEN}` }));
    t.match(gt.requests, [{ status: 0, fault: 'down' }]);
    gt.down(false);
    const ok = await call(`${gt.url}/api/v1/repos/acme/web/issues/1/comments`, 'GET', { auth: `token ${TOKEN}` });
    t.equal(ok.status, 200);
  });

  t.test('waitFor resolves on a state change and rejects with a description on timeout', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    const waiting = dc.waitFor((f) => f.statuses.latest(SHA, 'k')?.state === 'SUCCESSFUL', 5000);
    let settled = false;
    void waiting.then(() => (settled = true));
    await call(`${dc.url}/rest/api/latest/projects/ACME/repos/web/commits/${SHA}/builds`, 'POST', {
      body: { key: 'k', state: 'INPROGRESS', url: 'https://x' },
    });
    t.notOk(settled, 'not yet: still INPROGRESS');
    await call(`${dc.url}/rest/api/latest/projects/ACME/repos/web/commits/${SHA}/builds`, 'POST', {
      body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' },
    });
    await waiting;
    await t.resolves(
      dc.waitFor((f) => f.requests.length === 2),
      'an already-true predicate resolves at once',
    );

    const err = (await dc
      .waitFor((f) => f.statuses.latest(SHA, 'k')?.state === 'FAILED', 30)
      .then(
        () => undefined,
        (e: Error) => e,
      )) as Error;
    t.match(err.message, /waitFor timed out after 30 ms on the bitbucket-server stand-in/);
    t.match(err.message, /POST \/rest\/api\/latest\/projects\/ACME\/repos\/web\/commits\/.* → 204/);
    t.match(err.message, /\|k: SUCCESSFUL/);
  });

  t.test('a repository outside options.repos answers 404 and is unexpected', async (t) => {
    const gl = await start(t, 'gitlab', { repos: ['acme/platform/web'] });
    const api = new Gitlab({ host: gl.url, token: TOKEN });
    await api.Commits.editStatus('acme/platform/web', SHA, 'pending', { name: 'x' });
    t.match(await failure(api.Commits.editStatus('acme/platform/api', SHA, 'pending', { name: 'x' })), { message: '404 Project Not Found' });
    t.match(gl.unexpected, [{ status: 404, reason: /acme\/platform\/api/ }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Webhooks, deliveries, GitHub App authentication and check runs

const HOOK_URL = 'https://landfall.example/hooks/github';
/** An RSA key pair in PEM, as a GitHub App's. */
function pemKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
// One key pair for the App and one "other" key, generated once for the whole file.
const APP_KEYS = pemKeyPair();
const OTHER_KEYS = pemKeyPair();
const APP_ID = 123456;
const INSTALLATION = 9001;

/** A hand-made RS256 JWT with the given claims. */
function jwt(privateKey: string, claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${data}.${sign('sha256', Buffer.from(data), privateKey).toString('base64url')}`;
}

/** A clock the test moves by hand (the stand-in's `now`). */
function movableClock(): { now: () => Date; advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => (offset += ms) };
}

function appOptions(extra: Partial<GitHubAppOptions> = {}): { app: GitHubAppOptions } {
  return { app: { appId: APP_ID, publicKey: APP_KEYS.publicKey, installations: { 'acme/web': INSTALLATION, 'acme/api': INSTALLATION }, ...extra } };
}

/**
 * A standalone @octokit/auth-app bound to the stand-in. Without `request` it would talk to
 * api.github.com, so every createAppAuth here goes through this.
 */
function appAuth(api: ForgeApi, installationId?: number): ReturnType<typeof createAppAuth> {
  return createAppAuth({
    appId: APP_ID,
    privateKey: APP_KEYS.privateKey,
    ...(installationId !== undefined ? { installationId } : {}),
    request: new Octokit({ baseUrl: api.url, log: QUIET }).request,
  });
}

/** An Octokit authenticating as the App's installation (installation tokens fetched and cached by @octokit/auth-app). */
function installationOctokit(api: ForgeApi): Octokit {
  return new Octokit({
    baseUrl: api.url,
    log: QUIET,
    authStrategy: createAppAuth,
    auth: { appId: APP_ID, privateKey: APP_KEYS.privateKey, installationId: INSTALLATION },
  });
}

t.test('github webhooks', async (t) => {
  t.test("create, list (secret masked), and GitHub's defaults and refusals", async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    const created = await ok.rest.repos.createWebhook({
      owner: 'acme',
      repo: 'web',
      name: 'web',
      active: true,
      events: ['push', 'pull_request'],
      config: { url: HOOK_URL, content_type: 'json', secret: 'hook-secret', insecure_ssl: '0' },
    });
    t.equal(created.status, 201);
    t.match(created.data, {
      type: 'Repository',
      name: 'web',
      active: true,
      events: ['push', 'pull_request'],
      config: { url: HOOK_URL, content_type: 'json', insecure_ssl: '0', secret: '********' },
      last_response: { code: null, status: 'unused', message: null },
    });
    t.match(created.headers.location, new RegExp(`/api/v3/repos/acme/web/hooks/${String(created.data.id)}$`));
    t.match(gh.hooks.get('acme/web'), [
      { id: created.data.id, url: HOOK_URL, secret: 'hook-secret', events: ['push', 'pull_request'], settings: { content_type: 'json' } },
    ]);
    t.equal(gh.hooks.get('ACME/Web')?.length, 1, 'hooks.get compares the repository case-insensitively');

    const listed = await ok.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' });
    t.equal(listed.data.length, 1);
    t.equal(listed.data[0]!.config.secret, '********', 'GitHub never returns the secret');

    // No content_type: GitHub's default is form, not json.
    const form = await ok.rest.repos.createWebhook({ owner: 'acme', repo: 'web', config: { url: `${HOOK_URL}/2` } });
    t.match(form.data, { config: { content_type: 'form' }, events: ['push'], active: true });
    t.notOk('secret' in form.data.config, 'no secret: no mask');
    t.same(gh.unexpected, []);

    t.match(await failure(ok.rest.repos.createWebhook({ owner: 'acme', repo: 'web', config: { url: HOOK_URL, content_type: 'json' } })), {
      status: 422,
      response: { data: { message: 'Validation Failed', errors: [{ resource: 'Hook', message: 'Hook already exists on this repository' }] } },
    });
    t.match(await failure(ok.rest.repos.createWebhook({ owner: 'acme', repo: 'web', events: ['push', 'pulls'], config: { url: `${HOOK_URL}/3` } })), {
      status: 422,
    });
    t.match(await failure(ok.rest.repos.createWebhook({ owner: 'acme', repo: 'web', config: { url: `${HOOK_URL}/4`, content_type: 'yaml' } })), {
      status: 422,
    });
    t.match(
      gh.unexpected.map((u) => u.reason),
      [/already exists/, /"pulls" is not a repository webhook event/, /content_type "yaml" is not one of json\|form/],
    );
    t.equal(gh.hooks.get('acme/web')?.length, 2, 'refused creates store nothing');
  });

  t.test('a drifted hook is updated in place; a config without secret removes the secret', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    const drifted = gh.seedHook('acme/web', { url: HOOK_URL, active: false, events: ['push'], settings: { content_type: 'form' } });
    t.equal(drifted.secret, null);
    const [listed] = (await ok.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' })).data;
    t.match(listed, { id: drifted.id, active: false, events: ['push'], config: { url: HOOK_URL, content_type: 'form' } });

    const fixed = await ok.rest.repos.updateWebhook({
      owner: 'acme',
      repo: 'web',
      hook_id: listed!.id,
      active: true,
      events: ['push', 'pull_request'],
      config: { url: HOOK_URL, content_type: 'json', secret: 'hook-secret', insecure_ssl: '0' },
    });
    t.equal(fixed.status, 200);
    t.match(fixed.data, { id: drifted.id, active: true, events: ['push', 'pull_request'], config: { content_type: 'json', secret: '********' } });
    t.match(gh.hooks.get('acme/web'), [{ active: true, secret: 'hook-secret', edits: 1, settings: { content_type: 'json' } }]);
    t.equal(gh.hooks.get('acme/web')?.length, 1, 'updated, not duplicated');

    await ok.rest.repos.updateWebhook({ owner: 'acme', repo: 'web', hook_id: listed!.id, add_events: ['release'], remove_events: ['push'] });
    t.match(gh.hooks.get('acme/web'), [{ events: ['pull_request', 'release'], secret: 'hook-secret' }], 'no config: the secret stays');
    await ok.rest.repos.updateWebhook({ owner: 'acme', repo: 'web', hook_id: listed!.id, config: { url: HOOK_URL, content_type: 'json' } });
    t.match(gh.hooks.get('acme/web'), [{ secret: null, edits: 3 }], 'GitHub: "you must provide the same secret … or the secret will be removed"');

    t.match(await failure(ok.rest.repos.updateWebhook({ owner: 'acme', repo: 'web', hook_id: 1, active: true })), { status: 404 });
    t.match(gh.unexpected, [{ reason: 'acme/web has no hook 1' }]);
  });

  t.test("a token without admin rights: denyHooks and failNext answer GitHub's 403", async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    gh.denyHooks(true);
    const denied = await failure(ok.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' }));
    t.equal(denied.status, 403);
    t.equal(denied.response.data.message, 'Resource not accessible by personal access token');
    t.match(await failure(ok.rest.repos.createWebhook({ owner: 'acme', repo: 'web', config: { url: HOOK_URL } })), { status: 403 });
    await ok.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' });
    t.same(
      gh.requests.map((r) => [r.status, r.fault]),
      [
        [403, 'denyHooks'],
        [403, 'denyHooks'],
        [201, undefined],
      ],
      'only the webhook API is refused',
    );
    gh.denyHooks(false);
    gh.failNext({ pathRegex: /\/hooks$/, status: 403 });
    t.match(await failure(ok.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' })), {
      status: 403,
      response: { data: { message: 'Resource not accessible by personal access token' } },
    });
    t.equal((await ok.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' })).status, 200);
    t.same(gh.unexpected, [], "a refusal for missing rights is the forge's normal answer");
    t.equal(gh.hooks.size, 0);
  });

  t.test('deliveries: newest first, cursor pages through Link; redelivery is recorded', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    const hook = gh.seedHook('acme/web', { url: HOOK_URL, events: ['push', 'pull_request'], secret: 's' });
    const hookId = hook.id as number;
    const base = Date.now() - 60 * 60 * 1000;
    const seeded = [0, 1, 2, 3, 4].map((i) =>
      gh.seedDelivery('acme/web', hookId, {
        delivered_at: new Date(base + i * 60_000).toISOString(),
        event: i % 2 === 0 ? 'push' : 'pull_request',
        action: i % 2 === 0 ? null : 'synchronize',
        ...(i === 3 ? { status: 'Invalid HTTP Response: 503', status_code: 503 } : {}),
      }),
    );
    const first = await ok.rest.repos.listWebhookDeliveries({ owner: 'acme', repo: 'web', hook_id: hookId, per_page: 2 });
    t.same(
      first.data.map((d) => d.id),
      [seeded[4]!.id, seeded[3]!.id],
      'newest first',
    );
    t.match(first.headers.link, /^<http:\/\/127\.0\.0\.1:\d+\/api\/v3\/repos\/acme\/web\/hooks\/\d+\/deliveries\?per_page=2&cursor=v1_\d+>; rel="next"$/);
    t.match(first.data[1], {
      status: 'Invalid HTTP Response: 503',
      status_code: 503,
      event: 'pull_request',
      action: 'synchronize',
      redelivery: false,
      repository_id: Number,
    });

    const all = await ok.paginate(ok.rest.repos.listWebhookDeliveries, { owner: 'acme', repo: 'web', hook_id: hookId, per_page: 2 });
    t.same(
      all.map((d) => d.id),
      seeded.map((d) => d.id).reverse(),
      'paginate follows the cursor links to the end',
    );
    const failed = await ok.rest.repos.listWebhookDeliveries({ owner: 'acme', repo: 'web', hook_id: hookId, status: 'failure' });
    t.same(
      failed.data.map((d) => d.id),
      [seeded[3]!.id],
    );

    const redo = await ok.rest.repos.redeliverWebhookDelivery({ owner: 'acme', repo: 'web', hook_id: hookId, delivery_id: seeded[3]!.id });
    t.equal(redo.status, 202);
    t.same(redo.data, {});
    t.match(gh.redeliveries, [{ repo: 'acme/web', hookId, deliveryId: seeded[3]!.id }]);
    const [latest] = gh.deliveries('acme/web', hookId);
    t.match(latest, { id: gh.redeliveries[0]!.newDeliveryId, guid: (seeded[3] as GitHubDelivery).guid, redelivery: true, status: 'OK', status_code: 200 });

    t.match(await failure(ok.rest.repos.redeliverWebhookDelivery({ owner: 'acme', repo: 'web', hook_id: hookId, delivery_id: 42 })), { status: 404 });
    t.match(gh.unexpected, [{ reason: /has no delivery 42/ }]);
    t.throws(() => gh.seedDelivery('acme/web', 999, {}), /has no hook 999/);
  });
});

t.test('github app', async (t) => {
  t.test('getRepoInstallation with the App JWT, then a cached installation token', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const asApp = new Octokit({ baseUrl: gh.url, log: QUIET, authStrategy: createAppAuth, auth: { appId: APP_ID, privateKey: APP_KEYS.privateKey } });
    const found = await asApp.rest.apps.getRepoInstallation({ owner: 'acme', repo: 'web' });
    t.match(found.data, { id: INSTALLATION, app_id: APP_ID, account: { login: 'acme' } });
    t.match(gh.requests[0]!.headers['authorization'], /^bearer eyJ/);
    t.match(await failure(asApp.rest.apps.getRepoInstallation({ owner: 'acme', repo: 'elsewhere' })), { status: 404 });
    t.same(gh.unexpected, [], 'asking about a repository without the App is a legitimate question');

    const inst = installationOctokit(gh);
    await inst.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'pending', context: 'landfall' });
    await inst.rest.repos.createCommitStatus({ owner: 'acme', repo: 'api', sha: SHA, state: 'success', context: 'landfall' });
    t.equal(gh.tokenExchanges, 1, '@octokit/auth-app caches the installation token');
    const [issued] = gh.installationTokens;
    t.match(issued, { installationId: INSTALLATION, token: /^ghs_[A-Za-z0-9]{36}$/, repositories: null, permissions: { checks: 'write', statuses: 'write' } });
    t.equal(Date.parse(issued!.expiresAt) - Date.parse(issued!.createdAt), 60 * 60 * 1000, 'expires one hour after issue');
    const exchange = gh.requests.find((r) => r.route === 'POST /app/installations/{installation_id:int}/access_tokens')!;
    t.equal(exchange.status, 201);
    t.equal(gh.requests.filter((r) => r.headers['authorization'] === `token ${issued!.token}`).length, 2);
    t.same(gh.unexpected, []);
  });

  t.test('a JWT signed with another key, for another App, too long-lived or expired is refused', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const now = Math.floor(Date.now() / 1000);
    const ask = (token: string): Promise<Reply> => call(`${gh.url}/repos/acme/web/installation`, 'GET', { auth: `Bearer ${token}` });
    const good = await ask(jwt(APP_KEYS.privateKey, { iat: now - 30, exp: now + 540, iss: APP_ID }));
    t.equal(good.status, 200, 'a hand-made JWT with the right key works; iss may be a number…');
    t.equal((await ask(jwt(APP_KEYS.privateKey, { iat: now - 30, exp: now + 540, iss: String(APP_ID) }))).status, 200, '…or a numeric string');

    const otherKey = await ask(jwt(OTHER_KEYS.privateKey, { iat: now - 30, exp: now + 540, iss: APP_ID }));
    t.same([otherKey.status, otherKey.body.message], [401, 'A JSON web token could not be decoded']);
    const otherApp = await ask(jwt(APP_KEYS.privateKey, { iat: now - 30, exp: now + 540, iss: APP_ID + 1 }));
    t.same([otherApp.status, otherApp.body.message], [401, 'Integration not found']);
    const tooLong = await ask(jwt(APP_KEYS.privateKey, { iat: now - 30, exp: now + 600, iss: APP_ID }));
    t.same([tooLong.status, tooLong.body.message], [401, "'Expiration time' claim ('exp') is too far in the future"]);
    const pat = await ask(TOKEN);
    t.same([pat.status, pat.body.message], [401, 'A JSON web token could not be decoded'], 'a plain token is no JWT');
    t.match(
      gh.unexpected.map((u) => [u.status, u.reason]),
      [
        [401, /signature does not verify/],
        [401, /iss 123457 is not the App id 123456/],
        [401, /lives 630 s/],
        [401, /not a JWT/],
      ],
    );

    const expired = await ask(jwt(APP_KEYS.privateKey, { iat: now - 700, exp: now - 100, iss: APP_ID }));
    t.same(
      [expired.status, expired.body.message],
      [401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"],
    );
    const future = await ask(jwt(APP_KEYS.privateKey, { iat: now + 120, exp: now + 600, iss: APP_ID }));
    t.same([future.status, future.body.message], [401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"]);
    t.equal(gh.unexpected.length, 4, "expired / issued-in-the-future JWTs are clock skew, the forge's normal answer");
    t.equal(gh.tokenExchanges, 0);
  });

  t.test("@octokit/auth-app corrects clock skew from the stand-in's Date header", async (t) => {
    const clock = movableClock();
    clock.advance(20 * 60 * 1000); // the forge's clock is 20 minutes ahead
    const gh = await start(t, 'github', { ...appOptions(), now: clock.now });
    const inst = installationOctokit(gh);
    await inst.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' });
    t.same(
      gh.requests.map((r) => [r.method, r.status]),
      [
        ['POST', 401],
        ['POST', 201],
        ['POST', 201],
      ],
      "the first JWT looked expired; auth-app re-signed it with the Date header's time",
    );
    t.same(gh.unexpected, []);
  });

  t.test('an installation token is accepted, then refused once expired; it only covers its installation', async (t) => {
    const clock = movableClock();
    const gh = await start(t, 'github', { ...appOptions({ installations: { 'acme/web': INSTALLATION, 'other/repo': 77 } }), now: clock.now });
    const { token } = await appAuth(gh, INSTALLATION)({ type: 'installation' });
    const withToken = octokit(gh, token);
    t.equal((await withToken.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'pending' })).status, 201);
    const bearer = await call(`${gh.url}/repos/acme/web/statuses/${SHA}`, 'POST', { auth: `Bearer ${token}`, body: { state: 'pending' } });
    t.equal(bearer.status, 201, 'Bearer works for installation tokens too');
    t.match(await failure(withToken.rest.repos.createCommitStatus({ owner: 'other', repo: 'repo', sha: SHA, state: 'pending' })), { status: 404 });
    t.match(gh.unexpected, [{ status: 404, reason: /cannot see other\/repo/ }]);

    clock.advance(61 * 60 * 1000);
    t.match(await failure(withToken.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' })), {
      status: 401,
      response: { data: { message: 'Bad credentials' } },
    });
    t.match(gh.unexpected[1], { status: 401, reason: /expired at/ });
    t.equal(gh.statuses.all().length, 2);
    t.equal(gh.tokenExchanges, 1);
  });

  t.test('expireInstallationTokens(): the next request with the token is a 401', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const { token } = await appAuth(gh, INSTALLATION)({ type: 'installation' });
    const withToken = octokit(gh, token);
    await withToken.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' });
    gh.expireInstallationTokens();
    t.match(await failure(withToken.rest.repos.listWebhooks({ owner: 'acme', repo: 'web' })), { status: 401 });
    t.match(gh.unexpected, [{ reason: /expired at/ }]);
    const fresh = await appAuth(gh, INSTALLATION)({ type: 'installation', refresh: true });
    t.not(fresh.token, token);
    t.equal((await octokit(gh, fresh.token).rest.repos.listWebhooks({ owner: 'acme', repo: 'web' })).status, 200);
    t.equal(gh.tokenExchanges, 2);
  });

  t.test('a token narrowed to some repositories and permissions', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const { token } = await appAuth(gh)({ type: 'installation', installationId: INSTALLATION, repositoryNames: ['web'], permissions: { statuses: 'write' } });
    t.match(gh.installationTokens, [{ repositories: ['acme/web'], permissions: { statuses: 'write' } }]);
    const narrowed = octokit(gh, token);
    await narrowed.rest.repos.createCommitStatus({ owner: 'acme', repo: 'web', sha: SHA, state: 'success' });
    t.match(await failure(narrowed.rest.repos.createCommitStatus({ owner: 'acme', repo: 'api', sha: SHA, state: 'success' })), { status: 404 });
    t.match(await failure(narrowed.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 1, body: 'x' })), {
      status: 403,
      response: { data: { message: 'Resource not accessible by integration' } },
    });
    t.match(
      gh.unexpected.map((u) => u.reason),
      [/cannot see acme\/api/, /lacks issues:write or pull_requests:write/],
    );
  });
});

t.test('github check runs', async (t) => {
  t.test('create and update with an installation token; history is kept', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const inst = installationOctokit(gh);
    const created = await inst.rest.checks.create({
      owner: 'acme',
      repo: 'web',
      name: 'landfall/prod',
      head_sha: SHA,
      status: 'in_progress',
      details_url: 'https://landfall.example/deploys/1',
      external_id: 'deploy-1',
      output: { title: 'Deploying', summary: 'Rolling out web to prod' },
    });
    t.equal(created.status, 201);
    t.match(created.data, {
      name: 'landfall/prod',
      head_sha: SHA,
      status: 'in_progress',
      conclusion: null,
      details_url: 'https://landfall.example/deploys/1',
      external_id: 'deploy-1',
      output: { title: 'Deploying', summary: 'Rolling out web to prod', text: null, annotations_count: 0 },
      app: { id: APP_ID },
    });
    t.type(created.data.started_at, 'string');
    const updated = await inst.rest.checks.update({
      owner: 'acme',
      repo: 'web',
      check_run_id: created.data.id,
      conclusion: 'success',
      output: { title: 'Deployed', summary: 'web is live', text: 'details' },
    });
    t.equal(updated.status, 200);
    t.match(updated.data, { status: 'completed', conclusion: 'success', output: { title: 'Deployed', text: 'details' } });
    t.type(updated.data.completed_at, 'string');

    const run = gh.checkRuns.latest(SHA, 'landfall/prod', 'acme/web');
    t.match(run, { id: created.data.id, status: 'completed', conclusion: 'success', installationId: INSTALLATION, externalId: 'deploy-1' });
    t.same(
      run?.history.map((h) => [h.method, h.status, h.conclusion]),
      [
        ['POST', 'in_progress', null],
        ['PATCH', 'completed', 'success'],
      ],
    );
    t.same([...gh.checkRuns.keys()], [`acme/web|${SHA}|landfall/prod`]);
    t.same(gh.unexpected, []);
  });

  t.test('the 65535-character output limit and the conclusion rules', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const inst = installationOctokit(gh);
    const max = await inst.rest.checks.create({
      owner: 'acme',
      repo: 'web',
      name: 'c',
      head_sha: SHA,
      output: { title: 't', summary: 's'.repeat(65535), text: 'x'.repeat(65535) },
    });
    t.equal(max.status, 201, 'exactly 65535 characters is fine');
    t.equal(max.data.status, 'queued', 'status defaults to queued');
    const long = await failure(
      inst.rest.checks.create({ owner: 'acme', repo: 'web', name: 'c', head_sha: SHA, output: { title: 't', summary: 's'.repeat(65536) } }),
    );
    t.equal(long.status, 422);
    t.equal(long.response.data.message, 'Invalid request.\n\nOnly 65535 characters are allowed; 65536 were supplied.');
    const longText = await failure(
      inst.rest.checks.update({ owner: 'acme', repo: 'web', check_run_id: max.data.id, output: { summary: 's', text: 'x'.repeat(70000) } }),
    );
    t.equal(longText.status, 422);
    t.match(await failure(inst.rest.checks.create({ owner: 'acme', repo: 'web', name: 'c', head_sha: SHA, status: 'completed' })), {
      status: 422,
      response: { data: { message: 'Invalid request.\n\n"conclusion" wasn\'t supplied.' } },
    });
    t.match(await failure(inst.rest.checks.create({ owner: 'acme', repo: 'web', name: 'c', head_sha: SHA.slice(0, 7) })), { status: 422 });
    t.match(await failure(inst.rest.checks.update({ owner: 'acme', repo: 'web', check_run_id: 1, conclusion: 'success' })), { status: 404 });
    t.match(
      gh.unexpected.map((u) => u.reason),
      [
        /output\.summary is 65536 characters/,
        /output\.text is 70000 characters/,
        /status completed without a conclusion/,
        /not a full 40-hex/,
        /never created/,
      ],
    );
    const implied = await inst.rest.checks.create({ owner: 'acme', repo: 'web', name: 'd', head_sha: SHA, conclusion: 'neutral' });
    t.match(implied.data, { status: 'completed', conclusion: 'neutral' }, 'a conclusion implies completed');
    t.equal(gh.checkRuns.all().length, 2);
    t.same(gh.checkRuns.byId(max.data.id)?.history.length, 1, 'refused updates are not in the history');
  });

  t.test('a plain token is refused: "You must authenticate via a GitHub App."', async (t) => {
    const gh = await start(t, 'github', appOptions());
    const err = await failure(octokit(gh).rest.checks.create({ owner: 'acme', repo: 'web', name: 'landfall', head_sha: SHA }));
    t.equal(err.status, 403);
    t.equal(err.response.data.message, 'You must authenticate via a GitHub App.');
    t.match(gh.unexpected, [{ status: 403, reason: /needs a GitHub App installation token/ }]);
    t.equal(gh.checkRuns.size, 0);

    const noChecks = await start(t, 'github', appOptions({ permissions: { statuses: 'write', metadata: 'read' } }));
    t.match(await failure(installationOctokit(noChecks).rest.checks.create({ owner: 'acme', repo: 'web', name: 'landfall', head_sha: SHA })), {
      status: 403,
      response: { data: { message: 'Resource not accessible by integration' } },
    });
  });
});

t.test('gitlab webhooks', async (t) => {
  const project = 'acme/platform/web';
  const client = (api: ForgeApi): InstanceType<typeof Gitlab> => new Gitlab({ host: api.url, token: TOKEN });
  const GL_HOOK = 'https://landfall.example/hooks/gitlab';

  t.test('ProjectHooks add / all / edit; the token is stored but never returned', async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    const added = (await api.ProjectHooks.add(project, GL_HOOK, {
      pushEvents: true,
      mergeRequestsEvents: true,
      tagPushEvents: false,
      token: 'gl-secret',
      enableSslVerification: true,
    })) as Obj;
    t.match(added, {
      id: Number,
      url: GL_HOOK,
      push_events: true,
      merge_requests_events: true,
      tag_push_events: false,
      note_events: false,
      enable_ssl_verification: true,
      alert_status: 'executable',
      disabled_until: null,
    });
    t.notOk('token' in added, 'GitLab never returns the token');
    t.same(gl.requests[0]!.body, {
      url: GL_HOOK,
      push_events: true,
      merge_requests_events: true,
      tag_push_events: false,
      token: 'gl-secret',
      enable_ssl_verification: true,
    });
    t.equal(gl.requests[0]!.path, '/api/v4/projects/acme%2Fplatform%2Fweb/hooks');
    t.match(gl.hooks.get(project), [{ secret: 'gl-secret', events: ['push_events', 'merge_requests_events'] }]);

    const all = (await api.ProjectHooks.all(project)) as Obj[];
    t.equal(all.length, 1);
    t.notOk('token' in all[0]!);

    const edited = (await api.ProjectHooks.edit(project, added.id as number, GL_HOOK, { pipelineEvents: true })) as Obj;
    t.match(edited, { pipeline_events: true, merge_requests_events: true });
    t.match(gl.hooks.get(project), [{ secret: 'gl-secret', edits: 1 }], 'same URL, no token: the token is kept');
    await api.ProjectHooks.edit(project, added.id as number, `${GL_HOOK}/v2`, {});
    t.match(gl.hooks.get(project), [{ url: `${GL_HOOK}/v2`, secret: null }], 'a new URL without token resets the token (GitLab)');
    t.same(gl.unexpected, []);

    t.match(await failure(api.ProjectHooks.add(project, 'ftp://nope', {})), { message: 'Invalid url given' });
    t.match(await failure(api.ProjectHooks.edit(project, 999, GL_HOOK, {})), { message: '404 Not found' });
    t.equal(gl.unexpected.length, 2);
  });

  t.test('a drifted, auto-disabled hook is listed as GitLab shows it and fixed with a PUT', async (t) => {
    const gl = await start(t, 'gitlab');
    const api = client(gl);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const seeded = gl.seedHook(project, {
      url: GL_HOOK,
      events: ['push_events'],
      secret: null,
      settings: { alert_status: 'temporarily_disabled', disabled_until: until, enable_ssl_verification: false },
    });
    const [listed] = (await api.ProjectHooks.all(project)) as Obj[];
    t.match(listed, {
      id: seeded.id,
      merge_requests_events: false,
      alert_status: 'temporarily_disabled',
      disabled_until: until,
      enable_ssl_verification: false,
      token_present: false,
      signing_token_present: false,
    });
    const lapsed = gl.seedHook('acme/other', {
      url: GL_HOOK,
      settings: { alert_status: 'temporarily_disabled', disabled_until: new Date(Date.now() - 1000).toISOString() },
    });
    t.match(
      ((await api.ProjectHooks.all('acme/other')) as Obj[])[0],
      { id: lapsed.id, alert_status: 'executable', disabled_until: null },
      'a temporary disabling ends by itself',
    );
    await api.ProjectHooks.edit(project, seeded.id as number, GL_HOOK, { mergeRequestsEvents: true, enableSslVerification: true, token: 'gl-secret' });
    t.match(gl.hooks.get(project), [{ events: ['push_events', 'merge_requests_events'], secret: 'gl-secret', settings: { enable_ssl_verification: true } }]);
  });

  t.test('403 for a token without Maintainer rights', async (t) => {
    const gl = await start(t, 'gitlab');
    gl.denyHooks();
    t.match(await failure(client(gl).ProjectHooks.all(project)), { message: '403 Forbidden' });
    t.match(await failure(client(gl).ProjectHooks.add(project, GL_HOOK, {})), { message: '403 Forbidden' });
    t.same(gl.unexpected, []);
    t.equal(gl.hooks.size, 0);
  });

  t.test('hook events: newest first, status filter, resend (rate-limited)', async (t) => {
    const gl = await start(t, 'gitlab');
    const hook = gl.seedHook(project, { url: GL_HOOK, events: ['push_events', 'merge_requests_events'], secret: 's' });
    const hookId = hook.id as number;
    const at = (min: number): string => new Date(Date.now() - min * 60_000).toISOString();
    const ok = gl.seedDelivery(project, hookId, { trigger: 'push_hooks', response_status: '200', created_at: at(30) });
    const broken = gl.seedDelivery(project, hookId, { trigger: 'merge_request_hooks', response_status: 'internal error', created_at: at(20) });
    const fivexx = gl.seedDelivery(project, hookId, { trigger: 'push_hooks', response_status: '502', created_at: at(10) });
    gl.seedDelivery(project, hookId, { trigger: 'push_hooks', created_at: at(8 * 24 * 60) });
    const url = `${gl.url}/api/v4/projects/${encodeURIComponent(project)}/hooks/${String(hookId)}/events`;
    const auth = { auth: null, headers: { 'private-token': TOKEN } };
    const events = await call(url, 'GET', auth);
    t.equal(events.status, 200);
    t.same(
      (events.body as Obj[]).map((e) => e.id),
      [fivexx.id, broken.id, ok.id],
      'newest first; older than 7 days is not listed',
    );
    t.match(events.body[1], {
      trigger: 'merge_request_hooks',
      response_status: 'internal error',
      url: GL_HOOK,
      request_headers: { 'X-Gitlab-Event': 'Merge Request Hook', 'X-Gitlab-Token': '[REDACTED]' },
    });
    t.equal(events.headers.get('x-total'), '3');
    const failed = await call(`${url}?status=server_failure`, 'GET', auth);
    t.same(
      (failed.body as Obj[]).map((e) => e.id),
      [fivexx.id],
    );

    const resend = await call(`${url}/${String(broken.id)}/resend`, 'POST', auth);
    t.same([resend.status, resend.body], [201, { response_status: 200 }]);
    t.match(gl.redeliveries, [{ repo: project, hookId, deliveryId: broken.id }]);
    t.match(gl.deliveries(project, hookId)[0], { id: gl.redeliveries[0]!.newDeliveryId, trigger: 'merge_request_hooks', response_status: '200' });
    for (let i = 0; i < 4; i++) t.equal((await call(`${url}/${String(broken.id)}/resend`, 'POST', auth)).status, 201);
    const limited = await call(`${url}/${String(broken.id)}/resend`, 'POST', auth);
    t.same([limited.status, limited.body], [429, { message: { error: 'This endpoint has been requested too many times. Try again later.' } }]);
    t.equal(gl.redeliveries.length, 5);
    t.same(gl.unexpected, []);
    t.equal((await call(`${url}/424242/resend`, 'POST', auth)).status, 404);
    t.equal(gl.unexpected.length, 1);
  });
});

t.test('bitbucket cloud webhooks', async (t) => {
  const BB_HOOK = 'https://landfall.example/hooks/bitbucket';
  t.test('create, list (secret_set, never the secret), update a drifted hook by {uuid}', async (t) => {
    const bb = await start(t, 'bitbucket');
    const base = `${bb.url}/repositories/acme/web/hooks`;
    const created = await call(base, 'POST', {
      body: { description: 'Landfall', url: BB_HOOK, active: true, events: ['repo:push', 'pullrequest:created'], secret: 'bb-secret' },
    });
    t.equal(created.status, 201);
    t.match(created.body, {
      type: 'webhook_subscription',
      uuid: /^\{[0-9a-f-]{36}\}$/,
      url: BB_HOOK,
      description: 'Landfall',
      active: true,
      events: ['repo:push', 'pullrequest:created'],
      secret_set: true,
    });
    t.notOk('secret' in created.body);

    const drifted = bb.seedHook('acme/web', { url: `${BB_HOOK}/old`, active: false, events: ['repo:push'], settings: { description: 'Landfall (old)' } });
    const listed = await call(base, 'GET');
    t.match(listed.body, { pagelen: 10, size: 2, page: 1 });
    t.match(listed.body.values[1], { uuid: drifted.id, active: false, secret_set: false });

    const put = await call(`${base}/${encodeURIComponent(String(drifted.id))}`, 'PUT', {
      body: { url: BB_HOOK, active: true, events: ['repo:push', 'pullrequest:updated'], secret: 'bb-secret' },
    });
    t.same([put.status, put.body.active, put.body.secret_set], [200, true, true]);
    const raw = await call(`${base}/${String(drifted.id)}`, 'PUT', { body: { description: 'Landfall' } });
    t.equal(raw.status, 200, 'unencoded braces work too');
    t.match(
      bb.hooks.get('acme/web')?.find((h) => h.id === drifted.id),
      { url: BB_HOOK, active: true, secret: 'bb-secret', edits: 2, settings: { description: 'Landfall' } },
      'a PUT without secret keeps it',
    );
    await call(`${base}/${encodeURIComponent(String(drifted.id))}`, 'PUT', { body: { secret: null } });
    t.equal(bb.hooks.get('acme/web')?.find((h) => h.id === drifted.id)?.secret, null, 'secret: null removes it');
    t.same(bb.unexpected, []);

    const bad = await call(base, 'POST', { body: { url: BB_HOOK, active: true, events: ['push'] } });
    t.same([bad.status, bad.body.error.message], [400, 'events: "push" is not a valid choice.']);
    t.equal((await call(`${base}/%7Bnope%7D`, 'PUT', { body: { active: true } })).status, 404);
    t.equal(bb.unexpected.length, 2);
  });

  t.test('403 for a token without the webhook scope', async (t) => {
    const bb = await start(t, 'bitbucket');
    bb.denyHooks(true);
    const denied = await call(`${bb.url}/repositories/acme/web/hooks`, 'GET');
    t.same([denied.status, denied.body.type], [403, 'error']);
    t.equal(denied.body.error.message, 'Your credentials lack one or more required privilege scopes.');
    bb.denyHooks(false);
    bb.failNext({ method: 'POST', pathRegex: /\/hooks$/, status: 403 });
    const injected = await call(`${bb.url}/repositories/acme/web/hooks`, 'POST', { body: { url: BB_HOOK, active: true, events: ['repo:push'] } });
    t.same([injected.status, injected.body.error.message], [403, 'Your credentials lack one or more required privilege scopes.']);
    t.same(bb.unexpected, []);
  });
});

t.test('bitbucket data center webhooks', async (t) => {
  const DC_HOOK = 'https://landfall.example/hooks/bitbucket-server';
  t.test('create, list without the secret, update a drifted hook, 401 without admin', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    const base = `${dc.url}/rest/api/latest/projects/ACME/repos/web/webhooks`;
    const created = await call(base, 'POST', {
      body: { name: 'landfall', url: DC_HOOK, active: true, events: ['repo:refs_changed', 'pr:opened'], configuration: { secret: 'dc-secret' } },
    });
    t.equal(created.status, 201);
    t.match(created.body, {
      id: Number,
      name: 'landfall',
      url: DC_HOOK,
      active: true,
      events: ['repo:refs_changed', 'pr:opened'],
      configuration: {},
      scopeType: 'repository',
    });
    t.match(dc.hooks.get('ACME/web'), [{ secret: 'dc-secret' }]);

    const drifted = dc.seedHook('ACME/web', { url: `${DC_HOOK}/old`, active: false, events: ['repo:refs_changed'] });
    const listed = await call(base, 'GET');
    t.match(listed.body, { size: 2, isLastPage: true, start: 0 });
    t.same(listed.body.values[0].configuration, {}, 'never the secret');
    const put = await call(`${base}/${String(drifted.id)}`, 'PUT', {
      body: { name: 'landfall', url: DC_HOOK, active: true, events: ['repo:refs_changed', 'pr:from_ref_updated'], configuration: { secret: 'dc-secret' } },
    });
    t.match([put.status, put.body], [200, { id: drifted.id, active: true, url: DC_HOOK }]);
    t.match(dc.hooks.get('ACME/web')?.[1], { secret: 'dc-secret', events: ['repo:refs_changed', 'pr:from_ref_updated'], edits: 1 });
    t.same(dc.unexpected, []);

    const bad = await call(base, 'POST', { body: { name: 'x', url: DC_HOOK, events: ['push'] } });
    t.match([bad.status, bad.body], [400, { errors: [{ context: 'events' }] }]);
    t.equal(dc.unexpected.length, 1);

    dc.denyHooks(true);
    const denied = await call(base, 'GET');
    t.match([denied.status, denied.body], [401, { errors: [{ exceptionName: 'com.atlassian.bitbucket.AuthorisationException' }] }]);
    t.equal(dc.unexpected.length, 1, 'the refusal is not unexpected');
  });
});

t.test('gitea webhooks', async (t) => {
  const GT_HOOK = 'https://landfall.example/hooks/gitea';
  t.test('create, list without the secret, patch a drifted hook, 403 without admin', async (t) => {
    const gt = await start(t, 'gitea');
    const auth = `token ${TOKEN}`;
    const base = `${gt.url}/api/v1/repos/acme/web/hooks`;
    const created = await call(base, 'POST', {
      auth,
      body: {
        type: 'gitea',
        active: true,
        events: ['push', 'pull_request'],
        config: { url: GT_HOOK, content_type: 'json', secret: 'gt-secret' },
        branch_filter: '*',
      },
    });
    t.equal(created.status, 201);
    t.match(created.body, { id: Number, type: 'gitea', active: true, config: { url: GT_HOOK, content_type: 'json' } });
    t.same(
      created.body.events,
      [
        'push',
        'pull_request',
        'pull_request_assign',
        'pull_request_label',
        'pull_request_milestone',
        'pull_request_comment',
        'pull_request_review',
        'pull_request_sync',
        'pull_request_review_request',
      ],
      'pull_request means every pull-request event',
    );
    t.notOk('secret' in created.body.config);
    const inactive = await call(base, 'POST', { auth, body: { type: 'gitea', config: { url: `${GT_HOOK}/2`, content_type: 'json' } } });
    t.match(inactive.body, { active: false, events: ['push'] }, 'Gitea: active defaults to false, events to push');

    const drifted = gt.seedHook('acme/web', { url: `${GT_HOOK}/old`, active: false, events: ['push'] });
    const listed = await call(base, 'GET', { auth });
    t.equal(listed.body.length, 3);
    t.equal(listed.headers.get('x-total-count'), '3');
    const patched = await call(`${base}/${String(drifted.id)}`, 'PATCH', {
      auth,
      body: { active: true, events: ['push', 'pull_request_only'], branch_filter: 'main', config: { url: GT_HOOK, content_type: 'json', secret: 'gt-secret' } },
    });
    t.match(
      [patched.status, patched.body],
      [200, { id: drifted.id, active: true, events: ['push', 'pull_request'], branch_filter: 'main', config: { url: GT_HOOK } }],
    );
    t.match(gt.hooks.get('acme/web')?.[2], { secret: null, edits: 1 }, 'an edit ignores config.secret (Gitea reads it on create only)');
    await call(`${base}/${String(drifted.id)}`, 'PATCH', { auth, body: { config: { content_type: 'json' } } });
    t.match(
      gt.hooks.get('acme/web')?.[2],
      { url: GT_HOOK, active: true, events: ['push'], settings: { branch_filter: '' } },
      'config keys not sent are kept; events and branch filter not sent are reset',
    );
    t.same(gt.unexpected, []);

    const noUrl = await call(base, 'POST', { auth, body: { type: 'gitea', config: { content_type: 'json' } } });
    t.same([noUrl.status, noUrl.body.message], [422, 'Missing config option: url']);
    gt.denyHooks(true);
    const denied = await call(base, 'GET', { auth });
    t.same([denied.status, denied.body.message], [403, 'user should be an owner or a collaborator with admin write of a repository']);
    t.equal(gt.unexpected.length, 1);
  });
});

t.test('the preview routes', async (t) => {
  t.test("github deployments: GitHub's defaults are refused; auto_inactive reaches only non-transient, non-production ones", async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    const base = { owner: 'acme', repo: 'web', ref: SHA, environment: 'staging', auto_merge: false, required_contexts: [] as string[] };
    t.match(await failure(ok.rest.repos.createDeployment({ owner: 'acme', repo: 'web', ref: SHA, environment: 'staging' })), { status: 409 });
    t.match(gh.unexpected[0]?.reason, /auto_merge was not false/);
    t.match(await failure(ok.rest.repos.createDeployment({ ...base, ref: 'main' })), { status: 422 });
    const plain = (await ok.rest.repos.createDeployment({ ...base, production_environment: false })).data as Obj;
    const transient = (await ok.rest.repos.createDeployment({ ...base, transient_environment: true, production_environment: false })).data as Obj;
    const production = (await ok.rest.repos.createDeployment({ ...base, environment: 'production' })).data as Obj;
    t.match(production, { environment: 'production', production_environment: true, transient_environment: false });
    for (const d of [plain, transient, production])
      await ok.rest.repos.createDeploymentStatus({ owner: 'acme', repo: 'web', deployment_id: d.id, state: 'success' });
    const next = (await ok.rest.repos.createDeployment({ ...base, ref: SHA2, production_environment: false })).data as Obj;
    const status = await ok.rest.repos.createDeploymentStatus({
      owner: 'acme',
      repo: 'web',
      deployment_id: next.id,
      state: 'success',
      environment_url: 'https://staging.example.com',
      log_url: 'https://ci.example.com/1',
    });
    t.match(status.data, {
      state: 'success',
      environment_url: 'https://staging.example.com',
      log_url: 'https://ci.example.com/1',
      target_url: 'https://ci.example.com/1',
    });
    t.same(
      gh.deployments.map((d) => [d.id, d.statuses.at(-1)?.state, d.statuses.at(-1)?.auto]),
      [
        [plain.id, 'inactive', true],
        [transient.id, 'success', false],
        [production.id, 'success', false],
        [next.id, 'success', false],
      ],
      'only the plain staging deployment was made inactive by GitHub',
    );
    const listed = await ok.rest.repos.listDeployments({ owner: 'acme', repo: 'web', environment: 'staging', per_page: 2 });
    t.same(
      listed.data.map((d) => d.id),
      [next.id, transient.id],
      'newest first, paged',
    );
    t.match(listed.headers.link, /rel="next"/);
    const statuses = await ok.rest.repos.listDeploymentStatuses({ owner: 'acme', repo: 'web', deployment_id: plain.id });
    t.same(
      statuses.data.map((s) => s.state),
      ['inactive', 'success'],
      'newest first',
    );
    t.match(await failure(ok.rest.repos.createDeploymentStatus({ owner: 'acme', repo: 'web', deployment_id: plain.id, state: 'done' as 'success' })), {
      status: 422,
    });
    t.equal(gh.unexpected.length, 3);
  });

  t.test('github: pulls, a collaborator permission and the combined status as GitHub shapes them', async (t) => {
    const gh = await start(t, 'github');
    const ok = octokit(gh);
    gh.seedPullRequest('acme/web', { number: 3, headSha: SHA, headBranch: 'feature', baseBranch: 'main', labels: ['preview'], author: 'alice', fork: true });
    const [pull] = (await ok.rest.pulls.list({ owner: 'acme', repo: 'web' })).data;
    t.match(pull, {
      number: 3,
      state: 'open',
      user: { login: 'alice' },
      labels: [{ name: 'preview' }],
      head: { sha: SHA, ref: 'feature', repo: { full_name: 'fork-owner/web', fork: true } },
      base: { ref: 'main' },
    });
    t.notOk(pull && 'merged' in pull, 'the list has no merged field');
    gh.updatePullRequest('acme/web', 3, { state: 'merged' });
    t.match((await ok.rest.pulls.get({ owner: 'acme', repo: 'web', pull_number: 3 })).data, { state: 'closed', merged: true });
    t.match(await failure(ok.rest.pulls.get({ owner: 'acme', repo: 'web', pull_number: 4 })), { status: 404 });
    gh.seedPermission('acme/web', 'keeper', 'maintain');
    t.match((await ok.rest.repos.getCollaboratorPermissionLevel({ owner: 'acme', repo: 'web', username: 'keeper' })).data, {
      permission: 'write',
      role_name: 'maintain',
      user: { login: 'keeper', permissions: { push: true, admin: false } },
    });
    t.match((await ok.rest.repos.getCollaboratorPermissionLevel({ owner: 'acme', repo: 'other', username: 'keeper' })).data, { permission: 'none' });
    t.match(await failure(ok.rest.repos.getCollaboratorPermissionLevel({ owner: 'acme', repo: 'web', username: 'ghost' })), { status: 404 });
    gh.seedStatus(SHA, 'CI/Build', 'failure');
    gh.seedStatus(SHA, 'ci/build', 'success');
    gh.seedStatus(SHA, 'ci/lint', 'pending');
    t.match((await ok.rest.repos.getCombinedStatusForRef({ owner: 'acme', repo: 'web', ref: SHA })).data, {
      state: 'pending',
      total_count: 2,
      statuses: [
        { context: 'ci/lint', state: 'pending' },
        { context: 'ci/build', state: 'success' },
      ],
    });
    t.same(gh.unexpected, []);
  });

  t.test('gitlab: environments refuse what GitLab refuses; members and users', async (t) => {
    const gl = await start(t, 'gitlab');
    const base = `${gl.url}/api/v4/projects/acme%2Fweb`;
    const auth = `Bearer ${TOKEN}`;
    const created = await call(`${base}/environments`, 'POST', {
      auth,
      body: { name: 'web-pr-1', external_url: 'https://x.example.com', tier: 'development' },
    });
    t.match(created, { status: 201, body: { name: 'web-pr-1', state: 'available', external_url: 'https://x.example.com', tier: 'development' } });
    const taken = await call(`${base}/environments`, 'POST', { auth, body: { name: 'web-pr-1' } });
    t.same([taken.status, taken.body], [400, { message: { name: ['has already been taken'] } }]);
    t.same(gl.unexpected, [], 'a name taken meanwhile is a race, not a bug');
    t.equal((await call(`${base}/environments`, 'POST', { auth, body: { name: '/bad' } })).status, 400);
    t.equal((await call(`${base}/environments`, 'POST', { auth, body: { name: 'ok', external_url: 'ftp://x' } })).status, 400);
    t.equal((await call(`${base}/environments/${created.body.id}`, 'DELETE', { auth })).status, 403, 'an available environment cannot be deleted');
    t.match(await call(`${base}/environments/${created.body.id}/stop`, 'POST', { auth }), { status: 200, body: { state: 'stopped' } });
    t.equal((await call(`${base}/environments/${created.body.id}`, 'DELETE', { auth })).status, 204);
    t.equal((await call(`${base}/environments/${created.body.id}/stop`, 'POST', { auth })).status, 404, 'deleted: a fair 404');
    t.equal(gl.unexpected.length, 3);
    gl.seedPermission('acme/web', 'dev', 'write');
    const users = await call(`${gl.url}/api/v4/users?username=DEV`, 'GET', { auth });
    t.match(users.body, [{ username: 'dev', state: 'active' }]);
    t.match(await call(`${base}/members/all/${users.body[0].id}`, 'GET', { auth }), { status: 200, body: { username: 'dev', access_level: 30 } });
    t.same((await call(`${gl.url}/api/v4/users?username=ghost`, 'GET', { auth })).body, []);
  });

  t.test('data center: users by repository permission; an unknown filter is refused (Data Center would drop it and answer everyone)', async (t) => {
    const dc = await start(t, 'bitbucket-server');
    dc.seedPermission('ACME/web', 'writer', 'write');
    dc.seedPermission('ACME/web', 'reader', 'read');
    const q = (extra: string) => `${dc.url}/rest/api/latest/users?permission.1=REPO_WRITE&permission.1.projectKey=ACME&permission.1.repositorySlug=web${extra}`;
    const both = await call(q(''), 'GET');
    t.same(
      both.body.values.map((u: Obj) => u.name),
      ['writer'],
    );
    t.same((await call(q('&filter=read'), 'GET')).body.values, []);
    t.equal((await call(`${dc.url}/rest/api/latest/users?permission=LICENSED_USER`, 'GET')).status, 400);
    t.equal(dc.unexpected.length, 1);
    dc.seedStatus(SHA, 'ci', 'INPROGRESS');
    dc.seedStatus(SHA, 'ci', 'SUCCESSFUL');
    t.match((await call(`${dc.url}/rest/build-status/latest/commits/${SHA}`, 'GET')).body, { values: [{ key: 'ci', state: 'SUCCESSFUL' }], isLastPage: true });
  });

  t.test('bitbucket cloud: pull requests carry abbreviated hashes; only the destination-branch query is read', async (t) => {
    const bb = await start(t, 'bitbucket');
    bb.seedPullRequest('acme/web', { number: 2, headSha: SHA, headBranch: 'feature', baseBranch: 'main', author: '{0a0a0a0a-0000-4000-8000-00000000000a}' });
    const list = await call(`${bb.url}/repositories/acme/web/pullrequests?q=${encodeURIComponent('destination.branch.name="main"')}`, 'GET');
    t.match(list.body.values, [
      { id: 2, state: 'OPEN', source: { commit: { hash: SHA.slice(0, 12) } }, author: { uuid: '{0a0a0a0a-0000-4000-8000-00000000000a}' } },
    ]);
    t.equal((await call(`${bb.url}/repositories/acme/web/pullrequests?q=${encodeURIComponent('title~"x"')}`, 'GET')).status, 400);
    t.match(
      await call(`${bb.url}/repositories/acme/web/commit/${SHA.slice(0, 12)}`, 'GET'),
      { status: 200, body: { hash: SHA } },
      'its head is a known commit',
    );
    t.equal(bb.unexpected.length, 1);
  });
});
