// Forge behaviours read in the forges' own sources that the docs (and the first stand-ins) got
// wrong, one test per finding (issue 16, "the ten forge findings"). Each runs Landfall's own code
// against a stand-in that now behaves as the forge does.
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import t from 'tap';
import { runWebhooksCheck, runWebhooksSync } from '../../src/cli/webhooks.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ForgeId } from '../../src/config/schema.js';
import { createForgeApis } from '../../src/forges/api-clients.js';
import { runWebhookCheck } from '../../src/hook-admin/monitor.js';
import { readWebhookChecks } from '../../src/hook-admin/stored-checks.js';
import { createLogger } from '../../src/log/logger.js';
import { createIntake } from '../../src/queue/producer.js';
import { planJobId } from '../../src/model/jobs.js';
import { createKeys } from '../../src/store/keys.js';
import { startFlow } from '../support/flow.js';
import { startForgeApi, type ForgeApi, type ForgeApiOptions } from '../support/forge-api/index.js';
import { queuesForTest } from '../support/queues.js';
import { redisForTest } from '../support/redis.js';
import { configMap } from '../support/sync.js';

const SECRET = 'hook-secret-for-tests';
const TOKEN = 'forge-token-for-tests';
const SIGNING = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const PUBLIC = 'https://landfall.test';
const SHA = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

function config(forge: ForgeId, url: string, options: { secret?: boolean; signing?: boolean; prefix?: string } = {}): Config {
  const location = forge === 'github' || forge === 'bitbucket' ? 'apiUrl' : 'url';
  const credentials = [options.secret === false ? '' : `webhookSecret: ${SECRET}`, options.signing ? `signingToken: "${SIGNING}"` : '']
    .filter(Boolean)
    .join(', ');
  const repo = forge === 'gitlab' ? 'acme/platform/web' : 'acme/web';
  return parseConfig(
    `server: { publicUrl: "${PUBLIC}" }
${options.prefix ? `redis: { prefix: ${options.prefix} }` : ''}
forges:
  ${forge}: { ${credentials}, token: ${TOKEN}, ${location}: "${url}" }
apps:
  - { name: web, forge: ${forge}, repo: ${repo}, branch: main, namespace: web }
  - { name: web-staging, forge: ${forge}, repo: ${repo}, branch: staging, namespace: web-staging }
`,
    {},
  );
}

async function standIn(tt: { teardown(fn: () => unknown): void }, forge: ForgeId, options: Partial<ForgeApiOptions> = {}): Promise<ForgeApi> {
  const api = await startForgeApi(forge, { token: TOKEN, ...options });
  tt.teardown(() => api.close());
  return api;
}

function quietLog(lines: string[] = []) {
  return createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
}

const writes = (api: ForgeApi) => api.requests.filter((r) => r.method !== 'GET');

