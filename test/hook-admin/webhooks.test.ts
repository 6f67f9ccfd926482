// `landfall webhooks sync` and `check` against every forge's hook API stand-in: create, leave a
// correct hook alone, fix a drifted one, dry-run, and a token without hook rights.
import t, { type Test } from 'tap';
import { runWebhooksCheck, runWebhooksSync, selectApps } from '../../src/cli/webhooks.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ForgeId } from '../../src/config/schema.js';
import { createForgeApis } from '../../src/forges/api-clients.js';
import { unrecovered, worthRedelivering } from '../../src/hook-admin/manage.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORGE_IDS, startForgeApi, type ForgeApi } from '../support/forge-api/index.js';
import { runCli } from '../support/process.js';

const SECRET = 'hook-secret-for-tests';
const TOKEN = 'forge-token-for-tests';
const PUBLIC = 'https://landfall.test';

/** Two repositories per forge, in each forge's naming; the first carries two apps. */
const REPOS: Record<ForgeId, [string, string]> = {
  github: ['acme/web', 'acme/api'],
  gitlab: ['acme/platform/web', 'acme/api'],
  bitbucket: ['acme/web', 'acme/api'],
  'bitbucket-server': ['ACME/web', 'ACME/api'],
  gitea: ['acme/web', 'acme/api'],
};

/** The events Landfall subscribes to, in each forge's vocabulary. */
const EVENTS: Record<ForgeId, string[]> = {
  github: ['issue_comment', 'pull_request', 'push'],
  gitlab: ['merge_requests_events', 'note_events', 'push_events'],
  bitbucket: ['pullrequest:comment_created', 'pullrequest:created', 'pullrequest:fulfilled', 'pullrequest:rejected', 'pullrequest:updated', 'repo:push'],
  'bitbucket-server': ['pr:comment:added', 'pr:declined', 'pr:deleted', 'pr:from_ref_updated', 'pr:merged', 'pr:opened', 'repo:refs_changed'],
  gitea: ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'],
};

/** An event Landfall does not want, per forge, for drifted hooks. */
const OTHER_EVENT: Record<ForgeId, string> = {
  github: 'issues',
  gitlab: 'issues_events',
  bitbucket: 'issue:created',
  'bitbucket-server': 'repo:forked',
  gitea: 'issues',
};

export function configFor(forge: ForgeId, url: string, extra = ''): Config {
  const location = forge === 'github' || forge === 'bitbucket' ? 'apiUrl' : 'url';
  const [web, api] = REPOS[forge];
  return parseConfig(
    `server: { publicUrl: "${PUBLIC}" }
forges:
  ${forge}: { webhookSecret: [${SECRET}, old-secret-rotating-out], token: ${TOKEN}, ${location}: "${url}"${extra} }
apps:
  - { name: web, forge: ${forge}, repo: ${web}, branch: main, namespace: web }
  - { name: web-staging, forge: ${forge}, repo: ${web}, branch: staging, namespace: web-staging }
  - { name: api, forge: ${forge}, repo: ${api}, branch: main, namespace: api }
`,
    {},
  );
}

async function standIn(t: Test, forge: ForgeId): Promise<ForgeApi> {
  const api = await startForgeApi(forge, { token: TOKEN });
  t.teardown(() => api.close());
  return api;
}

const writes = (api: ForgeApi) => api.requests.filter((r) => r.method !== 'GET').length;

