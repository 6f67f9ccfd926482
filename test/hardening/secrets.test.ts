// A whole flow with failures; then everything Landfall printed, stored, served and sent is searched
// for every secret: Secret data, webhook secrets, forge and API tokens, git credentials.
import t from 'tap';
import { chmod, readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { FLOW_SECRET, FLOW_TOKEN, startFlow } from '../support/flow.js';
import { startReceiver } from '../support/receiver.js';
import { deployment } from '../support/sync.js';
import { until } from '../support/workers.js';
import { ageKeygen, realSopsSkip, sopsEncrypt } from '../support/real-sops.js';
import { everythingKept } from '../support/secret-scan.js';

const API_TOKEN = 'api-token-never-shown-42';
const NOTIFY_SECRET = 'notify-secret-never-shown-7';
const PASSWORD_1 = 'db-password-first-9f3a';
const PASSWORD_2 = 'db-password-second-77c1';
const TOKEN_DATA = 'raw-token-in-data-5b2e';
const SOPS_1 = 'sops-decrypted-first-4c1d';
const SOPS_2 = 'sops-decrypted-second-a07e';
const SOPS_3 = 'sops-decrypted-refused-93bb';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (password: string, extra = '') =>
  `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\ntype: Opaque\nstringData:\n  password: ${password}\ndata:\n  token: ${b64(TOKEN_DATA)}\n${extra}`;

t.test('no secret appears in logs, records, pages, statuses, comments, notifications or process arguments', async (t) => {
  const receiver = await startReceiver(t);
  const dir = await mkdtemp(join(tmpdir(), 'landfall-secrets-'));
  const argvLog = join(dir, 'git-argv.log');
  const wrapper = join(dir, 'git.sh');
  await writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> "${argvLog}"\nexec git "$@"\n`);
  await chmod(wrapper, 0o755);
  const flow = await startFlow(t, 'github', '', {
    apiTokens: [API_TOKEN],
    httpGit: true,
    workerYaml: `, git: "${wrapper}", attempts: 1`,
    topYaml: `notifications: { webhook: { url: "${receiver.url}/hook", secret: ${NOTIFY_SECRET} } }`,
  });

  // A deploy with a Secret, a plan that changes it, a failed rollout, a manual sync, a bad token.
  const c0 = await flow.repo.commit({ 'deploy/secret.yaml': secret(PASSWORD_1), 'deploy/web.yaml': deployment('web') });
  await flow.push(c0);
  await flow.api.waitFor((api) => api.statuses.latest(c0, 'landfall/web')?.state === 'success', 20_000);
  const f1 = await flow.repo.commit({ 'deploy/secret.yaml': secret(PASSWORD_2) }, 'rotate', 'feature');
  await flow.pullRequest(5, 'opened', f1, 'feature');
  await flow.api.waitFor((api) => (api.comments.get(5) ?? []).length === 1, 20_000);
  const c1 = await flow.repo.commit({ 'deploy/secret.yaml': secret(PASSWORD_2), 'deploy/web.yaml': deployment('web', 'nginx:fail') });
  await flow.push(c1);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'failure', 20_000);
  await receiver.waitFor((b) => b.event === 'sync-failed');
  const manual = await fetch(`${flow.web.url}/api/apps/web/sync`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` } });
  t.equal(manual.status, 202);
  const jobId = ((await manual.json()) as any).accepted.jobId;
  await until('the manual sync ends', async () => ['succeeded', 'failed'].includes((await flow.history.get(jobId))?.result ?? ''), 30_000);
  await fetch(`${flow.web.url}/api/apps/web/sync`, { method: 'POST', headers: { authorization: `Bearer wrong-${API_TOKEN}` } });

  // Everything Landfall printed, stored, served and sent.
  const redis = new Redis(flow.web.config.redis.url);
  t.teardown(() => redis.quit());
  const stored: string[] = [];
  for (const key of await redis.keys(`${flow.web.config.redis.prefix}:*`)) {
    const type = await redis.type(key);
    if (type === 'string') stored.push(key, (await redis.get(key)) ?? '');
    else if (type === 'hash') stored.push(key, JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') stored.push(key, JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'zset') stored.push(key, JSON.stringify(await redis.zrange(key, '0', '-1')));
    else if (type === 'stream') stored.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
    else if (type === 'set') stored.push(key, JSON.stringify(await redis.smembers(key)));
  }
  const records = await flow.history.list('web', 50);
  const plans = await flow.history.list('web', 50, 'plan');
  const pages: string[] = [];
  for (const path of [
    '/',
    '/apps/web',
    '/api/apps',
    '/api/apps/web',
    '/api/apps/web/syncs',
    '/api/apps/web/syncs?kind=plan',
    ...[...records, ...plans].flatMap((r) => [`/syncs/${r.id}`, `/api/syncs/${r.id}`]),
  ]) {
    pages.push(await (await fetch(`${flow.web.url}${path}`)).text());
  }
  const forgeBodies = flow.api.requests.map((r) => JSON.stringify(r.body));
  const notifications = receiver.received.map((r) => r.raw);
  const argv = await readFile(argvLog, 'utf8');
  const everything = {
    'worker and web logs': [...flow.logs, ...flow.web.logs].join(''),
    'redis (every key and value)': stored.join('\n'),
    'pages and API answers': pages.join('\n'),
    'statuses and comments sent to the forge': forgeBodies.join('\n'),
    notifications: notifications.join('\n'),
    'git process arguments': argv,
  };
  t.ok(argv.split('\n').length > 3, 'git was run (over HTTP, with the forge token)');
  t.ok(records.length >= 3 && plans.length >= 1 && stored.length > 20, 'there is plenty to search');
  const secrets = {
    'Secret stringData (deployed)': PASSWORD_1,
    'Secret stringData (planned)': PASSWORD_2,
    'Secret data': TOKEN_DATA,
    'Secret data, base64': b64(TOKEN_DATA),
    'Secret stringData, base64': b64(PASSWORD_1),
    'Secret stringData (planned), base64': b64(PASSWORD_2),
    'webhook secret': FLOW_SECRET,
    'forge token': FLOW_TOKEN,
    'git credential (Basic)': Buffer.from(`x-access-token:${FLOW_TOKEN}`).toString('base64'),
    'API token': API_TOKEN,
    'notification secret': NOTIFY_SECRET,
  };
  for (const [where, text] of Object.entries(everything)) {
    for (const [what, value] of Object.entries(secrets)) t.notOk(text.includes(value), `${what} is not in ${where}`);
  }
});