t.test('1. Gitea: Landfall sends pull_request_only and compares what Gitea lists back, so a right hook is left alone', async (t) => {
  const api = await standIn(t, 'gitea');
  const cfg = config('gitea', api.url);
  const apis = createForgeApis(cfg.forges);
  const first = await runWebhooksSync(cfg, [], {}, apis);
  t.match(
    first.text,
    /created hook \d+: url https:\/\/landfall\.test\/hooks\/gitea; events pull_request, pull_request_comment, pull_request_label, pull_request_sync, push/,
  );
  t.same(writes(api)[0]?.body, {
    type: 'gitea',
    active: true,
    events: ['pull_request_only', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'],
    config: { url: `${PUBLIC}/hooks/gitea`, content_type: 'json', secret: SECRET },
  });
  t.same(
    [...(api.hooks.get('acme/web')?.[0]?.events ?? [])].sort(),
    ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'],
    'what Gitea stores and lists back',
  );
  const again = await runWebhooksSync(cfg, [], {}, apis);
  t.match(again.text, /hook \d+ is right; nothing to change/);
  t.equal(writes(api).length, 1, 'the second run writes nothing');
  const check = await runWebhooksCheck(cfg, [], apis);
  t.equal(check.code, 0, check.text);

  // A hook an older Landfall asked for `pull_request` lists every pull-request sub-event: it is
  // put right once, and then stays right.
  const old = await standIn(t, 'gitea');
  old.seedHook('acme/web', {
    url: `${PUBLIC}/hooks/gitea`,
    secret: SECRET,
    events: [
      'push',
      'pull_request',
      'pull_request_assign',
      'pull_request_label',
      'pull_request_milestone',
      'pull_request_comment',
      'pull_request_review',
      'pull_request_review_request',
      'pull_request_sync',
    ],
  });
  const oldApis = createForgeApis(config('gitea', old.url).forges);
  const fixed = await runWebhooksSync(config('gitea', old.url), [], {}, oldApis);
  t.match(fixed.text, /updated hook \d+: events: -pull_request_assign -pull_request_milestone -pull_request_review -pull_request_review_request/);
  t.same([...(old.hooks.get('acme/web')?.[0]?.events ?? [])].sort(), [
    'pull_request',
    'pull_request_comment',
    'pull_request_label',
    'pull_request_sync',
    'push',
  ]);
  t.match((await runWebhooksSync(config('gitea', old.url), [], {}, oldApis)).text, /nothing to change/);
  t.same([...api.unexpected, ...old.unexpected], []);
});

t.test("2. The README's manual Gitea set-up asks for Pull Request Synchronized (new commits on a pull request are planned)", async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Gitea and Forgejo'), readme.indexOf('\n## ', readme.indexOf('### Gitea and Forgejo')));
  t.match(section, /Custom Events[^\n]*\n?[^\n]*Push[^\n]*Pull Request[^\n]*Pull Request Synchronized/s);
});

t.test('3. GitLab: a status on a protected branch refused to a Developer token names the role that works', async (t) => {
  const flow = await startFlow(t, 'gitlab', '', { forgeOptions: { gitlab: { role: 'developer', protectedBranches: ['main'] } } });
  const sha = await flow.repo.commit({ 'deploy/cm.yaml': configMap('a') });
  const jobId = await flow.push(sha);
  for (;;) {
    const record = await flow.history.get(jobId);
    if (record?.result === 'succeeded' && (record.statusErrors?.length ?? 0) > 0) {
      t.match(
        record.statusErrors![0],
        /answered 403.*GitLab posts statuses on branch main only for a user who may push or merge to it: give forges\.gitlab\.token the Maintainer role/,
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  t.ok(
    flow.api.requests.some((r) => r.status === 403 && /statuses/.test(r.path)),
    'GitLab refused the status',
  );
  t.same(flow.api.unexpected, []);
});

t.test("4. GitLab: a disabled hook is tested back to life by the workers' check, and the open merge requests are planned", async (t) => {
  const api = await standIn(t, 'gitlab');
  const { prefix, redis } = await redisForTest(t, 'gld');
  const cfg = config('gitlab', api.url, { prefix });
  const keys = createKeys(prefix);
  const queues = queuesForTest(t, redis, prefix);
  const intake = createIntake({ redis, keys, syncQueue: queues.sync, planQueue: queues.plan, prefix });
  const apis = createForgeApis(cfg.forges);
  const hook = api.seedHook('acme/platform/web', {
    url: `${PUBLIC}/hooks/gitlab`,
    events: ['merge_requests_events', 'note_events', 'push_events'],
    secret: SECRET,
  });
  const id = Number(hook.id);
  // Landfall was down: four failures in a row and GitLab disables the hook; what comes next is
  // neither sent nor logged, so there is nothing to resend.
  for (let i = 0; i < 4; i++) t.ok(api.sendHookEvent('acme/platform/web', id, { trigger: 'push_hooks', response_status: 'internal error' }));
  t.equal(api.sendHookEvent('acme/platform/web', id, { trigger: 'merge_request_hooks' }), undefined, 'dropped while disabled');
  t.equal(api.deliveries('acme/platform/web', id).length, 4);
  api.seedPullRequest('acme/platform/web', { number: 7, headSha: SHA, headBranch: 'feature', baseBranch: 'main' });
  api.seedPullRequest('acme/platform/web', { number: 8, headSha: SHA2, headBranch: 'hotfix', baseBranch: 'staging' });
  api.seedPullRequest('acme/platform/web', { number: 9, headSha: SHA2, headBranch: 'old', baseBranch: 'main', state: 'merged' });

  const logs: string[] = [];
  const { recovered } = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog(logs), intake });
  t.match(recovered, [{ forge: 'gitlab', repo: 'acme/platform/web', hookId: String(id), reenabled: true }]);
  t.same(
    api.hookTests.map((h) => [h.hookId, h.trigger]),
    [[id, 'push_events']],
  );
  t.match(api.hooks.get('acme/platform/web')?.[0]?.settings, { alert_status: 'executable' }, 'the test delivery re-enabled it');
  t.ok(await queues.plan.getJob(planJobId('web', 7, SHA)), 'the open merge request into main is planned for web');
  t.ok(await queues.plan.getJob(planJobId('web-staging', 8, SHA2)), 'and the one into staging for web-staging');
  t.equal(await queues.plan.count(), 2, 'merged ones are not');
  const [stored] = await readWebhookChecks(redis, keys);
  t.match(stored, { recovered: { reenabled: true, planned: 2 } });
  t.notOk(
    stored?.problems.some((p) => /disabled the hook/.test(p)),
    'no longer reported disabled',
  );
  t.equal(api.redeliveries.length, 4, 'the four failed deliveries logged before it was disabled are resent, after the hook is back');
  t.ok(logs.some((l) => l.includes('re-enabled a webhook the forge disabled')));

  // The next check finds it enabled: nothing is tested or planned again.
  const second = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog(), intake });
  t.same(second.recovered, []);
  t.equal(api.hookTests.length, 1);
  t.same(api.unexpected, []);
});

