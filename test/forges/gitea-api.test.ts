/**
 * The Gitea API behaviours Landfall relies on: repository hooks (create, list, edit, and how
 * Gitea stores their events), commit statuses, issue comments and the hook test delivery; and,
 * through Landfall's own client (src/forges/gitea), the calls previews make: pull requests, a
 * collaborator's permission, a commit's combined status and a pull request's comments.
 *
 * The same file runs against the Gitea stand-in (test/support/forge-api) and, when a real Gitea
 * is there (`npm run gitea -- up`, or the LANDFALL_GITEA_* variables), against it: then every
 * test runs on a fresh repository of the real Gitea, and what the stand-in merely records (a test
 * delivery) is checked for real at a local receiver. What passes in both modes is what the
 * stand-in is known to get right; the differences left are listed in
 * test/support/forge-api/README.md.
 */
import { createHmac } from 'node:crypto';
import t from 'tap';
import { createGiteaApi } from '../../src/forges/gitea/api.js';
import type { ForgeApi as LandfallApi } from '../../src/forges/forge-api.js';
import { startForgeApi, type ForgeApi } from '../support/forge-api/index.js';
import { realGitea, realGiteaMode } from '../support/real-gitea.js';
import { startReceiver } from '../support/receiver.js';

// Response bodies are checked field by field; a loose type keeps that readable.
type Obj = Record<string, any>;

const REAL = realGiteaMode();
const TOKEN = 'gitea-stand-in-token';
const SECRET = 'gitea-hook-secret';
t.comment(REAL ? `against the real Gitea ${realGitea().version} at ${realGitea().url}` : 'against the Gitea stand-in');

interface Target {
  /** `owner/name` of a repository with at least one commit on main. */
  repo: string;
  /** The head of main (a commit the forge knows). */
  sha: string;
  call(method: string, path: string, body?: unknown, auth?: string | null): Promise<{ status: number; body: any }>;
  /** Landfall's Gitea client for this Gitea. */
  landfall: LandfallApi;
  /** The login Landfall's token belongs to (the owner of `repo`). */
  login: string;
  /** The stand-in, when not real. */
  standIn?: ForgeApi;
}