for (const forge of FORGE_IDS) {
  t.test(`${forge}: sync creates, leaves a right hook alone, fixes a drifted one; dry-run changes nothing`, async (t) => {
    const api = await standIn(t, forge);
    const config = configFor(forge, api.url);
    const apis = createForgeApis(config.forges);
    const [web, other] = REPOS[forge];
    const url = `${PUBLIC}/hooks/${forge}`;
    // Someone else's hook on the first repository, and Landfall's at an old address on the second,
    // with one event missing and one too many (and switched off where the forge has the switch).
    const foreign = api.seedHook(web, { url: 'https://ci.example.com/hook', events: [EVENTS[forge][0] as string], secret: 'theirs-not-ours' });
    const drifted = api.seedHook(other, {
      url: `https://old-landfall.example.com/hooks/${forge}`,
      events: [EVENTS[forge].at(-1) as string, OTHER_EVENT[forge]],
      secret: 'stale-secret-value',
      ...(forge === 'gitlab' ? {} : { active: false }),
    });

    const dry = await runWebhooksSync(config, [], { dryRun: true }, apis);
    t.equal(dry.code, 0);
    t.match(dry.text, new RegExp(`~ ${forge} ${web} \\(apps web, web-staging\\): would create hook: url ${url}`));
    t.match(
      dry.text,
      new RegExp(`~ ${forge} ${other} \\(app api\\): would update hook ${drifted.id}: url: https://old-landfall\\.example\\.com/hooks/${forge} → ${url}`),
    );
    t.match(dry.text, /events: \+/);
    t.match(dry.text, new RegExp(`-${OTHER_EVENT[forge]}`));
    t.match(dry.text, /2 repositories: 1 would create, 1 would update, 0 unchanged, 0 failed \(dry run: nothing was changed\)/);
    t.equal(writes(api), 0, 'a dry run writes nothing');
    t.equal(api.hooks.get(web)?.length, 1);

    const first = await runWebhooksSync(config, [], {}, apis);
    t.equal(first.code, 0, first.text);
    t.match(first.text, /2 repositories: 1 created, 1 updated, 0 unchanged, 0 failed\n$/);
    const hooks = api.hooks.get(web) ?? [];
    t.equal(hooks.length, 2, 'one hook for the repository, however many apps use it; the foreign one stays');
    t.same(
      hooks.find((h) => h.id === foreign.id),
      foreign,
      'the foreign hook is untouched',
    );
    const ours = hooks.find((h) => h.url === url);
    t.ok(ours, 'created at server.publicUrl/hooks/<forge>');
    t.same([...(ours?.events ?? [])].sort(), EVENTS[forge], 'exactly the events Landfall handles');
    t.equal(ours?.secret, SECRET, 'the first (current) secret of the rotation list');
    t.equal(ours?.active, true);
    if (forge === 'github' || forge === 'gitea') t.equal(ours?.settings['content_type'], 'json');
    const fixed = api.hooks.get(other)?.[0];
    t.equal(fixed?.id, drifted.id, 'the drifted hook is updated in place, not replaced');
    t.equal(fixed?.url, url);
    t.same([...(fixed?.events ?? [])].sort(), EVENTS[forge]);
    if (forge === 'gitea') {
      // Gitea's hook edit ignores config.secret: the moved hook keeps its old one, and sync says so.
      t.equal(fixed?.secret, 'stale-secret-value');
      t.match(first.text, /warning: the hook keeps the secret it had: if that is not forges\.gitea\.webhookSecret, deliveries are refused \(401\)/);
    } else {
      t.equal(fixed?.secret, SECRET);
    }
    t.equal(fixed?.active, true);
    t.equal(fixed?.edits, 1);

    const before = writes(api);
    const again = await runWebhooksSync(config, [], {}, apis);
    t.equal(again.code, 0);
    t.equal(writes(api), before, 'a second run writes nothing');
    t.match(again.text, /is right; nothing to change/);
    t.match(again.text, /2 repositories: 0 created, 0 updated, 2 unchanged, 0 failed/);

    const check = await runWebhooksCheck(config, [], apis);
    t.equal(check.code, 0, check.text);
    t.match(check.text, /2 repositories: 2 ok, 0 with problems/);
    t.same(api.unexpected, []);
  });

  t.test(`${forge}: a token without hook rights is reported with the permission it lacks`, async (t) => {
    const api = await standIn(t, forge);
    const config = configFor(forge, api.url);
    const apis = createForgeApis(config.forges);
    api.denyHooks();
    const sync = await runWebhooksSync(config, ['api'], {}, apis);
    t.equal(sync.code, 1);
    const status = forge === 'bitbucket-server' ? 401 : 403;
    t.match(sync.text, new RegExp(`✗ ${forge} ${REPOS[forge][1]} \\(app api\\): .*${status}.*managing webhooks needs`));
    t.match(sync.text, /1 repository: 0 created, 0 updated, 0 unchanged, 1 failed/);
    const check = await runWebhooksCheck(config, ['api'], apis);
    t.equal(check.code, 1);
    t.match(check.text, /managing webhooks needs/);
    t.same(api.unexpected, []);
  });
}