t.test('5. GitLab before 17.3 has no hook events API: the check says so and stays healthy', async (t) => {
  const api = await standIn(t, 'gitlab', { gitlab: { version: '17.2' } });
  const cfg = config('gitlab', api.url);
  const apis = createForgeApis(cfg.forges);
  api.seedHook('acme/platform/web', { url: `${PUBLIC}/hooks/gitlab`, events: ['merge_requests_events', 'note_events', 'push_events'], secret: SECRET });
  const check = await runWebhooksCheck(cfg, [], apis);
  t.equal(check.code, 0, check.text);
  t.match(
    check.text,
    /✓ gitlab acme\/platform\/web .*\n {4}note: delivery log not available: this GitLab keeps no delivery log the API shows \(the hook events API came in GitLab 17\.3\)/,
  );
  t.notMatch(check.text, /managing webhooks needs/);
  t.same(api.unexpected, []);
});

t.test('6. GitLab ignoring signing_token: the hook falls back to the secret token with a warning, or fails without one', async (t) => {
  t.test('GitLab 19.0 keeps it: no warning', async (t) => {
    const api = await standIn(t, 'gitlab');
    const sync = await runWebhooksSync(
      config('gitlab', api.url, { signing: true }),
      ['web'],
      {},
      createForgeApis(config('gitlab', api.url, { signing: true }).forges),
    );
    t.equal(sync.code, 0);
    t.notMatch(sync.text, /warning/);
    t.match(api.hooks.get('acme/platform/web'), [{ secret: SECRET, settings: { signing_token: SIGNING } }]);
  });
  t.test('GitLab 18.11 drops it: the secret token carries the deliveries, and sync says so', async (t) => {
    const api = await standIn(t, 'gitlab', { gitlab: { version: '18.11' } });
    const cfg = config('gitlab', api.url, { signing: true });
    const sync = await runWebhooksSync(cfg, ['web'], {}, createForgeApis(cfg.forges));
    t.equal(sync.code, 0, sync.text);
    t.match(
      sync.text,
      /created hook.*\n {4}warning: GitLab did not keep the signing token \(signed deliveries need GitLab 19\.0 or later with signing tokens enabled\); deliveries carry the secret token \(X-Gitlab-Token\) instead/,
    );
    t.match(api.hooks.get('acme/platform/web'), [{ secret: SECRET, settings: { signing_token: null } }]);
  });
  t.test('signing tokens switched off and no secret token: sync fails with what to set', async (t) => {
    const api = await standIn(t, 'gitlab', { gitlab: { signingTokens: false } });
    const cfg = config('gitlab', api.url, { signing: true, secret: false });
    const sync = await runWebhooksSync(cfg, ['web'], {}, createForgeApis(cfg.forges));
    t.equal(sync.code, 1);
    t.match(
      sync.text,
      /✗ gitlab acme\/platform\/web \(app web\): GitLab did not keep the signing token .*no secret token is configured, so every delivery would be refused \(401\).*set forges\.gitlab\.webhookSecret/,
    );
    const check = await runWebhooksCheck(cfg, ['web'], createForgeApis(cfg.forges));
    t.equal(check.code, 1, 'and check reports it (GitLab 19.0 says no signing token is set)');
    t.match(check.text, /GitLab did not keep the signing token/);
  });
});