/** A body as JSON when it is JSON, else the text. */
function parse(text: string): any {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

async function target(tt: { teardown(fn: () => unknown): void }): Promise<Target> {
  if (REAL) {
    const gitea = realGitea();
    const repo = await gitea.createRepo('api', { init: true });
    const branch = await gitea.api('GET', `/repos/${repo}/branches/main`);
    const call: Target['call'] = async (method, path, body, auth) => {
      if (auth === undefined) return gitea.api(method, path, body);
      const res = await fetch(`${gitea.url}/api/v1${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(auth !== null ? { authorization: auth } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: parse(await res.text()) };
    };
    return { repo, sha: branch.body.commit.id as string, call, landfall: createGiteaApi({ url: gitea.url, token: gitea.token }), login: gitea.user };
  }
  const standIn = await startForgeApi('gitea', { token: TOKEN });
  tt.teardown(() => standIn.close());
  const call: Target['call'] = async (method, path, body, auth) => {
    const header = auth === undefined ? `token ${TOKEN}` : auth;
    const res = await fetch(`${standIn.url}/api/v1${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(header !== null ? { authorization: header } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: parse(await res.text()) };
  };
  return {
    repo: 'acme/web',
    sha: '3f786850e387550fdab836ed7e6dc881de23001b',
    call,
    landfall: createGiteaApi({ url: standIn.url, token: TOKEN }),
    login: 'landfall-bot',
    standIn,
  };
}

/**
 * A pull request from a new branch with one commit into main: made through the API on the real
 * Gitea, seeded on the stand-in. Returns its number and head sha.
 */
async function openPullRequest(x: Target, branch: string, options: { number?: number; labels?: string[] } = {}): Promise<{ number: number; sha: string }> {
  if (x.standIn) {
    const number = options.number ?? 1;
    const sha = createHmac('sha1', branch).update(branch).digest('hex');
    x.standIn.seedPullRequest(x.repo, { number, headSha: sha, headBranch: branch, baseBranch: 'main', labels: options.labels ?? [], author: x.login });
    return { number, sha };
  }
  const file = await x.call('POST', `/repos/${x.repo}/contents/${branch}.txt`, {
    content: Buffer.from(`${branch}\n`).toString('base64'),
    message: `add ${branch}`,
    branch: 'main',
    new_branch: branch,
  });
  if (file.status !== 201) throw new Error(`creating ${branch} answered ${file.status}: ${JSON.stringify(file.body)}`);
  const pull = await x.call('POST', `/repos/${x.repo}/pulls`, { head: branch, base: 'main', title: `Preview ${branch}` });
  if (pull.status !== 201) throw new Error(`opening a pull request from ${branch} answered ${pull.status}: ${JSON.stringify(pull.body)}`);
  for (const name of options.labels ?? []) {
    const label = await x.call('POST', `/repos/${x.repo}/labels`, { name, color: '#00aabb' });
    await x.call('POST', `/repos/${x.repo}/issues/${pull.body.number}/labels`, { labels: [label.body.id] });
  }
  return { number: pull.body.number as number, sha: file.body.commit.sha as string };
}

/** A user of its own on the real Gitea (with `permission` on the repository unless none); seeded on the stand-in. */
async function person(x: Target, permission: 'read' | 'write' | 'admin' | 'none'): Promise<string> {
  const name = `p-${permission}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  if (x.standIn) {
    x.standIn.seedPermission(x.repo, name, permission);
    return name;
  }
  const gitea = realGitea();
  const made = await gitea.api('POST', '/admin/users', {
    username: name,
    email: `${name}@example.invalid`,
    password: `Pw-${name}-x9`,
    must_change_password: false,
  });
  if (made.status !== 201) throw new Error(`creating user ${name} answered ${made.status}`);
  if (permission !== 'none') {
    const added = await gitea.api('PUT', `/repos/${x.repo}/collaborators/${name}`, { permission });
    if (added.status !== 204) throw new Error(`adding collaborator ${name} answered ${added.status}`);
  }
  return name;
}

const sorted = (list: string[]) => [...list].sort();
const hookUrl = 'http://127.0.0.1:9/hooks/gitea';

t.test('events: pull_request means every pull-request event, pull_request_only the plain one; listed back by stored name', async (t) => {
  const x = await target(t);
  const landfall = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['push', 'pull_request_only', 'pull_request_sync'],
    config: { url: hookUrl, content_type: 'json', secret: SECRET },
  });
  t.equal(landfall.status, 201);
  t.same(sorted(landfall.body.events), ['pull_request', 'pull_request_sync', 'push'], 'what webhooks check compares');
  t.match(landfall.body, { type: 'gitea', active: true, branch_filter: '', authorization_header: '', config: { url: hookUrl, content_type: 'json' } });
  t.notOk('secret' in landfall.body.config, 'the secret is never shown');

  const all = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['push', 'pull_request'],
    config: { url: `${hookUrl}/2`, content_type: 'json' },
  });
  t.same(sorted(all.body.events), [
    'pull_request',
    'pull_request_assign',
    'pull_request_comment',
    'pull_request_label',
    'pull_request_milestone',
    'pull_request_review',
    'pull_request_review_request',
    'pull_request_sync',
    'push',
  ]);
  const issues = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['issues_only', 'PUSH'],
    config: { url: `${hookUrl}/3`, content_type: 'json' },
  });
  t.same(sorted(issues.body.events), ['issues', 'push'], 'issues_only is the plain issues event; names are case-insensitive');

  const listed = await x.call('GET', `/repos/${x.repo}/hooks`);
  t.equal(listed.status, 200);
  const byUrl = new Map<string, string[]>(listed.body.map((h: Obj) => [h.config.url, sorted(h.events)]));
  t.same(byUrl.get(hookUrl), ['pull_request', 'pull_request_sync', 'push']);
  t.same(byUrl.get(`${hookUrl}/2`)?.length, 9);
  if (x.standIn) t.same(x.standIn.unexpected, []);
});

t.test('create defaults: inactive unless asked, push only without events', async (t) => {
  const x = await target(t);
  const bare = await x.call('POST', `/repos/${x.repo}/hooks`, { type: 'gitea', config: { url: hookUrl, content_type: 'json' } });
  t.equal(bare.status, 201);
  t.match(bare.body, { active: false, events: ['push'] });
  const empty = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: [],
    config: { url: `${hookUrl}/e`, content_type: 'json' },
  });
  t.match(empty.body, { active: true, events: ['push'] });
  const noUrl = await x.call('POST', `/repos/${x.repo}/hooks`, { type: 'gitea', config: { content_type: 'json' } });
  t.same([noUrl.status, noUrl.body.message], [422, 'Missing config option: url']);
  const badType = await x.call('POST', `/repos/${x.repo}/hooks`, { type: 'gitea', config: { url: hookUrl, content_type: 'xml' } });
  t.same([badType.status, badType.body.message], [422, 'Invalid content type']);
});

t.test('edit: events, branch filter and authorization header become what is sent; config keys not sent stay; active stays unless sent', async (t) => {
  const x = await target(t);
  const created = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['push', 'pull_request_only'],
    branch_filter: '{main,staging}',
    authorization_header: 'Bearer proxy-token',
    config: { url: hookUrl, content_type: 'json', secret: SECRET },
  });
  t.match(created.body, { branch_filter: '{main,staging}', authorization_header: 'Bearer proxy-token' }, 'the authorization header is shown back');
  const id = created.body.id as number;

  const keep = await x.call('PATCH', `/repos/${x.repo}/hooks/${id}`, {
    events: ['push', 'pull_request_only', 'pull_request_sync'],
    branch_filter: '{main,staging}',
    authorization_header: 'Bearer proxy-token',
    config: { url: `${hookUrl}/moved`, content_type: 'json' },
  });
  t.equal(keep.status, 200);
  t.match(keep.body, {
    active: true,
    branch_filter: '{main,staging}',
    authorization_header: 'Bearer proxy-token',
    config: { url: `${hookUrl}/moved`, content_type: 'json' },
  });
  t.same(sorted(keep.body.events), ['pull_request', 'pull_request_sync', 'push']);

  const reset = await x.call('PATCH', `/repos/${x.repo}/hooks/${id}`, { config: { content_type: 'json' } });
  t.equal(reset.status, 200);
  t.match(
    reset.body,
    { active: true, branch_filter: '', authorization_header: '', config: { url: `${hookUrl}/moved` } },
    'url kept; branch filter and header gone',
  );
  t.same(reset.body.events, ['push'], 'events not sent: push only');

  const off = await x.call('PATCH', `/repos/${x.repo}/hooks/${id}`, { active: false, events: ['push'] });
  t.equal(off.body.active, false);
  const missing = await x.call('PATCH', `/repos/${x.repo}/hooks/999999`, { active: true });
  t.equal(missing.status, 404);
});

t.test("the hook test delivery: 204, a push of main's head signed with the secret of the create (an edit does not change it)", async (t) => {
  const x = await target(t);
  const receiver = REAL ? await startReceiver(t) : undefined;
  const url = receiver ? `${receiver.url}/hooks/gitea` : hookUrl;
  const created = await x.call('POST', `/repos/${x.repo}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['push'],
    config: { url, content_type: 'json', secret: SECRET },
  });
  const id = created.body.id as number;
  const edited = await x.call('PATCH', `/repos/${x.repo}/hooks/${id}`, {
    events: ['push'],
    config: { url, content_type: 'json', secret: 'a-new-secret-gitea-ignores' },
  });
  t.equal(edited.status, 200);
  const test = await x.call('POST', `/repos/${x.repo}/hooks/${id}/tests`);
  t.same([test.status, test.body], [204, undefined]);
  if (receiver) {
    const body = await receiver.waitFor((b: Obj) => b?.after === x.sha);
    const delivery = receiver.received.find((r) => r.body === body)!;
    t.match(body, { ref: 'refs/heads/main', before: x.sha, after: x.sha, repository: { full_name: x.repo } });
    t.equal(delivery.headers['x-gitea-event'], 'push');
    t.match(delivery.headers['x-gitea-delivery'], /^[0-9a-f-]{36}$/);
    const signature = createHmac('sha256', SECRET).update(delivery.raw).digest('hex');
    t.equal(delivery.headers['x-gitea-signature'], signature, "signed with the create's secret: the edit's config.secret was ignored");
    // A second test is a new delivery: another id, the same push.
    await x.call('POST', `/repos/${x.repo}/hooks/${id}/tests`);
    await t.resolves(
      () =>
        new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + 20_000;
          const poll = () =>
            receiver.received.length >= 2 ? resolve() : Date.now() > deadline ? reject(new Error('no second delivery')) : setTimeout(poll, 50);
          poll();
        }),
    );
    t.not(receiver.received[1]?.headers['x-gitea-delivery'], delivery.headers['x-gitea-delivery'], 'each test delivery has its own delivery id');
  } else {
    t.match(x.standIn!.hookTests, [{ repo: x.repo, hookId: id }]);
    t.equal(x.standIn!.hooks.get(x.repo)?.[0]?.secret, SECRET, "the edit's config.secret was ignored");
    t.same(x.standIn!.unexpected, []);
  }
});

