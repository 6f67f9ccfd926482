// The dashboard in a real headless browser (Debian's chromium driven by playwright-core).
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../support/process.js';
import { startFlow } from '../support/flow.js';
import { configMap, deployment } from '../support/sync.js';
import { until } from '../support/workers.js';

const TOKEN = 'dashboard-token-value-1';
const SHOTS = `${ROOT}test-output/screenshots`;
const CHROMIUM = process.env.LANDFALL_CHROMIUM ?? '/usr/bin/chromium';

t.test('dashboard pages in headless Chromium', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  const flow = await startFlow(t, 'github', '', { apiTokens: [TOKEN] });
  const problems: string[] = [];
  const open = async (path: string, viewport = { width: 1200, height: 900 }): Promise<Page> => {
    const page = await browser.newPage({ viewport });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${path}: ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`${path}: request failed ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().includes('/apps/web/sync')) problems.push(`${path}: ${r.status()} ${r.url()}`);
    });
    await page.goto(`${flow.web.url}${path}`);
    return page;
  };

  // A deploy, a failure, a fix.
  const c1 = await flow.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/cm.yaml': configMap('settings') });
  await flow.push(c1);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'success', 20_000);
  const c2 = await flow.repo.commit({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: kube-system }\n' });
  const failedJob = await flow.push(c2);
  await flow.api.waitFor((api) => api.statuses.latest(c2, 'landfall/web')?.state === 'failure', 20_000);

  t.test('/ lists the app with its state, deployed commit and last sync', async (t) => {
    await until(
      'the failed job is done',
      async () => !((await (await fetch(`${flow.web.url}/api/apps`)).json()) as any).apps.some((a: any) => a.status === 'progressing'),
    );
    const page = await open('/');
    const row = page.locator('tbody tr').first();
    t.match(await row.innerText(), /web\s+acme\/web@main/);
    t.equal(await row.locator('.badge').first().innerText(), 'failed');
    t.match(await row.innerText(), /ConfigMap\/kube-system\/settings is in namespace "kube-system"/);
    t.equal(await row.locator('a.mono').innerText(), c1.slice(0, 7), 'the deployed commit');
    t.equal(await row.locator('a.mono').getAttribute('href'), `${flow.api.origin}/acme/web/commit/${c1}`, 'linked to the forge');
    await page.screenshot({ path: `${SHOTS}/apps.png`, fullPage: true });
    const phone = await open('/', { width: 390, height: 844 });
    t.equal(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no sideways scrolling on a phone');
    await phone.screenshot({ path: `${SHOTS}/apps-phone.png`, fullPage: true });
  });

  t.test('/apps/web shows history with commit, trigger, duration and result, and the sync form', async (t) => {
    const page = await open('/apps/web');
    t.equal(await page.locator('h1 .badge').innerText(), 'failed');
    const rows = page.locator('h2:has-text("History") + div tbody tr');
    t.equal(await rows.count(), 2);
    t.match(await rows.nth(0).innerText(), new RegExp(`failed\\s+${c2.slice(0, 7)}\\s+push.*ConfigMap/kube-system/settings`, 's'));
    t.match(await rows.nth(1).innerText(), new RegExp(`succeeded\\s+${c1.slice(0, 7)}\\s+push\\s+(\\S+ ago|just now)\\s+\\d+(ms|s)`));
    t.ok(await page.locator('form[action="/apps/web/sync"] input[type=password]').count(), 'a sync button for token holders');
    await page.screenshot({ path: `${SHOTS}/app.png`, fullPage: true });
  });

  t.test('/syncs/:id says why a sync failed, in words a person can act on', async (t) => {
    const page = await open(`/syncs/${failedJob}`);
    t.equal(await page.locator('h1 .badge').innerText(), 'failed');
    t.match(
      await page.locator('.error').innerText(),
      /ConfigMap\/kube-system\/settings is in namespace "kube-system", which this app may not deploy to[\s\S]*Fix the manifest named above/,
    );
    t.match(await page.locator('.log').innerText(), /sync started/);
    await page.screenshot({ path: `${SHOTS}/sync-failed.png`, fullPage: true });
  });

  t.test('a running sync page refreshes itself to its result', async (t) => {
    // The next rollout takes a while, so the page is surely seen running first.
    flow.kube.setRollout({ kind: 'Deployment', name: 'web' }, 'succeed', { delayMs: 2_500 });
    const c3 = await flow.repo.commit({ 'deploy/cm.yaml': configMap('settings'), 'deploy/web.yaml': deployment('web', 'nginx:1.27') });
    const jobId = await flow.push(c3);
    await until('the sync is waiting for health', async () => (await flow.history.get(jobId))?.phases.at(-1)?.name === 'health');
    const page = await open(`/syncs/${jobId}`);
    t.equal(await page.locator('h1 .badge').innerText(), 'running');
    t.ok(await page.locator('meta[http-equiv="refresh"]').count(), 'refreshes while running');
    await page.screenshot({ path: `${SHOTS}/sync-running.png`, fullPage: true });
    await page.locator('h1 .badge', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    t.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'and stops once finished');
    const phases = await page.locator('h2:has-text("Phases") + table').innerText();
    for (const phase of ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune']) t.match(phases, new RegExp(phase));
    t.match(
      await page.locator('h2:has-text("Changes") + div').innerText(),
      /configured\s+Deployment\/web\/web\s+spec\.template\.spec\.containers\[name=web\]\.image/,
    );
    t.match(await page.locator('h2:has-text("Health") + div').innerText(), /Deployment\/web\/web\s+Current/);
    await page.screenshot({ path: `${SHOTS}/sync-succeeded.png`, fullPage: true });
  });

  t.test('the sync button queues a sync for a token holder', async (t) => {
    const page = await open('/apps/web');
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(/\/syncs\/sync-web-\d+$/), page.click('button[type=submit]')]);
    t.match(await page.locator('h1').innerText(), /Sync sync-web-\d+/);
    await page.locator('h1 .badge', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    t.match(await page.locator('dl').innerText(), /Trigger\s+manual/);
  });

  t.same(problems, [], 'no console errors, failed requests or error responses');
});