t.test('7. Temporarily and permanently disabled GitLab hooks are reported apart', async (t) => {
  const api = await standIn(t, 'gitlab');
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const cfg = parseConfig(
    `server: { publicUrl: "${PUBLIC}" }
forges: { gitlab: { webhookSecret: ${SECRET}, token: ${TOKEN}, url: "${api.url}" } }
apps:
  - { name: a, forge: gitlab, repo: acme/a, branch: main, namespace: a }
  - { name: b, forge: gitlab, repo: acme/b, branch: main, namespace: b }
`,
    {},
  );
  const events = ['merge_requests_events', 'note_events', 'push_events'];
  api.seedHook('acme/a', { url: `${PUBLIC}/hooks/gitlab`, events, secret: SECRET, settings: { alert_status: 'temporarily_disabled', disabled_until: until } });
  api.seedHook('acme/b', { url: `${PUBLIC}/hooks/gitlab`, events, secret: SECRET, settings: { alert_status: 'disabled' } });
  const check = await runWebhooksCheck(cfg, [], createForgeApis(cfg.forges));
  t.equal(check.code, 1);
  t.match(
    check.text,
    new RegExp(
      `✗ gitlab acme/a \\(app a\\):\\n {4}the forge disabled the hook for a while after failed deliveries \\(4 in a row on GitLab\\) until ${until.replace(/\./g, '\\.')}; it resumes by itself, but events meanwhile are dropped`,
    ),
  );
  t.match(
    check.text,
    /✗ gitlab acme\/b \(app b\):\n {4}the forge disabled the hook for good after failed deliveries \(40 in a row on GitLab\); it stays off until a test delivery succeeds/,
  );
  const sync = await runWebhooksSync(cfg, [], {}, createForgeApis(cfg.forges));
  t.match(sync.text, /2 repositories: 0 created, 0 updated, 2 unchanged, 0 failed/, 'sync does not "update" a disabled hook forever');
});

t.test('8. Settings a person chose are kept on update: GitLab SSL verification, Gitea branch filter and authorization header', async (t) => {
  t.test('GitLab', async (t) => {
    const api = await standIn(t, 'gitlab');
    const cfg = config('gitlab', api.url);
    api.seedHook('acme/platform/web', { url: `${PUBLIC}/hooks/gitlab`, events: ['push_events'], secret: SECRET, settings: { enable_ssl_verification: false } });
    const sync = await runWebhooksSync(cfg, [], {}, createForgeApis(cfg.forges));
    t.match(sync.text, /updated hook \d+: events: \+merge_requests_events \+note_events/);
    const put = writes(api)[0];
    t.notOk(put?.body && typeof put.body === 'object' && 'enable_ssl_verification' in put.body, 'not sent');
    t.match(api.hooks.get('acme/platform/web'), [
      { events: ['push_events', 'merge_requests_events', 'note_events'], settings: { enable_ssl_verification: false } },
    ]);
    t.same(api.unexpected, []);
  });
  t.test('Gitea', async (t) => {
    const api = await standIn(t, 'gitea');
    const cfg = config('gitea', api.url);
    api.seedHook('acme/web', {
      url: `${PUBLIC}/hooks/gitea`,
      events: ['push'],
      secret: SECRET,
      settings: { branch_filter: '{main,staging}', authorization_header: 'Bearer proxy-token' },
    });
    const sync = await runWebhooksSync(cfg, [], {}, createForgeApis(cfg.forges));
    t.match(sync.text, /updated hook \d+: events: \+pull_request \+pull_request_comment \+pull_request_label \+pull_request_sync/);
    t.match(writes(api)[0]?.body, { branch_filter: '{main,staging}', authorization_header: 'Bearer proxy-token' });
    t.match(api.hooks.get('acme/web'), [
      {
        events: ['push', 'pull_request', 'pull_request_label', 'pull_request_comment', 'pull_request_sync'],
        settings: { branch_filter: '{main,staging}', authorization_header: 'Bearer proxy-token' },
      },
    ]);
    t.same(api.unexpected, []);
  });
});

