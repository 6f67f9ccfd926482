// Sign-in with OpenID Connect against a stand-in provider (test/support/oidc-provider.ts): groups
// mapped to apps decide what a person reads and syncs, 404 for the rest, the dashboard of someone
// in no mapped group, groups from userinfo when the ID token has none, ID tokens that are wrong
// in any one way refused, a callback used twice refused, sign-out. The same flow runs in
// Chromium against the real Gitea in test/real/gitea/oidc.test.ts.
import t, { type Test } from 'tap';
import { cookieBrowser } from '../support/cookie-browser.js';
import { startOidcProvider, type Misbehaviour } from '../support/oidc-provider.js';
import { redisForTest } from '../support/redis.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const CLIENT_ID = 'landfall-oidc-client';
const CLIENT_SECRET = 'landfall-oidc-client-secret-0123';
const PUBLIC = 'http://landfall.test';

async function setup(t: Test, options: { issuer?: (provider: string) => string } = {}) {
  const provider = await startOidcProvider(t, { id: CLIENT_ID, secret: CLIENT_SECRET, redirectUri: `${PUBLIC}/auth/callback` });
  const issuer = options.issuer?.(provider.issuer) ?? provider.issuer;
  const { url, prefix, redis } = await redisForTest(t, 'signin-oidc');
  const yaml = `server:
  publicUrl: ${PUBLIC}
  auth:
    signIn: { provider: oidc, issuer: "${issuer}", clientId: ${CLIENT_ID}, clientSecret: ${CLIENT_SECRET}, sessionSecret: a-session-secret-of-at-least-32-chars }
    groups:
      - { group: devs, apps: [shop] }
      - { group: ops, apps: [shop], access: write }
      - { group: auditors }
redis: { url: ${url}, prefix: ${prefix} }
forges: { gitea: { webhookSecret: signin-oidc-secret-0123, url: http://127.0.0.1:9 } }
apps:
  - { name: shop, forge: gitea, repo: acme/shop, branch: main, namespace: shop }
  - { name: bank, forge: gitea, repo: acme/bank, branch: main, namespace: bank }
`;
  const web = await startWeb(t, yaml, { LANDFALL_SERVER__HOST: '0.0.0.0' });
  await until('redis is ready', async () => (await fetch(`${web.url}/readyz`)).status === 200);
  const sessions = async () => (await redis.keys(`${prefix}:session:*`)).length;
  const sessionOf = async (browser: ReturnType<typeof cookieBrowser>) => {
    const cookie = browser.jar.get(new URL(web.url).host)?.get('landfall_session');
    const key = cookie ? `${prefix}:session:${decodeURIComponent(cookie).split('.')[0]}` : '';
    return { cookie, key, stored: cookie ? (JSON.parse((await redis.get(key)) ?? 'null') as { user?: Record<string, unknown> } | null) : null };
  };
  return { provider, web, redis, sessions, sessionOf, browser: () => cookieBrowser(PUBLIC, web.url) };
}