t.test('commit statuses: 201 with `status` (not `state`); every state Landfall posts', async (t) => {
  const x = await target(t);
  for (const state of ['pending', 'success', 'failure', 'error']) {
    const res = await x.call('POST', `/repos/${x.repo}/statuses/${x.sha}`, {
      state,
      target_url: 'https://landfall.test/syncs/1',
      description: `Landfall ${state}`,
      context: 'landfall/web',
    });
    t.equal(res.status, 201, state);
    t.match(res.body, {
      id: Number,
      status: state,
      target_url: 'https://landfall.test/syncs/1',
      description: `Landfall ${state}`,
      context: 'landfall/web',
      creator: { login: String },
    });
  }
  if (x.standIn) {
    t.equal(x.standIn.statuses.latest(x.sha, 'landfall/web')?.state, 'error');
    t.same(x.standIn.unexpected, []);
  } else {
    const listed = await x.call('GET', `/repos/${x.repo}/commits/${x.sha}/statuses`);
    // Every post is kept; the list's order is not the posting order (ties within a second), so ids tell.
    t.same(
      listed.body.sort((a: Obj, b: Obj) => a.id - b.id).map((s: Obj) => s.status),
      ['pending', 'success', 'failure', 'error'],
      'every post is kept',
    );
    const combined = await x.call('GET', `/repos/${x.repo}/commits/${x.sha}/status`);
    // The combined state counts `error` (Landfall's "superseded") as a failure.
    t.match(combined.body, { state: 'failure', statuses: [{ context: 'landfall/web', status: 'error' }] }, 'the latest per context');
  }
});