t.test('SOPS: a flow that decrypts leaves no plaintext and no identity anywhere but the cluster', { skip: realSopsSkip() }, async (t) => {
  const key = await ageKeygen();
  const stranger = await ageKeygen();
  const before = process.env.LANDFALL_AGE_KEY;
  process.env.LANDFALL_AGE_KEY = key.identity;
  t.teardown(() => (before === undefined ? delete process.env.LANDFALL_AGE_KEY : (process.env.LANDFALL_AGE_KEY = before)));
  const flow = await startFlow(t, 'github', '', { workerYaml: ', attempts: 1' });
  const encrypted = (password: string, recipient = key.recipient) =>
    sopsEncrypt(secret(password), { age: [recipient], name: 'secret.yaml', args: ['--encrypted-regex', '^(data|stringData)$'] });

  const c0 = await flow.repo.commit({ 'deploy/secret.yaml': await encrypted(SOPS_1), 'deploy/web.yaml': deployment('web') });
  await flow.push(c0);
  await flow.api.waitFor((api) => api.statuses.latest(c0, 'landfall/web')?.state === 'success', 30_000);
  const live = flow.kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'web', name: 'db' }) as any;
  t.equal(live?.stringData?.password ?? Buffer.from(live?.data?.password ?? '', 'base64').toString(), SOPS_1, 'the cluster has the plaintext');
  t.equal(live?.sops, undefined, 'and no sops metadata');

  // A pull request that changes the encrypted value: its plan names the field, never the value.
  const f1 = await flow.repo.commit({ 'deploy/secret.yaml': await encrypted(SOPS_2) }, 'rotate', 'feature');
  await flow.pullRequest(6, 'opened', f1, 'feature');
  await flow.api.waitFor((api) => (api.comments.get(6) ?? []).length === 1, 30_000);
  t.match(JSON.stringify(flow.api.comments.get(6)), /stringData\.password|password/, 'the plan names the changed field');

  // A commit for a key Landfall lacks fails, named, and leaves the cluster as it was.
  const c1 = await flow.repo.commit({ 'deploy/secret.yaml': await encrypted(SOPS_3, stranger.recipient) });
  await flow.push(c1);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'failure', 30_000);
  t.match(flow.api.statuses.latest(c1, 'landfall/web')?.description ?? '', /deploy\/secret\.yaml|identity|SOPS/);
  const after = flow.kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'web', name: 'db' }) as any;
  t.same(after, live, 'the cluster is untouched');

  const everything = await everythingKept(t, flow);
  const secrets = {
    'decrypted value (deployed)': SOPS_1,
    'decrypted value (planned)': SOPS_2,
    'decrypted value (refused)': SOPS_3,
    'deployed value, base64': b64(SOPS_1),
    'planned value, base64': b64(SOPS_2),
    'Secret data': TOKEN_DATA,
    'Secret data, base64': b64(TOKEN_DATA),
    'age identity': key.identity,
  };
  for (const [where, text] of Object.entries(everything)) {
    for (const [what, value] of Object.entries(secrets)) t.notOk(text.includes(value), `${what} is not in ${where}`);
  }
});