t.test('OpenID Connect: groups mapped to apps decide who reads and who syncs; the rest get 404', async (t) => {
  const { provider, web, redis, sessionOf, browser } = await setup(t);

  const first = await fetch(`${web.url}/apps/shop`, { redirect: 'manual' });
  t.equal(first.status, 302, 'nobody signed in is sent to sign in');
  t.equal(first.headers.get('location'), '/auth/sign-in?next=%2Fapps%2Fshop');
  const start = await fetch(`${web.url}/auth/sign-in?next=%2Fapps%2Fshop`, { redirect: 'manual' });
  const authorize = new URL(start.headers.get('location') ?? '');
  t.equal(`${authorize.origin}${authorize.pathname}`, `${provider.issuer}/auth`, "sign-in goes to the provider's discovered authorization endpoint");
  t.match(Object.fromEntries(authorize.searchParams), {
    client_id: CLIENT_ID,
    redirect_uri: `${PUBLIC}/auth/callback`,
    response_type: 'code',
    scope: 'openid profile email groups',
    code_challenge_method: 'S256',
    state: /.{20,}/,
    nonce: /.{20,}/,
    code_challenge: /^[\w-]{43}$/,
  });

  const dev = browser();
  provider.signInAs('dana', ['acme', 'devs']);
  const page = await dev.go(`${web.url}/apps/shop`);
  t.equal(page.status, 200);
  t.equal(new URL(page.url).pathname, '/apps/shop', 'back where they started');
  t.match(page.text, /Signed in as dana, whose groups may read shop but not sync it/);
  t.notMatch(page.text, /Sync now/, 'read access gets no sync button');
  t.equal((await dev.go(`${web.url}/apps/bank`)).status, 404, 'an app no group of theirs is mapped to does not exist');
  t.equal((await dev.go(`${web.url}/api/apps/bank`)).status, 404);
  const home = await dev.go(`${web.url}/`);
  t.match(home.text, /Signed in as dana\./);
  t.match(home.text, /shop/);
  t.notMatch(home.text, /bank/, 'the dashboard lists the mapped apps only');
  const { key, stored } = await sessionOf(dev);
  t.match(stored?.user, { login: 'dana', sub: /^sub-/, groups: ['acme', 'devs'] }, 'the session keeps who and their groups');
  t.notOk(stored?.user && ('token' in stored.user || JSON.stringify(stored).includes('eyJ')), 'and no token');

  const op = browser();
  provider.signInAs('omar', ['ops']);
  const opPage = await op.go(`${web.url}/apps/shop`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(opPage.text)?.[1];
  t.ok(csrf, 'a group with access: write gets the sync form');
  t.equal((await op.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: { _csrf: 'forged' } })).status, 403, 'not with a forged CSRF token');
  const synced = await op.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: { _csrf: csrf! } });
  t.equal(synced.status, 200);
  t.match(new URL(synced.url).pathname, /^\/syncs\//, 'Sync now queued the sync');
  t.equal((await dev.go(synced.url)).status, 200, 'a reader of the app sees its sync page');

  const devCsrf = /name="_csrf" value="([^"]+)"/.exec((await dev.go(`${web.url}/auth/sign-out`)).text)?.[1];
  const refused = await dev.go(`${web.url}/apps/shop/sync`, { method: 'POST', form: { _csrf: devCsrf! } });
  t.equal(refused.status, 403, 'read access cannot sync, even with a good CSRF token');
  t.match(refused.text, /needs a group with access: write to it in server.auth.groups/);

  const auditor = browser();
  provider.signInAs('ada', ['auditors']);
  t.equal((await auditor.go(`${web.url}/apps/bank`)).status, 200, 'a mapping without apps covers every app');
  t.notMatch((await auditor.go(`${web.url}/apps/bank`)).text, /Sync now/);

  const stranger = browser();
  provider.signInAs('sam', ['acme', 'marketing']);
  const strangerHome = await stranger.go(`${web.url}/`);
  t.equal(strangerHome.status, 200);
  t.match(strangerHome.text, /Signed in as <strong>sam<\/strong>, but you have access to no app: none of your groups \(acme, marketing\) is given access/);
  t.notMatch(strangerHome.text, /shop|bank/);
  for (const path of ['/apps/shop', '/api/apps/shop', new URL(synced.url).pathname]) {
    t.equal((await stranger.go(`${web.url}${path}`)).status, 404, `${path}: 404 for someone in no mapped group`);
  }
  const noGroups = browser();
  provider.signInAs('nora', undefined);
  t.match((await noGroups.go(`${web.url}/`)).text, /the sign-in provider listed no groups for you/, 'no groups claim at all: said so');

  // Sign out: the session is gone from Redis, and the old cookie opens nothing.
  const { cookie } = await sessionOf(dev);
  await dev.go(`${web.url}/auth/sign-out`, { method: 'POST', form: { _csrf: devCsrf! } });
  t.equal(await redis.exists(key), 0, 'signing out deletes the session');
  const replay = await fetch(`${web.url}/api/apps/shop`, { headers: { cookie: `landfall_session=${cookie}` } });
  t.equal(replay.status, 401, 'the old cookie is dead');
});

t.test('groups come from userinfo when the ID token has none', async (t) => {
  const { provider, browser } = await setup(t);
  const person = browser();
  provider.signInAs('uma', ['ops'], 'userinfo');
  const shop = await person.go(`${PUBLIC}/apps/shop`);
  t.equal(shop.status, 200);
  t.match(shop.text, /Sync now/, "userinfo's groups grant write");
  t.same(
    provider.calls.filter((c) => c === 'userinfo'),
    ['userinfo'],
    'userinfo is asked once, at sign-in',
  );
  provider.signInAs('ian', ['ops']);
  await browser().go(`${PUBLIC}/apps/shop`);
  t.equal(provider.calls.filter((c) => c === 'userinfo').length, 1, 'not when the ID token lists groups');
});