t.test('issue comments: create, list, edit in place', async (t) => {
  const x = await target(t);
  let index = 7;
  if (!x.standIn) {
    const issue = await x.call('POST', `/repos/${x.repo}/issues`, { title: 'a pull request stands in' });
    index = issue.body.number as number;
  }
  const created = await x.call('POST', `/repos/${x.repo}/issues/${index}/comments`, { body: '<!-- landfall:web -->\nPlan: 1 to create' });
  t.equal(created.status, 201);
  const listed = await x.call('GET', `/repos/${x.repo}/issues/${index}/comments`);
  t.same(
    listed.body.map((c: Obj) => c.id),
    [created.body.id],
  );
  const edited = await x.call('PATCH', `/repos/${x.repo}/issues/comments/${created.body.id}`, { body: '<!-- landfall:web -->\nPlan: nothing to change' });
  t.equal(edited.status, 200);
  t.match(edited.body, { id: created.body.id, body: '<!-- landfall:web -->\nPlan: nothing to change' });
});

t.test('refusals: no token, a wrong token, a user without admin rights, an unknown hook or path', async (t) => {
  const x = await target(t);
  const none = await x.call('GET', `/repos/${x.repo}/hooks`, undefined, null);
  t.same([none.status, none.body.message], [401, 'token is required']);
  const wrong = await x.call('GET', `/repos/${x.repo}/hooks`, undefined, 'token 0000000000000000000000000000000000000000');
  t.same([wrong.status, wrong.body.message], [401, 'invalid username, password or token']);
  const token = await x.call('GET', `/repos/${x.repo}/hooks`, undefined, `token ${REAL ? realGitea().token : TOKEN}`);
  t.equal(token.status, 200, 'Authorization: token <t>, as Landfall sends it');

  let denied: { status: number; body: any };
  if (REAL) {
    // A user of its own, with a token of every scope, but no rights on the admin's repository.
    const gitea = realGitea();
    const name = `dev-${Date.now().toString(36)}`;
    const password = `Pw-${Math.random().toString(36).slice(2)}-x9`;
    t.equal((await gitea.api('POST', '/admin/users', { username: name, email: `${name}@example.invalid`, password, must_change_password: false })).status, 201);
    const minted = await fetch(`${gitea.url}/api/v1/users/${name}/tokens`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'landfall', scopes: ['all'] }),
    });
    denied = await x.call('GET', `/repos/${x.repo}/hooks`, undefined, `token ${((await minted.json()) as Obj).sha1}`);
  } else {
    x.standIn!.denyHooks(true);
    denied = await x.call('GET', `/repos/${x.repo}/hooks`);
    x.standIn!.denyHooks(false);
  }
  t.same([denied.status, denied.body.message], [403, 'user should be an owner or a collaborator with admin write of a repository']);

  const hook = await x.call('PATCH', `/repos/${x.repo}/hooks/999999`, { active: true });
  t.same([hook.status, hook.body.message, hook.body.errors], [404, 'not found', null]);
  const path = await x.call('GET', `/repos/${x.repo}/no-such-thing`, undefined, undefined).catch((err: Error) => ({ status: 0, body: err.message }));
  t.equal(path.status, 404, 'an unknown path is 404 (in plain text)');
});