t.test('9. GitHub deliveries are judged by their time, whatever order GitHub lists them in', async (t) => {
  const api = await standIn(t, 'github');
  const cfg = config('github', api.url);
  const hook = api.seedHook('acme/web', {
    url: `${PUBLIC}/hooks/github`,
    events: ['issue_comment', 'pull_request', 'push'],
    secret: SECRET,
    settings: { content_type: 'json' },
  });
  const id = Number(hook.id);
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
  // Listed by id: the old delivery (higher id, delayed) comes before the recent failure.
  api.seedDelivery('acme/web', id, { id: 5, guid: 'recent', status_code: 502, delivered_at: hoursAgo(1), event: 'push' });
  api.seedDelivery('acme/web', id, { id: 9, guid: 'old', status_code: 200, delivered_at: hoursAgo(30), event: 'push' });
  t.same(
    api.deliveries('acme/web', id).map((d) => d.id),
    [9, 5],
  );
  const check = await runWebhooksCheck(cfg, ['web'], createForgeApis(cfg.forges));
  t.equal(check.code, 1);
  t.match(check.text, /1 of 1 recent deliveries failed: 1× 502/);
  t.same(api.unexpected, []);
});

t.test('10. The GitLab stand-in says whether tokens are set (19.0+), drops events while disabled, and has no events API before 17.3', async (t) => {
  const hookUrl = (api: ForgeApi, path = '') => `${api.url}/api/v4/projects/${encodeURIComponent('acme/web')}/hooks${path}`;
  const call = async (url: string, method = 'GET', body?: unknown) => {
    const res = await fetch(url, {
      method,
      headers: { 'private-token': TOKEN, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & Record<string, unknown>[] };
  };
  const now = await standIn(t, 'gitlab');
  const created = await call(hookUrl(now), 'POST', { url: `${PUBLIC}/hooks/gitlab`, token: SECRET, signing_token: SIGNING });
  t.match(created.body, { token_present: true, signing_token_present: true });
  t.notOk('token' in created.body || 'signing_token' in created.body);
  const old = await standIn(t, 'gitlab', { gitlab: { version: '17.2' } });
  const plain = await call(hookUrl(old), 'POST', { url: `${PUBLIC}/hooks/gitlab`, token: SECRET, signing_token: SIGNING });
  t.notOk('token_present' in plain.body || 'signing_token_present' in plain.body, 'before 19.0 neither is said');
  t.same(await call(hookUrl(old, `/${String(plain.body['id'])}/events`)), { status: 404, body: { error: '404 Not Found' } });
  t.same(old.unexpected, [], 'the 404 is what that GitLab answers, not a stand-in complaint');
  const id = Number(created.body['id']);
  for (let i = 0; i < 3; i++) now.sendHookEvent('acme/web', id, { response_status: '500' });
  t.match((await call(hookUrl(now)))?.body[0], { alert_status: 'executable' }, 'three failures in a row: still sent');
  now.sendHookEvent('acme/web', id, { response_status: '500' });
  t.match((await call(hookUrl(now)))?.body[0], { alert_status: 'temporarily_disabled', disabled_until: String });
  t.equal(now.sendHookEvent('acme/web', id), undefined);
  const test = await call(hookUrl(now, `/${String(id)}/test/push_events`), 'POST');
  t.equal(test.status, 201);
  t.match((await call(hookUrl(now)))?.body[0], { alert_status: 'executable', disabled_until: null }, 'a successful test delivery re-enables it');
  t.ok(now.sendHookEvent('acme/web', id), 'and events are sent again');
  t.same(now.unexpected, []);
});
