// Sign-in through the forge (the Gitea stand-in as OAuth 2 provider), access that follows the
// repository, CSRF on the sync form, and sign-out that kills the session. The same flow runs in
// Chromium against the real Gitea in test/real/gitea/signin.test.ts.
import t, { type Test } from 'tap';
import { cookieBrowser } from '../support/cookie-browser.js';
import { redisForTest } from '../support/redis.js';
import { startOAuthGitea } from '../support/oauth-gitea.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const CLIENT_ID = 'landfall-client';
const CLIENT_SECRET = 'landfall-client-secret-0123';
const PUBLIC = 'http://landfall.test';

/** A browser enough for the flow (test/support/cookie-browser.ts). */
const browser = (web: string) => cookieBrowser(PUBLIC, web);

async function setup(t: Test) {
  const gitea = await startOAuthGitea(t, CLIENT_ID, CLIENT_SECRET);
  const { url, prefix, redis } = await redisForTest(t, 'signin');
  const yaml = `server:
  publicUrl: ${PUBLIC}
  auth:
    accessCacheTtl: 1h
    signIn: { provider: gitea, clientId: ${CLIENT_ID}, clientSecret: ${CLIENT_SECRET}, sessionSecret: a-session-secret-of-at-least-32-chars }
redis: { url: ${url}, prefix: ${prefix} }
forges: { gitea: { webhookSecret: signin-secret-0123, url: ${gitea.url} } }
apps:
  - { name: shop, forge: gitea, repo: acme/shop, branch: main, namespace: shop }
  - { name: bank, forge: gitea, repo: acme/bank, branch: main, namespace: bank }
`;
  const web = await startWeb(t, yaml, { LANDFALL_SERVER__HOST: '0.0.0.0' });
  await until('redis is ready', async () => (await fetch(`${web.url}/readyz`)).status === 200);
  gitea.grant('reader', 'acme/shop', 'read');
  gitea.grant('writer', 'acme/shop', 'write');
  return { gitea, web, redis, prefix };
}

t.test('sign-in through Gitea: readers read, writers sync, the rest get 404', async (t) => {
  const { gitea, web, redis, prefix } = await setup(t);

  const first = await fetch(`${web.url}/apps/shop`, { redirect: 'manual' });
  t.equal(first.status, 302, 'nobody signed in is sent to sign in');
  t.equal(first.headers.get('location'), '/auth/sign-in?next=%2Fapps%2Fshop', 'and back to the page afterwards');
  t.equal((await fetch(`${web.url}/api/apps`)).status, 401, 'the API without a token or session says 401');

  const reader = browser(web.url);
  gitea.signInAs('reader');
  const page = await reader.go(`${web.url}/apps/shop`);
  t.equal(page.status, 200);
  t.equal(new URL(page.url).pathname, '/apps/shop', 'back where they started');
  t.match(page.text, /Signed in as reader/);
  t.notMatch(page.text, /Sync now/, 'a reader gets no sync button');
  const sessionCookie = reader.jar.get(new URL(web.url).host)?.get('landfall_session');
  t.ok(sessionCookie, 'a session cookie');
  const sessionKey = `${prefix}:session:${decodeURIComponent(sessionCookie!).split('.')[0]}`;
  t.equal(await redis.exists(sessionKey), 1, 'the session lives in Redis');
  t.equal(await redis.keys(`${prefix}:session:*`).then((k) => k.length), 1, 'the one from before sign-in is gone');
  const home = await reader.go(`${web.url}/`);
  t.match(home.text, /shop/);
  t.notMatch(home.text, /bank/, 'the app list shows only readable apps');
  t.equal((await reader.go(`${web.url}/apps/bank`)).status, 404, 'an unreadable app does not exist');
  const refused = await reader.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: {} });
  t.equal(refused.status, 403, 'a reader cannot sync (CSRF token or not)');

  const writer = browser(web.url);
  gitea.signInAs('writer');
  const writerPage = await writer.go(`${web.url}/apps/shop`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(writerPage.text)?.[1];
  t.ok(csrf, 'a writer gets the sync form with a CSRF token');
  const noToken = await writer.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: {} });
  t.equal(noToken.status, 403, 'without the CSRF token the sync is refused');
  const wrongToken = await writer.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: { _csrf: 'forged' } });
  t.equal(wrongToken.status, 403, 'and with a forged one');
  const synced = await writer.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: { _csrf: csrf! } });
  t.equal(synced.status, 200);
  t.match(new URL(synced.url).pathname, /^\/syncs\//, 'the sync is queued and its page shown');

  const stranger = browser(web.url);
  gitea.signInAs('stranger');
  t.equal((await stranger.go(`${web.url}/apps/shop`)).status, 404, 'someone who cannot read the repository gets 404');
  t.notMatch((await stranger.go(`${web.url}/`)).text, /shop|bank/);

  // Sign out: the session is gone from Redis, and the old cookie opens nothing.
  const out = await reader.go(`${web.url}/auth/sign-out`);
  const outCsrf = /name="_csrf" value="([^"]+)"/.exec(out.text)?.[1];
  t.ok(outCsrf);
  const stolen = `landfall_session=${sessionCookie}`;
  await reader.go(`${web.url}/auth/sign-out`, { method: 'POST', form: { _csrf: outCsrf! } });
  t.equal(await redis.exists(sessionKey), 0, 'the session is deleted from Redis');
  const replay = await fetch(`${web.url}/apps/shop`, { redirect: 'manual', headers: { cookie: stolen } });
  t.equal(replay.status, 302, 'the old cookie is dead: sent to sign in again');
  t.match(replay.headers.get('location'), /^\/auth\/sign-in\?next=/);
});

t.test('the forge is asked once per person and repository within accessCacheTtl', async (t) => {
  const { gitea, web } = await setup(t);
  const reader = browser(web.url);
  gitea.signInAs('reader');
  await reader.go(`${web.url}/apps/shop`);
  const asked = gitea.calls.filter((c) => c.startsWith('repo reader acme/shop')).length;
  await reader.go(`${web.url}/apps/shop`);
  await reader.go(`${web.url}/api/apps/shop`);
  t.equal(gitea.calls.filter((c) => c.startsWith('repo reader acme/shop')).length, asked, 'answers come from the cache');
  t.equal((await reader.go(`${web.url}/api/apps`)).status, 200, 'the session reads the JSON API too');
});
