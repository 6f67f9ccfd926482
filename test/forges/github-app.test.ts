// Landfall as a GitHub App: a JWT signed with the App's key, the installation looked up per
// repository, installation tokens exchanged once and cached, and check runs that carry the plan.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.js';
import { createForgeApis } from '../../src/forges/api-clients.js';
import { createGithubApi } from '../../src/forges/github/api.js';
import { checkRunState, CHECK_RUN_SUMMARY_LIMIT } from '../../src/forges/github/check-runs.js';
import { fitMarkdown } from '../../src/clip.js';
import { createStatusReporter } from '../../src/status/reporter.js';
import { createKeys } from '../../src/store/keys.js';
import { FLOW_REPOS, startFlow } from '../support/flow.js';
import { startForgeApi } from '../support/forge-api/index.js';
import { configMap } from '../support/sync.js';

const APP_ID = 31337;
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const app = { appId: APP_ID, publicKey: keys.publicKey, privateKey: keys.privateKey };

function jwtPayload(authorization: string | undefined): Record<string, unknown> {
  const [, payload] = (authorization ?? '').replace(/^bearer /i, '').split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
}

t.test('installation per repository, one token exchange per installation, renewed when the cache runs out or GitHub refuses it', async (t) => {
  // The stand-in's clock follows Date.now, so the test can move time for both sides.
  const forge = await startForgeApi('github', {
    token: 'not-used-by-the-app',
    now: () => new Date(Date.now()),
    app: { appId: APP_ID, publicKey: keys.publicKey, installations: { 'acme/web': 11, 'acme/api': 12 } },
  });
  t.teardown(() => forge.close());
  const api = createGithubApi({ apiUrl: forge.url, app: { appId: APP_ID, privateKey: keys.privateKey } });

  for (let i = 0; i < 3; i++) await api.listHooks('acme/web');
  await api.postStatus({
    repo: 'acme/web',
    sha: 'a'.repeat(40),
    context: 'landfall/web',
    state: 'success',
    description: 'ok',
    targetUrl: 'https://landfall.test/x',
  });
  await api.listHooks('acme/api');
  t.equal(forge.tokenExchanges, 2, 'one installation token per installation, reused for every call');
  t.same(
    forge.requests.filter((r) => r.path.endsWith('/installation')).map((r) => r.path),
    ['/api/v3/repos/acme/web/installation', '/api/v3/repos/acme/api/installation'],
    'each repository looked up once',
  );
  const exchange = forge.requests.find((r) => r.path === '/api/v3/app/installations/11/access_tokens');
  t.ok(exchange, 'the token is exchanged for installation 11');
  const claims = jwtPayload(exchange?.headers.authorization);
  t.equal(Number(claims.iss), APP_ID, 'the JWT names the App');
  t.ok(Number(claims.exp) - Number(claims.iat) <= 600, 'and lives at most 10 minutes');
  const calls = forge.requests.filter((r) => r.path.startsWith('/api/v3/repos/acme/web/') && !r.path.endsWith('/installation'));
  t.ok(
    calls.every((r) => /^token ghs_/.test(r.headers.authorization ?? '')),
    'repository calls use the installation token',
  );

  // An hour later the cached token is past its life: a new one is exchanged before it is refused.
  const realNow = Date.now;
  Date.now = () => realNow() + 59.5 * 60_000;
  t.teardown(() => {
    Date.now = realNow;
  });
  forge.expireInstallationTokens();
  await api.listHooks('acme/web');
  t.equal(forge.tokenExchanges, 3, 'renewed shortly before expiry');
  t.same(forge.unexpected, [], 'the expired token was never used');

  // A token GitHub stops accepting early (the App was reinstalled), half a minute after it was
  // issued: the call is tried again once with a freshly exchanged token and succeeds.
  Date.now = () => realNow() + 60 * 60_000;
  forge.expireInstallationTokens();
  await api.listHooks('acme/web');
  t.equal(forge.tokenExchanges, 4);
  // @octokit/auth-app itself retries a 401 for a token younger than 5 s (GitHub's replication
  // delay) before Landfall drops the installation's client.
  t.ok(
    forge.unexpected.length >= 1 && forge.unexpected.every((u) => u.status === 401 && /\/hooks$/.test(u.path)),
    'only the refused calls with the revoked token',
  );
});

