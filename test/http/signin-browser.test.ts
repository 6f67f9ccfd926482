// The sign-in flow in headless Chromium (Debian's, driven by playwright-core) against the Gitea
// stand-in: redirects, cookies and forms as a browser handles them. The same against the real
// Gitea, with its login and grant pages, is test/real/gitea/signin.test.ts.
import t from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '../support/process.js';
import { redisForTest } from '../support/redis.js';
import { startOAuthGitea } from '../support/oauth-gitea.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const CHROMIUM = process.env.LANDFALL_CHROMIUM ?? '/usr/bin/chromium';

t.test('sign-in, access, sync now, CSRF and sign-out in Chromium', { timeout: 300_000 }, async (t) => {
  const gitea = await startOAuthGitea(t, 'browser-client', 'browser-client-secret-0123');
  gitea.grant('reader', 'acme/shop', 'read');
  gitea.grant('writer', 'acme/shop', 'write');
  const { url, prefix } = await redisForTest(t, 'signin-browser');
  const port = await freePort();
  const landfall = `http://127.0.0.1:${port}`;
  const yaml = `server:
  publicUrl: ${landfall}
  auth:
    anonymous: none
    signIn: { provider: gitea, clientId: browser-client, clientSecret: browser-client-secret-0123, sessionSecret: another-session-secret-of-32-chars-or-more }
redis: { url: ${url}, prefix: ${prefix} }
forges: { gitea: { webhookSecret: browser-secret-0123, url: ${gitea.url} } }
apps:
  - { name: shop, forge: gitea, repo: acme/shop, branch: main, namespace: shop }
`;
  const web = await startWeb(t, yaml, {}, { port });
  await until('redis is ready', async () => (await fetch(`${web.url}/readyz`)).status === 200);
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());

  const signIn = async (login: string) => {
    gitea.signInAs(login);
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${landfall}/apps/shop`);
    return { context, page, status: response?.status() };
  };

  const reader = await signIn('reader');
  t.equal(reader.status, 200, 'the reader is sent through the forge and back, and sees the app');
  t.equal(new URL(reader.page.url()).pathname, '/apps/shop');
  t.match(await reader.page.textContent('body'), /Signed in as reader/);
  t.equal(await reader.page.locator('button', { hasText: 'Sync now' }).count(), 0, 'no sync button for a reader');
  const cookie = (await reader.context.cookies(landfall)).find((c) => c.name === 'landfall_session');
  t.match(cookie, { httpOnly: true, sameSite: 'Lax', secure: false }, 'the session cookie is HttpOnly and SameSite=Lax (Secure only behind https)');
  t.ok(cookie!.expires > Date.now() / 1000, 'and expires');

  const stranger = await signIn('stranger');
  t.equal(stranger.status, 404, 'someone who cannot read the repository gets 404');

  const writer = await signIn('writer');
  t.equal(writer.status, 200);
  const forged = await writer.context.request.post(`${landfall}/apps/shop/sync`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
  t.equal(forged.status(), 403, 'a sync without the right CSRF token is refused');
  await writer.page.click('button:has-text("Sync now")');
  await writer.page.waitForURL(/\/syncs\//);
  const syncPage = writer.page.url();
  t.equal((await reader.page.goto(syncPage))?.status(), 200, 'the reader sees the sync page');
  t.equal((await stranger.page.goto(syncPage))?.status(), 404, 'the stranger does not');

  const kept = await reader.context.cookies(landfall);
  await reader.page.goto(`${landfall}/auth/sign-out`);
  await reader.page.click('button:has-text("Sign out")');
  await reader.page.waitForURL((u) => !u.pathname.startsWith('/auth/sign-out'));
  const replay = await browser.newContext();
  await replay.addCookies(kept);
  const again = await replay.request.get(`${landfall}/api/apps/shop`, { maxRedirects: 0 });
  t.equal(again.status(), 401, 'the signed-out session is dead');
});
