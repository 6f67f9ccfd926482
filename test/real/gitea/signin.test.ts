// Sign-in through the real Gitea as OAuth 2 provider, in headless Chromium (Debian's, driven by
// playwright-core): a reader sees the app and its sync pages, someone who cannot read the
// repository gets 404, a writer presses "Sync now", a sync without the CSRF token is refused,
// and a signed-out session is dead. The stand-in version is test/http/signin.test.ts.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
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

t.test('sign-in through the real Gitea, in Chromium', { skip, timeout: 600_000 }, async (t) => {
  const gitea = realGitea();
  const { url: redisUrl, prefix } = await redisForTest(t, 'signin-real');

  // A private repository: the reader may read it, the writer push to it, the stranger nothing.
  const repo = await gitea.createRepo('signin', { init: true });
  t.equal((await gitea.api('PATCH', `/repos/${repo}`, { private: true })).status, 200, 'the repository is private');
  const [reader, writer, stranger] = [await createUser(gitea, 'reader'), await createUser(gitea, 'writer'), await createUser(gitea, 'stranger')];
  t.equal((await gitea.api('PUT', `/repos/${repo}/collaborators/${reader.login}`, { permission: 'read' })).status, 204);
  t.equal((await gitea.api('PUT', `/repos/${repo}/collaborators/${writer.login}`, { permission: 'write' })).status, 204);

  // Landfall as an OAuth 2 application of Gitea, with its callback URL.
  const port = await freePort();
  const landfall = `http://127.0.0.1:${port}`;
  const app = await gitea.api('POST', '/user/applications/oauth2', {
    name: `landfall-${prefix}`,
    redirect_uris: [`${landfall}/auth/callback`],
    confidential_client: true,
  });
  t.equal(app.status, 201, 'Gitea registered the OAuth 2 application');
  t.teardown(() => gitea.api('DELETE', `/user/applications/oauth2/${app.body.id}`));

  const dir = await mkdtemp(join(tmpdir(), 'landfall-signin-'));
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
    signIn: { provider: gitea, clientId: "${app.body.client_id}", clientSecret: "${app.body.client_secret}", sessionSecret: "${randomBytes(24).toString('hex')}" }
redis: { url: ${redisUrl}, prefix: ${prefix} }
forges: { gitea: { webhookSecret: signin-real-secret-1, url: ${gitea.url} } }
apps:
  - { name: shop, forge: gitea, repo: ${repo}, branch: main, namespace: shop }
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

  /** Opens the app's page in a fresh browser, signing in at Gitea on the way (and granting access the first time). */
  const signIn = async (who: { login: string; password: string }): Promise<{ context: BrowserContext; status: number | undefined }> => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${landfall}/apps/shop`);
    await page.waitForURL(/\/user\/login/);
    await page.fill('input[name="user_name"]', who.login);
    await page.fill('input[name="password"]', who.password);
    // Listen before submitting: with the grant remembered, Gitea sends the browser straight back
    // and the app page can arrive before a listener registered afterwards would see it.
    const back = page.waitForResponse((r) => r.url().startsWith(`${landfall}/apps/shop`) && r.request().isNavigationRequest());
    await page.press('input[name="password"]', 'Enter');
    await page.waitForURL((u) => u.toString().startsWith(landfall) || u.pathname.includes('/login/oauth/authorize'));
    if (!page.url().startsWith(landfall)) await page.click('button[name="granted"][value="true"]');
    return { context, status: (await back).status() };
  };

  const asReader = await signIn(reader);
  t.equal(asReader.status, 200, 'the reader signs in and sees the app');
  const readerPage = asReader.context.pages()[0]!;
  t.match(await readerPage.textContent('body'), new RegExp(`Signed in as ${reader.login}`));
  t.equal(await readerPage.locator('button', { hasText: 'Sync now' }).count(), 0, 'a reader has no sync button');
  t.equal((await readerPage.goto(`${landfall}/api/apps/shop`))?.status(), 200, 'and reads the API with the session');

  const asStranger = await signIn(stranger);
  t.equal(asStranger.status, 404, 'someone who cannot read the repository gets 404');
  const strangerPage = asStranger.context.pages()[0]!;
  t.equal((await strangerPage.goto(`${landfall}/api/apps/shop`))?.status(), 404);

  const asWriter = await signIn(writer);
  t.equal(asWriter.status, 200);
  const writerPage = asWriter.context.pages()[0]!;
  const forged = await asWriter.context.request.post(`${landfall}/apps/shop/sync`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
  t.equal(forged.status(), 403, 'a sync without the right CSRF token is refused');
  await writerPage.click('button:has-text("Sync now")');
  await writerPage.waitForURL(/\/syncs\//);
  t.match(await writerPage.textContent('h1'), /shop|sync/i, 'the writer pressed Sync now and sees the sync page');
  const syncPage = writerPage.url();
  t.equal((await readerPage.goto(syncPage))?.status(), 200, 'the reader sees the sync page');
  t.equal((await strangerPage.goto(syncPage))?.status(), 404, 'the stranger does not');

  // Sign out; the cookie kept from before opens nothing.
  const kept = await asReader.context.cookies(landfall);
  await readerPage.goto(`${landfall}/auth/sign-out`);
  await readerPage.click('button:has-text("Sign out")');
  await readerPage.waitForURL((u) => !u.pathname.startsWith('/auth/sign-out'));
  const replay = await browser.newContext();
  await replay.addCookies(kept);
  const again = await replay.request.get(`${landfall}/api/apps/shop`, { maxRedirects: 0 });
  t.equal(again.status(), 401, 'the signed-out session is dead');
  web.child.kill('SIGTERM');
  t.equal(await web.exited, 0);
});
