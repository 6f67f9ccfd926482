/**
 * Tests of the forge API stand-ins themselves (test/support/forge-api): each forge is driven with
 * the client Landfall uses for it (@octokit/rest for GitHub, @gitbeaker/rest for GitLab, plain
 * fetch for Bitbucket Cloud, Bitbucket Data Center and Gitea) and checked for what it stores,
 * what it answers and what it records as unexpected. No sleeps: state changes are awaited.
 */
import t from 'tap';
import { Octokit } from '@octokit/rest';
import { Gitlab } from '@gitbeaker/rest';
import { startForgeApi, type ForgeApi, type ForgeApiOptions, type ForgeId } from './support/forge-api/index.js';

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
  const res = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}) });
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
    t.match(await failure(octokit(gh).request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { owner: 'acme', repo: 'web', ref: SHA })), { status: 404 });
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
      .then(() => undefined, (e: Obj) => e);
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
    t.match(await failure(ok.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'acme', repo: 'web', sha: SHA, state: 'done' as 'success' })), { status: 422 });
    t.match(await failure(ok.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'acme', repo: 'web', sha: SHA, state: 'success', targetUrl: 'x' })), {
      status: 422,
    });
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
    const limited = (await post().then(() => undefined, (e: Obj) => e)) as Obj;
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
    t.match(res, { sha: SHA, ref: 'main', status: 'running', name: 'landfall/prod', target_url: 'https://landfall.example/deploys/1', description: 'Deploying' });
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

  t.test('re-posting the same state is GitLab\'s 400, not unexpected; finished jobs are followed by new ones', async (t) => {
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
    const err = (await api.Commits.editStatus(project, SHA, 'success', { name: 'b', description: 'd'.repeat(256) }).then(() => undefined, (e: Obj) => e)) as Obj;
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
    t.equal(all[0]!.body, 'human 23', 'newest first, GitLab\'s default sort');
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
      body: { key: 'landfall-prod', state: 'INPROGRESS', url: 'https://landfall.example/d/1', name: 'Landfall prod', description: 'Deploying', refname: 'main' },
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
      body: { key: 'landfall-prod', state: 'INPROGRESS', url: 'https://landfall.example/d/1', name: 'Landfall prod', description: 'Deploying', ref: 'refs/heads/main' },
    });
    t.equal(res.status, 204);
    t.equal(res.body, undefined);
    t.equal(res.headers.get('content-type'), null);
    t.match(dc.statuses.latest(SHA, 'landfall-prod'), { state: 'INPROGRESS', ref: 'refs/heads/main', name: 'Landfall prod', targetUrl: 'https://landfall.example/d/1' });
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
    t.same(dc.unexpected, [], 'a stale version is the forge\'s normal answer');

    const acts = await call(`${base}/activities?limit=25&start=0`, 'GET');
    t.equal(acts.status, 200);
    t.match(acts.body, { isLastPage: true, size: 2 });
    t.match(acts.body.values[0], { action: 'COMMENTED', commentAction: 'ADDED', comment: { id, version: 1, text: 'deployed' } });
    t.match(acts.body.values[1], { action: 'OPENED' });
    t.match(dc.comments.get(5), [{ id, body: 'deployed', edits: 1, version: 1 }]);
  });
});

t.test('gitea', async (t) => {
  t.test('a status is stored; Bearer is not Gitea\'s scheme', async (t) => {
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
    await call(`${dc.url}/rest/api/latest/projects/ACME/repos/web/commits/${SHA}/builds`, 'POST', { body: { key: 'k', state: 'INPROGRESS', url: 'https://x' } });
    t.notOk(settled, 'not yet: still INPROGRESS');
    await call(`${dc.url}/rest/api/latest/projects/ACME/repos/web/commits/${SHA}/builds`, 'POST', { body: { key: 'k', state: 'SUCCESSFUL', url: 'https://x' } });
    await waiting;
    await t.resolves(dc.waitFor((f) => f.requests.length === 2), 'an already-true predicate resolves at once');

    const err = (await dc.waitFor((f) => f.statuses.latest(SHA, 'k')?.state === 'FAILED', 30).then(() => undefined, (e: Error) => e)) as Error;
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