t.test('an ID token wrong in any one way, or a refusal at the provider, signs nobody in', async (t) => {
  const { provider, web, sessionOf, browser } = await setup(t);
  const cases: [Misbehaviour, RegExp][] = [
    ['signature', /JWT signature verification failed/],
    ['audience', /unexpected JWT &quot;aud&quot; \(audience\) claim value/],
    ['issuer', /unexpected JWT &quot;iss&quot; \(issuer\) claim value/],
    ['expired', /unexpected JWT &quot;exp&quot; \(expiration time\) claim value, expiration is past/],
    ['nonce', /unexpected ID Token &quot;nonce&quot; claim value/],
    ['no-id-token', /&quot;id_token&quot; property/],
  ];
  for (const [how, why] of cases) {
    const person = browser();
    provider.signInAs('mallory', ['ops']);
    provider.misbehave(how);
    const page = await person.go(`${PUBLIC}/apps/shop`);
    t.equal(page.status, 401, `${how}: refused`);
    t.match(page.text, /Sign-in failed/);
    t.match(page.text, why, `${how}: the page says what was wrong`);
    t.notOk((await sessionOf(person)).stored?.user, `${how}: no one is signed in`);
    t.equal((await person.go(`${PUBLIC}/api/apps/shop`)).status, 401, `${how}: the API still says 401`);
  }
  const refused = browser();
  provider.refuseNext('access_denied');
  const page = await refused.go(`${PUBLIC}/apps/shop`);
  t.equal(page.status, 401, 'a refusal at the provider');
  t.match(page.text, /Signing in did not work: the provider answered access_denied/);
  t.match(page.text, /Sign in again/);
  t.ok(provider.calls.includes('jwks'), "signatures were checked against the provider's JWKS");
  t.equal(provider.calls.filter((c) => c === 'discovery').length, 1, 'the metadata is read once');
  t.ok(
    web.logs.some((l) => l.includes('OpenID Connect sign-in refused')),
    'refusals are logged',
  );
});

t.test('a callback is used once; one never started here is refused', async (t) => {
  const { provider, web, browser } = await setup(t);
  const stray = await fetch(`${web.url}/auth/callback?code=abc&state=def`);
  t.equal(stray.status, 400, 'a callback without a sign-in under way');
  t.match(await stray.text(), /not started here, or was already used/);

  // Stop at the callback: follow the redirects by hand.
  const person = browser();
  provider.signInAs('vic', ['ops']);
  const host = new URL(web.url).host;
  const toProvider = await fetch(`${web.url}/auth/sign-in`, { redirect: 'manual' });
  const cookie = toProvider.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  person.jar.set(host, new Map(cookie.split('; ').map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)])));
  const back = await fetch(toProvider.headers.get('location')!, { redirect: 'manual' });
  const callback = back.headers.get('location')!.replace(PUBLIC, web.url);
  const wrongState = callback.replace(/state=[^&]+/, 'state=forged');
  t.equal((await person.go(wrongState)).status, 401, 'a state that is not the one sent is refused');
  t.equal((await person.go(callback)).status, 400, 'and the sign-in it belonged to is used up');
});

t.test('a provider whose metadata cannot be read: sign-in says it is unavailable, and nobody gets in', async (t) => {
  const { provider, web, browser } = await setup(t, { issuer: (real) => real.replace('/realms/acme', '/realms/nowhere') });
  provider.signInAs('vic', ['ops']);
  const page = await browser().go(`${PUBLIC}/apps/shop`);
  t.equal(page.status, 503);
  t.match(page.text, /The sign-in provider could not be reached; try again in a moment/);
  t.equal((await browser().go(`${PUBLIC}/auth/sign-in`)).status, 503, 'and on the next try');
  t.same(
    provider.calls,
    ['404 /realms/nowhere/.well-known/openid-configuration', '404 /realms/nowhere/.well-known/openid-configuration'],
    'discovery was tried at each sign-in (a failure is not kept), and nothing else',
  );
  t.ok(
    web.logs.some((l) => l.includes("could not read the OpenID Connect provider's metadata")),
    'the failure is logged',
  );
});