t.test('a repository the App is not installed on is named, with what to do', async (t) => {
  const forge = await startForgeApi('github', {
    token: 'not-used-by-the-app',
    app: { appId: APP_ID, publicKey: keys.publicKey, installations: { 'acme/web': 11 } },
  });
  t.teardown(() => forge.close());
  const api = createGithubApi({ apiUrl: forge.url, app: { appId: APP_ID, privateKey: keys.privateKey } });
  await t.rejects(api.listHooks('acme/elsewhere'), /the GitHub App 31337 is not installed on acme\/elsewhere: install it on that repository/);
});

t.test('the private key comes from a file or from the environment (with \\n escapes)', async (t) => {
  const forge = await startForgeApi('github', {
    token: 'not-used-by-the-app',
    app: { appId: APP_ID, publicKey: keys.publicKey, installations: { 'acme/web': 11 } },
  });
  t.teardown(() => forge.close());
  const dir = await mkdtemp(join(tmpdir(), 'landfall-app-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'app.pem');
  await writeFile(file, keys.privateKey, { mode: 0o600 });
  const base = (app: string) => `forges: { github: { webhookSecret: a-long-secret, apiUrl: "${forge.url}", app: ${app} } }\napps: []\n`;
  const fromFile = parseConfig(base(`{ appId: ${APP_ID}, privateKeyFile: "${file}" }`), {});
  const fromEnv = parseConfig(base(`{ appId: "\${APP_ID}", privateKey: "\${APP_KEY}" }`), {
    APP_ID: String(APP_ID),
    APP_KEY: keys.privateKey.replace(/\n/g, '\\n'),
  });
  for (const config of [fromFile, fromEnv]) {
    const api = createForgeApis(config.forges).get('github');
    t.equal(api?.checkRuns, true, 'an App posts check runs');
    t.same(await api?.listHooks('acme/web'), []);
  }
  t.throws(() => parseConfig(base(`{ appId: ${APP_ID} }`), {}), /forges\.github\.app: give exactly one of privateKey and privateKeyFile/);
  t.throws(() => parseConfig(base(`{ appId: ${APP_ID}, privateKey: not-a-key }`), {}), /must be a PEM private key/);
  t.same(forge.unexpected, []);
});

t.test('check runs: deploy and plan, updated in place, the plan in Markdown without secret values', async (t) => {
  const flow = await startFlow(t, 'github', '', { githubApp: app });
  const run = (sha: string, name = 'landfall/web') => flow.api.checkRuns.latest(sha, name);
  const secret = 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { password: hunter2-very-secret }\n';
  const c0 = await flow.repo.commit({ 'deploy/cm.yaml': configMap('settings', { color: 'blue' }), 'deploy/secret.yaml': secret });
  const jobId = await flow.push(c0);
  await flow.api.waitFor(() => run(c0)?.conclusion === 'success', 20_000);
  const deploy = run(c0)!;
  t.equal(flow.api.checkRuns.get(`${FLOW_REPOS.github}|${c0}|landfall/web`)?.length, 1, 'one check run for the deploy, updated in place');
  t.ok(deploy.history.length >= 2, `created, then updated: ${deploy.history.map((h) => h.status).join(' → ')}`);
  t.not(deploy.history[0]?.status, 'completed', 'it starts queued or in progress');
  t.equal(deploy.detailsUrl, `https://landfall.test/syncs/${jobId}`);
  t.match(deploy.output.title, /^Deployed [0-9a-f]{7} to default\/web: 2 created, healthy in/);
  t.match(deploy.output.summary, /\*\*Created\*\* \(2\)\n- ConfigMap `web\/settings`\n- Secret `web\/creds`/);
  t.notMatch(deploy.output.summary, /hunter2/);
  t.same(flow.api.statuses.all(), [], 'no commit statuses next to the check runs');

  const f1 = await flow.repo.commit(
    { 'deploy/cm.yaml': configMap('settings', { color: 'green' }), 'deploy/secret.yaml': secret.replace('hunter2-very-secret', 'hunter3-even-more-secret') },
    'change',
    'feature',
  );
  await flow.pullRequest(7, 'opened', f1, 'feature');
  await flow.api.waitFor(() => run(f1, 'landfall/web/plan')?.status === 'completed', 20_000);
  const plan = run(f1, 'landfall/web/plan')!;
  t.equal(plan.conclusion, 'success');
  t.equal(plan.output.title, 'Plan: 2 to change');
  t.match(
    plan.output.summary,
    /^2 to change\.\n\n\*\*To change\*\* \(2\)\n- ConfigMap `web\/settings`: `data\.color`\n- Secret `web\/creds`: `data\.password`/,
  );
  t.notMatch(plan.output.summary, /hunter/);
  await flow.api.waitFor((api) => (api.comments.get(7) ?? []).length === 1, 10_000);
  t.equal(flow.api.tokenExchanges, 1, 'one installation token for hooks check, check runs and the comment');
  t.same(flow.api.unexpected, []);
});

t.test("a check run summary over GitHub's limit is cut with a note pointing at the full page", async (t) => {
  const flow = await startFlow(t, 'github', '', { githubApp: app });
  const redis = new Redis(flow.web.config.redis.url);
  const queue = new Queue('status', { connection: redis, prefix: flow.web.config.redis.prefix });
  t.teardown(async () => {
    await queue.close();
    await redis.quit();
  });
  const reporter = createStatusReporter({ redis, keys: createKeys(flow.web.config.redis.prefix), queue });
  const sha = 'd'.repeat(40);
  const lines = Array.from({ length: 3_000 }, (_, i) => `- ConfigMap \`web/settings-${i}\`: \`data.key-${i}\``).join('\n');
  await reporter.report({
    forge: 'github',
    repo: FLOW_REPOS.github,
    sha,
    context: 'landfall/web/plan',
    state: 'succeeded',
    description: 'Plan: 3000 to change',
    targetUrl: 'https://landfall.test/syncs/big',
    recordId: 'big',
    at: 1,
    summary: lines,
  });
  await flow.api.waitFor(() => flow.api.checkRuns.latest(sha, 'landfall/web/plan')?.status === 'completed', 10_000);
  const summary = flow.api.checkRuns.latest(sha, 'landfall/web/plan')!.output.summary!;
  t.ok(summary.length <= CHECK_RUN_SUMMARY_LIMIT, `${summary.length} characters`);
  t.ok(summary.length > CHECK_RUN_SUMMARY_LIMIT - 1_000, 'uses the room it has');
  t.match(
    summary,
    /\n- ConfigMap `web\/settings-\d+`: `data\.key-\d+`\n\n… truncated: [\d,]+ of [\d,]+ characters shown; the full plan is on the \[plan page\]\(https:\/\/landfall\.test\/syncs\/big\)$/,
  );
  t.same(flow.api.unexpected, []);
});

t.test('an App without the Checks permission still reports, as commit statuses', async (t) => {
  const permissions = { statuses: 'write', contents: 'read', metadata: 'read', pull_requests: 'write', issues: 'write', repository_hooks: 'write' } as const;
  const flow = await startFlow(t, 'github', '', { githubApp: { ...app, permissions } });
  const c0 = await flow.repo.commit({ 'deploy/cm.yaml': configMap('settings') });
  await flow.push(c0);
  await flow.api.waitFor(() => flow.api.statuses.latest(c0, 'landfall/web')?.state === 'success', 20_000);
  t.equal(flow.api.checkRuns.all().length, 0);
  t.ok(flow.logs.some((l) => l.includes('may not write check runs (grant it \\"Checks: Read and write\\")')));
});

t.test('states map to check run status and conclusion; Markdown is cut at a line', async (t) => {
  t.same(checkRunState('queued'), { status: 'queued' });
  t.same(checkRunState('running'), { status: 'in_progress' });
  t.same(checkRunState('succeeded'), { status: 'completed', conclusion: 'success' });
  t.same(checkRunState('failed'), { status: 'completed', conclusion: 'failure' });
  t.same(checkRunState('superseded'), { status: 'completed', conclusion: 'cancelled' });
  t.equal(fitMarkdown('short', 100, 'u'), 'short');
  const cut = fitMarkdown(`${'line\n'.repeat(100)}`, 200, 'https://x/y', 'sync');
  t.ok(cut.length <= 200);
  t.match(cut, /^(line\n)+\n… truncated: \d+ of 500 characters shown; the full sync is on the \[sync page\]\(https:\/\/x\/y\)$/);
});
