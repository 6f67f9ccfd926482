// Who may read what without signing in: anonymous read, full and scoped API tokens, 404 for apps
// a token may not see, and check-config's warning about an open dashboard.
import t, { type Test } from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { anonymousRead, isLoopback } from '../../src/http/access.js';
import { describeConfig } from '../../src/main.js';
import { createMetrics } from '../../src/metrics/families.js';
import { redisForTest } from '../support/redis.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const FULL = 'full-token-0123456789';
const READ_A = 'read-token-for-alpha-01';
const WRITE_A = 'write-token-for-alpha-01';

async function setup(t: Test, env: NodeJS.ProcessEnv = {}) {
  const { url, prefix } = await redisForTest(t, 'access');
  const yaml = `server:
  apiTokens: [${FULL}]
  auth:
    tokens:
      - { token: ${READ_A}, apps: [alpha] }
      - { token: ${WRITE_A}, apps: [alpha], access: write }
redis: { url: ${url}, prefix: ${prefix} }
forges: { github: { webhookSecret: access-secret-0123 } }
apps:
  - { name: alpha, forge: github, repo: acme/alpha, branch: main, namespace: alpha }
  - { name: beta, forge: github, repo: acme/beta, branch: main, namespace: beta }
`;
  // Not loopback: the configuration says the server listens on every address.
  const web = await startWeb(t, yaml, { LANDFALL_SERVER__HOST: '0.0.0.0', ...env }, { metrics: createMetrics() });
  // Under load Redis may take a moment to connect; reads before that answer 500.
  await until('redis is ready', async () => (await fetch(`${web.url}/readyz`)).status === 200);
  const call = async (path: string, token?: string, init: RequestInit = {}) => {
    const res = await fetch(`${web.url}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
  return { web, call };
}

t.test('on a non-loopback address nothing is readable without a token', async (t) => {
  const { call } = await setup(t);
  for (const path of ['/api/apps', '/api/apps/alpha', '/api/apps/alpha/syncs', '/api/syncs/sync-alpha-0']) {
    const res = await call(path);
    t.equal(res.status, 401, `${path} needs a token`);
    t.equal(res.json?.error, 'unauthorized');
  }
  for (const path of ['/', '/apps/alpha', '/syncs/sync-alpha-0']) {
    const res = await call(path);
    t.equal(res.status, 401, `${path} needs a token`);
    t.match(res.headers.get('www-authenticate'), /^Basic /, 'a browser asks for one');
    t.notMatch(res.text, /alpha/, 'and learns nothing of the apps');
  }
  t.equal((await call('/assets/landfall.css')).status, 200, 'the stylesheet is open');
  t.equal((await call('/healthz')).status, 200, 'and so are the probes');
  t.equal((await call('/api/apps', 'wrong-token-0123456789')).status, 401, 'a wrong token is refused');
  t.equal((await call('/metrics')).status, 401, '/metrics beside the dashboard is as private as it');
  t.equal((await call('/metrics', READ_A)).status, 200, 'any API token scrapes it');
});

t.test('a full token reads everything; a scoped one its apps only, and others do not exist', async (t) => {
  const { call } = await setup(t);
  const all = await call('/api/apps', FULL);
  t.same(
    all.json.apps.map((a: { name: string }) => a.name),
    ['alpha', 'beta'],
  );
  const basic = await call('/', undefined, { headers: { authorization: `Basic ${Buffer.from(`any:${FULL}`).toString('base64')}` } });
  t.equal(basic.status, 200, 'the dashboard takes the token as a Basic password');
  t.match(basic.text, /beta/);

  const scoped = await call('/api/apps', READ_A);
  t.same(
    scoped.json.apps.map((a: { name: string }) => a.name),
    ['alpha'],
    'a scoped token lists its apps only',
  );
  t.equal((await call('/api/apps/alpha', READ_A)).status, 200);
  const hidden = await call('/api/apps/beta', READ_A);
  t.equal(hidden.status, 404, 'an app outside the scope does not exist');
  t.same(hidden.json, { error: 'not-found', message: 'no app named "beta"' }, 'worded as for an app that is not configured');
  t.equal((await call('/apps/beta', READ_A)).status, 404, 'nor on the dashboard');

  const post = (app: string, token: string) => call(`/api/apps/${app}/sync`, token, { method: 'POST' });
  t.equal((await post('alpha', READ_A)).status, 401, 'a read token cannot sync');
  t.equal((await post('alpha', WRITE_A)).status, 202, 'a write token syncs its app');
  t.equal((await post('beta', WRITE_A)).status, 401, 'and no other');
  t.equal((await post('beta', FULL)).status, 202, 'a full token syncs any app');
});

t.test('server.auth.anonymous: read opens reading, never writing', async (t) => {
  const { call } = await setup(t, { LANDFALL_SERVER__AUTH__ANONYMOUS: 'read' });
  t.equal((await call('/api/apps')).status, 200);
  t.equal((await call('/')).status, 200);
  t.equal((await call('/metrics')).status, 200);
  t.equal((await call('/api/apps/alpha/sync', undefined, { method: 'POST' })).status, 401, 'a sync still needs a token');
});

t.test('loopback is open by default; check-config warns about an open dashboard elsewhere', async (t) => {
  t.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost'));
  t.notOk(isLoopback('0.0.0.0') || isLoopback('10.0.0.1') || isLoopback('::'));
  const config = (yaml: string) => parseConfig(yaml, {}, 'test.yaml');
  t.ok(anonymousRead(config('server: { host: 127.0.0.1 }')), 'loopback: open');
  t.notOk(anonymousRead(config('server: { host: 0.0.0.0 }')), 'every address: closed');
  t.notOk(anonymousRead(config('server: { host: 127.0.0.1, auth: { anonymous: none } }')), 'unless closed explicitly');
  t.notMatch(describeConfig(config('server: { host: 0.0.0.0 }')), /warning/);
  t.match(
    describeConfig(config('server: { host: 0.0.0.0, auth: { anonymous: read } }')),
    /warning: server\.auth\.anonymous is read and server\.host is 0\.0\.0\.0/,
  );
  t.notMatch(describeConfig(config('server: { host: 127.0.0.1, auth: { anonymous: read } }')), /warning/);
});
