// Sign-in with OpenID Connect, the real Gitea as provider (discovery at
// <gitea>/.well-known/openid-configuration; its ID token lists the person's organisations and
// `org:team` names in `groups` when the `groups` scope is asked), in headless Chromium. Access
// follows server.auth.groups: a member of the team mapped with access: read sees the app and its
// sync pages, one of the team mapped with access: write presses "Sync now", someone in no mapped
// group gets 404 and a dashboard that says so; a tampered, an expired and a signed-out session
// are dead. The forge (OAuth 2) version is test/real/gitea/signin.test.ts.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort, runCli } from '../../support/process.js';
import { realGitea, realGiteaSkip, type RealGitea } from '../../support/real-gitea.js';
import { redisForTest } from '../../support/redis.js';

const skip = realGiteaSkip();
const CHROMIUM = process.env.LANDFALL_CHROMIUM ?? '/usr/bin/chromium';

/** A Gitea user with a password, for the sign-in form. */
async function createUser(gitea: RealGitea, name: string): Promise<{ login: string; password: string }> {
  const login = `${name}-${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await gitea.api('POST', '/admin/users', { username: login, email: `${login}@landfall.test`, password, must_change_password: false });
  if (res.status !== 201) throw new Error(`creating user ${login}: ${res.status} ${JSON.stringify(res.body)}`);
  return { login, password };
}

/** A team of an organisation, with members; its group in Gitea's ID token is `<org>:<team>`. */
async function createTeam(gitea: RealGitea, org: string, name: string, members: string[]): Promise<void> {
  const team = await gitea.api('POST', `/orgs/${org}/teams`, { name, permission: 'read', units: ['repo.code'] });
  if (team.status !== 201) throw new Error(`creating team ${org}/${name}: ${team.status} ${JSON.stringify(team.body)}`);
  for (const login of members) {
    const added = await gitea.api('PUT', `/teams/${team.body.id}/members/${login}`);
    if (added.status !== 204) throw new Error(`adding ${login} to ${org}/${name}: ${added.status}`);
  }
}

t.test('sign-in with OpenID Connect through the real Gitea, groups mapped to apps, in Chromium', { skip, timeout: 600_000 }, async (t) => {
  const gitea = realGitea();
  const { url: redisUrl, prefix, redis } = await redisForTest(t, 'oidc-real');

  // An organisation with two teams: devs may read shop, ops may sync it; the stranger is in neither.
  const [reader, writer, stranger] = [await createUser(gitea, 'dev'), await createUser(gitea, 'op'), await createUser(gitea, 'stranger')];
  const org = `oidc-${randomBytes(3).toString('hex')}`;
  const created = await gitea.api('POST', '/orgs', { username: org });
  t.equal(created.status, 201, 'Gitea created the organisation');
  t.teardown(() => gitea.api('DELETE', `/orgs/${org}`));
  await createTeam(gitea, org, 'devs', [reader.login]);
  await createTeam(gitea, org, 'ops', [writer.login]);
  const repo = await gitea.createRepo('oidc', { init: true });

  // Landfall as an OAuth 2 / OpenID Connect client of Gitea, with its callback URL.
  const port = await freePort();
  const landfall = `http://127.0.0.1:${port}`;
  const app = await gitea.api('POST', '/user/applications/oauth2', {
    name: `landfall-oidc-${prefix}`,
    redirect_uris: [`${landfall}/auth/callback`],
    confidential_client: true,
  });
  t.equal(app.status, 201, 'Gitea registered the application');
  t.teardown(() => gitea.api('DELETE', `/user/applications/oauth2/${app.body.id}`));
  const discovery = await fetch(`${gitea.url}/.well-known/openid-configuration`).then((r) => r.json() as Promise<{ issuer: string; jwks_uri: string }>);
  // Gitea 1.26 names itself by its root URL without the slash (older releases with it); Landfall is
  // configured with the slash below: for an issuer without a path the two are the same URL.
  t.equal(discovery.issuer.replace(/\/$/, ''), gitea.url, "Gitea's issuer is its root URL");

  const dir = await mkdtemp(join(tmpdir(), 'landfall-oidc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'landfall.yaml');
  await writeFile(
    config,
    `server:
  host: 127.0.0.1
  port: ${port}
  publicUrl: ${landfall}
  spoolDir: ${join(dir, 'spool')}
  auth:
    anonymous: none
    signIn:
      provider: oidc
      issuer: "${gitea.url}/"
      clientId: "${app.body.client_id}"
      clientSecret: "${app.body.client_secret}"
      sessionSecret: "${randomBytes(24).toString('hex')}"
    groups:
      - { group: "${org}:devs", apps: [shop] }
      - { group: "${org}:ops", apps: [shop], access: write }
redis: { url: ${redisUrl}, prefix: ${prefix} }
forges: { gitea: { webhookSecret: oidc-real-secret-1, url: ${gitea.url} } }
apps:
  - { name: shop, forge: gitea, repo: ${repo}, branch: main, namespace: shop }
  - { name: bank, forge: gitea, repo: ${repo}, branch: main, namespace: bank }
`,
  );
  const web = runCli(['serve', '--role', 'web', '--config', config]);
  t.teardown(() => web.child.kill('SIGKILL'));
  await web.waitFor(/landfall web listening/);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());

  /** Opens `path` in a fresh browser, signing in at Gitea on the way (and granting access the first time). */
  const signIn = async (
    who: { login: string; password: string },
    path = '/apps/shop',
  ): Promise<{ context: BrowserContext; page: Page; status: number | undefined }> => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${landfall}${path}`);
    await page.waitForURL(/\/user\/login/);
    await page.fill('input[name="user_name"]', who.login);
    await page.fill('input[name="password"]', who.password);
    // Listen before submitting: with the grant remembered, Gitea sends the browser straight back.
    const back = page.waitForResponse((r) => r.url() === `${landfall}${path}` && r.request().isNavigationRequest());
    await page.press('input[name="password"]', 'Enter');
    await page.waitForURL((u) => u.toString().startsWith(landfall) || u.pathname.includes('/login/oauth/authorize'));
    if (!page.url().startsWith(landfall)) await page.click('button[name="granted"][value="true"]');
    const arrived = await back.catch(async (err: Error) => {
      throw new Error(`${err.message}; the browser is at ${page.url()}: ${(await page.textContent('body'))?.replace(/\s+/g, ' ').slice(0, 600)}`);
    });
    return { context, page, status: arrived.status() };
  };
  /** The Redis key of a browser's session. */
  const sessionKey = async (context: BrowserContext) => {
    const cookie = (await context.cookies(landfall)).find((c) => c.name === 'landfall_session');
    if (!cookie) throw new Error('no session cookie');
    return { cookie, key: `${prefix}:session:${decodeURIComponent(cookie.value).split('.')[0]}` };
  };

  // The member of devs: reads shop (page, API), cannot sync it, and bank does not exist for them.
  const asReader = await signIn(reader);
  t.equal(asReader.status, 200, 'the member of the read team signs in and sees the app');
  const readerPage = asReader.page;
  t.match(await readerPage.textContent('body'), new RegExp(`Signed in as ${reader.login}, whose groups may read shop but not sync it`));
  t.equal(await readerPage.locator('button', { hasText: 'Sync now' }).count(), 0, 'a reader has no sync button');
  t.equal((await readerPage.goto(`${landfall}/api/apps/shop`))?.status(), 200, 'and reads the API with the session');
  t.equal((await readerPage.goto(`${landfall}/apps/bank`))?.status(), 404, 'an app no group of theirs is mapped to answers 404');
  await readerPage.goto(`${landfall}/`);
  const readerHome = (await readerPage.textContent('body')) ?? '';
  t.match(readerHome, /shop/);
  t.notMatch(readerHome, /bank/, 'the dashboard lists only the mapped app');

  // What the session keeps: who and their groups, no token of any kind.
  const { key: readerKey, cookie: readerCookie } = await sessionKey(asReader.context);
  const stored = JSON.parse((await redis.get(readerKey)) ?? '{}') as { user?: Record<string, unknown> };
  t.equal(stored.user?.login, reader.login, "the session holds the person's preferred_username");
  t.ok(typeof stored.user?.sub === 'string' && stored.user.sub !== '', 'and their subject');
  t.same(stored.user?.groups, [org, `${org}:devs`], "and the groups of Gitea's ID token: the organisation and org:team");
  t.notMatch(JSON.stringify(stored), /token|gto_|eyJ/i, 'no access, refresh or ID token is kept');

  // The member of ops: a forged CSRF token is refused, Sync now works.
  const asWriter = await signIn(writer);
  t.equal(asWriter.status, 200);
  const writerPage = asWriter.page;
  const forged = await asWriter.context.request.post(`${landfall}/apps/shop/sync`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
  t.equal(forged.status(), 403, 'a sync without the right CSRF token is refused');
  // The reader has a CSRF token of their own (the sign-out form's); with it, the refusal is about access.
  const signOutForm = await asReader.context.request.get(`${landfall}/auth/sign-out`);
  const readerCsrf = /name="_csrf" value="([^"]+)"/.exec(await signOutForm.text())?.[1];
  t.ok(readerCsrf, "the reader's sign-out form carries a CSRF token");
  const readerSync = await asReader.context.request.post(`${landfall}/apps/shop/sync`, { form: { _csrf: readerCsrf! }, maxRedirects: 0 });
  t.equal(readerSync.status(), 403, 'a reader cannot sync, even with a good CSRF token');
  t.match(await readerSync.text(), /needs a group with access: write/);
  await writerPage.click('button:has-text("Sync now")');
  await writerPage.waitForURL(/\/syncs\//);
  t.match(await writerPage.textContent('h1'), /shop|sync/i, 'the writer pressed Sync now and sees the sync page');
  const syncPage = writerPage.url();
  t.equal((await readerPage.goto(syncPage))?.status(), 200, 'the reader sees the sync page');

  // In no mapped group: 404 for the app, its API and its sync page; the dashboard says why.
  const asStranger = await signIn(stranger, '/');
  t.equal(asStranger.status, 200);
  t.match(
    await asStranger.page.textContent('body'),
    new RegExp(`Signed in as ${stranger.login}, but you have access to no app: the sign-in provider listed no groups for you`),
    'the dashboard says they are signed in with access to nothing',
  );
  t.notMatch(await asStranger.page.textContent('body'), /shop|bank/);
  for (const path of ['/apps/shop', '/api/apps/shop', new URL(syncPage).pathname]) {
    t.equal((await asStranger.page.goto(`${landfall}${path}`))?.status(), 404, `${path} answers 404 to someone in no mapped group`);
  }

  // A tampered cookie is no session: the id's signature no longer matches.
  const tamper = async (value: string) => {
    const context = await browser.newContext();
    await context.addCookies([{ ...readerCookie, value }]);
    const status = (await context.request.get(`${landfall}/api/apps/shop`, { maxRedirects: 0 })).status();
    await context.close();
    return status;
  };
  const [sid, signature] = decodeURIComponent(readerCookie.value).split('.');
  const flip = (s: string) => (s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`);
  t.equal(await tamper(encodeURIComponent(`${flip(sid!)}.${signature}`)), 401, 'a cookie with a changed id is refused');
  t.equal(await tamper(encodeURIComponent(`${sid}.${flip(signature!)}`)), 401, 'a cookie with a changed signature is refused');
  t.equal(await tamper(encodeURIComponent(sid!)), 401, 'an unsigned id is refused');
  t.equal((await asReader.context.request.get(`${landfall}/api/apps/shop`)).status(), 200, 'the untampered session still works');

  // An expired session is dead and deleted, even though its cookie and Redis entry are still there.
  const { key: writerKey } = await sessionKey(asWriter.context);
  const writerSession = JSON.parse((await redis.get(writerKey)) ?? '{}') as { user: { signedInAt: number } };
  writerSession.user.signedInAt -= 9 * 60 * 60_000;
  await redis.set(writerKey, JSON.stringify(writerSession), 'KEEPTTL');
  t.equal((await asWriter.context.request.get(`${landfall}/api/apps/shop`, { maxRedirects: 0 })).status(), 401, 'a session past sessionTtl is refused');
  t.equal(await redis.exists(writerKey), 0, 'and deleted from Redis');
  const again = await asWriter.context.request.get(`${landfall}/apps/shop`, { maxRedirects: 0 });
  t.equal(again.status(), 302, 'the dashboard sends them to sign in again');
  t.equal(again.headers().location, '/auth/sign-in?next=%2Fapps%2Fshop');

  // Sign out; the cookie kept from before opens nothing.
  await readerPage.goto(`${landfall}/auth/sign-out`);
  await readerPage.click('button:has-text("Sign out")');
  await readerPage.waitForURL((u) => !u.pathname.startsWith('/auth/sign-out'));
  t.equal(await redis.exists(readerKey), 0, 'signing out deletes the session');
  const replay = await browser.newContext();
  await replay.addCookies([readerCookie]);
  t.equal((await replay.request.get(`${landfall}/api/apps/shop`, { maxRedirects: 0 })).status(), 401, 'the signed-out session is dead');
  web.child.kill('SIGTERM');
  t.equal(await web.exited, 0);
});