t.test('pull requests: open ones into the base branch, with labels and author; one by number; merged and closed; unknown → undefined', async (t) => {
  const x = await target(t);
  const first = await openPullRequest(x, 'feature-a', { number: 1, labels: ['preview'] });
  const second = await openPullRequest(x, 'feature-b', { number: 2 });
  const open = await x.landfall.openPullRequests!(x.repo, 'main');
  t.same(open.map((p) => p.number).sort(), [first.number, second.number].sort());
  t.match(
    open.find((p) => p.number === first.number),
    { headSha: first.sha, headBranch: 'feature-a', headRepo: x.repo, baseBranch: 'main', labels: ['preview'], author: x.login },
  );
  t.same(await x.landfall.openPullRequests!(x.repo, 'staging'), [], 'none into another branch');
  t.match(await x.landfall.pullRequest!(x.repo, second.number), { number: second.number, state: 'open', headSha: second.sha });
  t.equal(await x.landfall.pullRequest!(x.repo, 9999), undefined);
  if (x.standIn) {
    x.standIn.updatePullRequest(x.repo, first.number, { state: 'merged' });
    x.standIn.updatePullRequest(x.repo, second.number, { state: 'closed' });
  } else {
    // Gitea checks mergeability in the background: merge once it says the pull request can be.
    await t.resolves(
      () =>
        new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + 20_000;
          const poll = () =>
            void x
              .call('GET', `/repos/${x.repo}/pulls/${first.number}`)
              .then((res) => (res.body?.mergeable === true ? resolve() : Date.now() > deadline ? reject(new Error('never mergeable')) : setTimeout(poll, 100)));
          poll();
        }),
    );
    t.equal((await x.call('POST', `/repos/${x.repo}/pulls/${first.number}/merge`, { Do: 'merge' })).status, 200);
    t.ok([200, 201].includes((await x.call('PATCH', `/repos/${x.repo}/pulls/${second.number}`, { state: 'closed' })).status), 'closed');
  }
  t.match(await x.landfall.pullRequest!(x.repo, first.number), { state: 'merged' });
  t.match(await x.landfall.pullRequest!(x.repo, second.number), { state: 'closed' });
  t.same(await x.landfall.openPullRequests!(x.repo, 'main'), []);
  if (x.standIn) t.same(x.standIn.unexpected, []);
});

t.test("a collaborator's permission: the owner and a writer may push, a reader and a stranger may not", async (t) => {
  const x = await target(t);
  const [writer, reader, stranger] = [await person(x, 'write'), await person(x, 'read'), await person(x, 'none')];
  t.equal(await x.landfall.canPush!(x.repo, x.repo.split('/')[0]!), true, 'the owner');
  t.equal(await x.landfall.canPush!(x.repo, writer), true, 'write');
  t.equal(await x.landfall.canPush!(x.repo, reader), false, 'read');
  t.equal(await x.landfall.canPush!(x.repo, stranger), false, 'no rights (public repository: read)');
  t.equal(await x.landfall.canPush!(x.repo, 'no-such-user-anywhere'), false, 'an unknown user (404)');
  if (x.standIn) t.same(x.standIn.unexpected, []);
});

t.test('a commit’s checks: the latest status per context, in common words', async (t) => {
  const x = await target(t);
  const post = (context: string, state: string) =>
    x.call('POST', `/repos/${x.repo}/statuses/${x.sha}`, { state, context, target_url: 'https://ci.example.com/1' });
  await post('ci/build', 'pending');
  await post('ci/build', 'success');
  await post('ci/lint', 'failure');
  await post('ci/e2e', 'pending');
  await post('ci/docs', 'warning');
  const checks = new Map((await x.landfall.commitChecks!(x.repo, x.sha)).map((c) => [c.context, c.state]));
  t.same(Object.fromEntries(checks), { 'ci/build': 'success', 'ci/lint': 'failure', 'ci/e2e': 'pending', 'ci/docs': 'failure' });
  if (x.standIn) t.same(x.standIn.unexpected, []);
});

t.test('a pull request’s comments, oldest first, with their authors', async (t) => {
  const x = await target(t);
  const { number } = await openPullRequest(x, 'feature-c', { number: 3 });
  for (const body of ['first', 'second', `/preview approve ${x.sha}`])
    t.equal((await x.call('POST', `/repos/${x.repo}/issues/${number}/comments`, { body })).status, 201);
  const comments = await x.landfall.listComments!(x.repo, number);
  t.same(
    comments.map((c) => c.body),
    ['first', 'second', `/preview approve ${x.sha}`],
  );
  t.ok(
    comments.every((c) => c.author === x.login && Number.isFinite(c.at)),
    'authored by the token’s user, with a time',
  );
  if (x.standIn) t.same(x.standIn.unexpected, []);
});
