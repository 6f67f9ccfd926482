// Redis goes away: signed webhooks are spooled (fsynced) and answered 202, replayed in order when
// Redis returns, and every app ends on its newest commit with nothing lost and nothing run twice.
import t from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createKubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log/logger.js';
import { createWorkerRuntime } from '../../src/runtime/worker-role.js';
import { createHistory } from '../../src/store/history.js';
import { createKeys } from '../../src/store/keys.js';
import { createRepo, type TestRepo } from '../support/git.js';
import { kubeForTest } from '../support/kube.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { KITS } from '../support/sign.js';
import { configMap } from '../support/sync.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const SECRET = 'outage-webhook-secret';
const APPS = ['a1', 'a2', 'a3', 'a4', 'a5'];

t.test('100 pushes across 5 apps while Redis is down', async (t) => {
  const redis = await startPrivateRedis(t);
  const { server: kube } = await kubeForTest(t);
  const repos = new Map<string, TestRepo>();
  for (const app of APPS) {
    repos.set(app, await createRepo(t, app));
    kube!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } });
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-outage-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const apps = APPS.map(
    (a) => `  - { name: ${a}, forge: github, repo: acme/${a}, cloneUrl: "${repos.get(a)!.url}", branch: main, path: deploy, namespace: ${a} }\n`,
  ).join('');
  const yaml = `redis: { url: "${redis.url}", prefix: outage }\nforges: { github: { webhookSecret: ${SECRET} } }\nworker: { dataDir: "${dataDir}", lockTimeout: 3s }\napps:\n${apps}`;
  const web = await startWeb(t, yaml);
  const client = await createKubeClient(kube!.kubeConfig(), { retryBaseMs: 10 });
  t.teardown(() => client.close());
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const workers = await createWorkerRuntime(web.config, log, { kubeClient: async () => client });
  t.teardown(() => workers.close());

  await redis.stop();
  const heads = new Map<string, string>();
  const answers: number[] = [];
  for (let i = 1; i <= 20; i++) {
    for (const app of APPS) {
      const sha = await repos.get(app)!.commit({ 'deploy/v.yaml': configMap('version', { v: String(i) }) }, `v${i}`);
      heads.set(app, sha);
      const body = JSON.stringify(KITS.github.push(`acme/${app}`, 'main', sha));
      const res = await web.post('/hooks/github', body, {
        'content-type': 'application/json',
        ...KITS.github.eventHeaders('push', `d-${app}-${i}`),
        ...(await KITS.github.sign(body, SECRET)),
      });
      answers.push(res.status);
      if (res.status === 202) t.equal(res.json.accepted[0].jobId, 'spooled');
    }
  }
  t.same([...new Set(answers)], [202], 'every delivery was acknowledged while Redis was down');
  t.equal((await readdir(web.config.server.spoolDir)).filter((n) => n.endsWith('.json')).length, 100, 'each one is on disk');

  await redis.start();
  const store = new Redis(redis.url);
  t.teardown(() => store.quit());
  const history = createHistory(store, createKeys('outage'));
  await until(
    'every app runs its newest commit',
    async () => {
      for (const app of APPS) if ((await history.appState(app)).deployedSha !== heads.get(app)) return false;
      return true;
    },
    60_000,
  );
  await until('the spool is empty', async () => (await readdir(web.config.server.spoolDir)).filter((n) => n.endsWith('.json')).length === 0);
  t.equal((await store.keys('outage:delivery:github:*')).length, 100, 'every delivery was taken once');

  for (const app of APPS) {
    t.equal((kube!.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'version' }) as any)?.data.v, '20', `${app} runs v20`);
    const records = (await history.list(app, 100)).reverse();
    const deployed = records.filter((r) => r.phases.some((p) => p.name === 'apply')).map((r) => r.sha);
    t.equal(new Set(deployed).size, deployed.length, `${app}: no commit deployed twice (${deployed.length} deploys)`);
    t.ok(deployed.length <= 2, `${app}: at most two syncs for the burst`);
  }
});