t.test('check names what is wrong with a drifted hook and exits 1', async (t) => {
  const api = await standIn(t, 'gitea');
  const config = configFor('gitea', api.url);
  const apis = createForgeApis(config.forges);
  api.seedHook('acme/web', { url: `${PUBLIC}/hooks/gitea`, events: ['push'], active: false, secret: SECRET, settings: { content_type: 'form' } });
  const check = await runWebhooksCheck(config, [], apis);
  t.equal(check.code, 1);
  t.match(
    check.text,
    /✗ gitea acme\/web \(apps web, web-staging\):\n {4}active: false → true\n {4}events: \+pull_request \+pull_request_comment \+pull_request_label \+pull_request_sync\n {4}content type: form → json/,
  );
  t.match(check.text, /✗ gitea acme\/api \(app api\):\n {4}no webhook points at https:\/\/landfall\.test\/hooks\/gitea; run `landfall webhooks sync`/);
  t.match(check.text, /2 repositories: 0 ok, 2 with problems/);
});

t.test('a GitLab hook the forge disabled is reported with the way out, not "updated" forever', async (t) => {
  const api = await standIn(t, 'gitlab');
  const config = configFor('gitlab', api.url);
  const apis = createForgeApis(config.forges);
  api.seedHook('acme/api', { url: `${PUBLIC}/hooks/gitlab`, events: EVENTS.gitlab, secret: SECRET, settings: { alert_status: 'disabled' } });
  const sync = await runWebhooksSync(config, ['api'], {}, apis);
  t.equal(sync.code, 0);
  t.match(
    sync.text,
    /nothing to change\n {4}warning: the forge disabled the hook for good after failed deliveries \(40 in a row on GitLab\); it stays off until a test delivery succeeds/,
  );
  const check = await runWebhooksCheck(config, ['api'], apis);
  t.equal(check.code, 1);
  t.match(check.text, /the forge disabled the hook/);
});

t.test('--force sets the secret again on a hook that looks right (forges never show secrets back)', async (t) => {
  const api = await standIn(t, 'github');
  const config = configFor('github', api.url);
  const apis = createForgeApis(config.forges);
  const hook = api.seedHook('acme/api', {
    url: `${PUBLIC}/hooks/github`,
    events: EVENTS.github,
    secret: 'an-old-secret-value',
    settings: { content_type: 'json' },
  });
  const plain = await runWebhooksSync(config, ['api'], {}, apis);
  t.match(plain.text, /nothing to change/);
  t.equal(api.hooks.get('acme/api')?.[0]?.secret, 'an-old-secret-value');
  const forced = await runWebhooksSync(config, ['api'], { force: true }, apis);
  t.match(forced.text, new RegExp(`updated hook ${hook.id}: secret: set again \\(--force\\)`));
  t.equal(api.hooks.get('acme/api')?.[0]?.secret, SECRET);
});

t.test('apps are named or all; an unknown name is an error listing the configured ones', async (t) => {
  const config = configFor('github', 'http://127.0.0.1:9');
  t.same(
    selectApps(config, []).map((a) => a.name),
    ['web', 'web-staging', 'api'],
  );
  t.same(
    selectApps(config, ['api']).map((a) => a.name),
    ['api'],
  );
  t.throws(() => selectApps(config, ['nope', 'api']), /no app named "nope" \(configured: web, web-staging, api\)/);
});

