// Two web and two worker processes on one Redis under a burst: one sync per app at a time, the
// newest commit wins, nothing deployed twice, no event lost.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { createHistory } from '../../src/store/history.js';
import { createKeys } from '../../src/store/keys.js';
import { createRepo, type TestRepo } from '../support/git.js';
import { kubeForTest } from '../support/kube.js';
import { freePort, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';
import { KITS } from '../support/sign.js';
import { configMap } from '../support/sync.js';
import { until } from '../support/workers.js';

const SECRET = 'scale-out-webhook-secret';
const APPS = ['s1', 's2', 's3'];

t.test('2 web + 2 worker processes, a burst of 36 pushes across 3 apps', async (t) => {
  const { prefix, redis } = await redisForTest(t, 'scale');
  const { server: kube } = await kubeForTest(t);
  const dir = await mkdtemp(join(tmpdir(), 'landfall-scale-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const repos = new Map<string, TestRepo>();
  for (const app of APPS) {
    repos.set(app, await createRepo(t, app));
    kube!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } });
  }
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: { server: "${kube!.url}", insecure-skip-tls-verify: true }\nusers:\n- name: t\n  user: { token: test-token }\ncontexts:\n- name: t\n  context: { cluster: t, user: t }\ncurrent-context: t\n`,
  );
  const config = join(dir, 'landfall.yaml');
  await writeFile(
    config,
    `server: { host: 127.0.0.1, logLevel: info }\nredis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: ${SECRET} } }\nclusters: { default: { kubeconfig: "${kubeconfig}" } }\nworker: { lockTimeout: 3s, concurrency: 4 }\napps:\n${APPS.map((a) => `  - { name: ${a}, forge: github, repo: acme/${a}, cloneUrl: "${repos.get(a)!.url}", branch: main, path: deploy, namespace: ${a} }\n`).join('')}`,
  );
  const webPorts: number[] = [];
  const processes = [];
  for (const role of ['web', 'web', 'worker', 'worker']) {
    const port = await freePort();
    if (role === 'web') webPorts.push(port);
    const p = runCli(['serve', '--role', role, '--config', config], {
      LANDFALL_SERVER__PORT: String(port),
      LANDFALL_WORKER__PROBE_PORT: String(port),
      LANDFALL_WORKER__DATA_DIR: join(dir, `data-${port}`),
      LANDFALL_SERVER__SPOOL_DIR: join(dir, `spool-${port}`),
    });
    t.teardown(() => p.child.kill('SIGKILL'));
    processes.push(p.waitFor(role === 'web' ? /landfall web listening/ : /landfall worker probes listening/));
  }
  await Promise.all(processes);

  // Ten commits per app land in git; their webhooks arrive together, spread over both web processes.
  const shas = new Map<string, string[]>();
  for (const app of APPS) {
    const list: string[] = [];
    for (let i = 1; i <= 12; i++) list.push(await repos.get(app)!.commit({ 'deploy/v.yaml': configMap('version', { v: String(i) }) }, `v${i}`));
    shas.set(app, list);
  }
  const sends = APPS.flatMap((app) =>
    shas.get(app)!.map(async (sha, i) => {
      const body = JSON.stringify(KITS.github.push(`acme/${app}`, 'main', sha));
      const res = await fetch(`http://127.0.0.1:${webPorts[i % 2]}/hooks/github`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...KITS.github.eventHeaders('push', `${app}-${i}`), ...(await KITS.github.sign(body, SECRET)) },
      });
      return res.status;
    }),
  );
  const answers = await Promise.all(sends);
  t.same([...new Set(answers)], [202], `all ${answers.length} deliveries accepted`);

  const history = createHistory(redis, createKeys(prefix));
  await until(
    'every app runs its newest commit',
    async () => {
      for (const app of APPS) if ((await history.appState(app)).deployedSha !== shas.get(app)!.at(-1)) return false;
      return true;
    },
    60_000,
  );
  // Pushes that joined a later job are taken up when it runs (and finds the head deployed).
  const queue = new Queue('sync', { connection: redis, prefix });
  t.teardown(() => queue.close());
  await until('no sync job is left', async () => (await queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')) === 0, 30_000);
  t.equal((await redis.keys(`${prefix}:delivery:github:*`)).length, 36, 'every delivery recorded once: none lost');

  for (const app of APPS) {
    const list = shas.get(app)!;
    t.equal((kube!.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'version' }) as any).data.v, '12', `${app}: the head runs`);
    const records = (await history.list(app, 100)).reverse();
    const deployed = records.filter((r) => r.phases.some((p) => p.name === 'apply'));
    const order = deployed.map((r) => list.indexOf(r.sha!));
    t.same(
      order,
      [...order].sort((a, b) => a - b),
      `${app}: never an older commit after a newer one (${order.join(', ')})`,
    );
    t.equal(new Set(order).size, order.length, `${app}: nothing deployed twice`);
    const spans = records
      .filter((r) => r.startedAt && r.finishedAt && r.phases.length > 1)
      .map((r) => [r.startedAt!, r.finishedAt!])
      .sort((a, b) => a[0]! - b[0]!);
    for (let i = 1; i < spans.length; i++) t.ok(spans[i]![0]! >= spans[i - 1]![1]! - 2, `${app}: sync ${i} began after sync ${i - 1} ended`);
    const covered = new Set(records.flatMap((r) => [...r.covered, r.sha, r.requestedSha]));
    t.ok(
      list.every((sha) => covered.has(sha)),
      `${app}: every announced commit was taken up by a sync`,
    );
  }
});