t.test('a forge without a token cannot be set up, and says which key to set', async (t) => {
  const config = parseConfig(
    `forges: { gitea: { webhookSecret: ${SECRET}, url: "http://127.0.0.1:9" } }
apps: [{ name: web, forge: gitea, repo: acme/web, branch: main, namespace: web }]`,
    {},
  );
  const sync = await runWebhooksSync(config, [], {});
  t.equal(sync.code, 1);
  t.match(sync.text, /^warning: server\.publicUrl is http:\/\/localhost:8080; a forge on another machine cannot deliver there/);
  t.match(sync.text, /✗ gitea acme\/web \(app web\): no token for gitea \(set forges\.gitea\.token\)/);
  const check = await runWebhooksCheck(config, []);
  t.equal(check.code, 1);
  t.match(check.text, /cannot check: no token for gitea/);
});

t.test('failed deliveries: a later success of the same delivery recovers it; only answers that can change are redelivered', async (t) => {
  const d = (id: string, statusCode: number, guid: string | undefined, at: number) => ({ id, ...(guid ? { guid } : {}), statusCode, at, event: 'push' });
  const list = [d('1', 0, 'a', 1), d('2', 200, 'a', 2), d('3', 502, 'b', 3), d('4', 401, 'c', 4), d('5', 503, 'b', 5), d('6', 500, undefined, 6)];
  t.same(
    unrecovered(list).map((x) => x.id),
    ['6', '5', '4'],
    'newest attempt per delivery, newest first; "a" got through on its redelivery',
  );
  t.same(
    [0, 429, 500, 502, 503].map((c) => worthRedelivering(d('x', c, 'g', 0))),
    [true, true, true, true, true],
  );
  t.same(
    [400, 401, 404, 413, 415].map((c) => worthRedelivering(d('x', c, 'g', 0))),
    [false, false, false, false, false],
  );
});

t.test('the built CLI: webhooks sync, then check; exit codes say whether anything is wrong', async (t) => {
  const api = await standIn(t, 'github');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-hooks-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'landfall.yaml');
  await writeFile(
    file,
    `server: { publicUrl: "${PUBLIC}" }
forges: { github: { webhookSecret: "\${HOOK_SECRET}", token: "\${GH_TOKEN}", apiUrl: "${api.url}" } }
apps: [{ name: web, forge: github, repo: acme/web, branch: main, namespace: web }, { name: api, forge: github, repo: acme/api, branch: main, namespace: api }]
`,
  );
  const env = { HOOK_SECRET: SECRET, GH_TOKEN: TOKEN };
  const run = async (...args: string[]) => {
    const cli = runCli([...args, '--config', file], env);
    const code = await cli.exited;
    return { code, out: cli.output() };
  };
  const before = await run('webhooks', 'check');
  t.equal(before.code, 1);
  t.match(before.out, /2 repositories: 0 ok, 2 with problems/);
  const dry = await run('webhooks', 'sync', '--dry-run', 'web');
  t.equal(dry.code, 0);
  t.match(dry.out, /~ github acme\/web \(app web\): would create hook/);
  t.equal(api.hooks.get('acme/web')?.length ?? 0, 0);
  const sync = await run('webhooks', 'sync');
  t.equal(sync.code, 0, sync.out);
  t.match(sync.out, /2 repositories: 2 created, 0 updated, 0 unchanged, 0 failed/);
  const after = await run('webhooks', 'check');
  t.equal(after.code, 0, after.out);
  t.notMatch(sync.out + after.out, new RegExp(`${SECRET}|${TOKEN}`), 'secrets are never printed');
  const unknown = await run('webhooks', 'check', 'nope');
  t.equal(unknown.code, 1);
  t.match(unknown.out, /no app named "nope" \(configured: web, api\)/);
});
