// Redis Sentinel and Redis Cluster, for real: private redis-server processes on free ports.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { createKubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log/logger.js';
import { createWorkerRuntime } from '../../src/runtime/worker-role.js';
import { createRepo } from '../support/git.js';
import { kubeForTest } from '../support/kube.js';
import { freePort } from '../support/process.js';
import { KITS } from '../support/sign.js';
import { configMap } from '../support/sync.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const exec = promisify(execFile);
const SECRET = 'topology-webhook-secret';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function server(t: Teardown, args: string[], cwd: string): Promise<number> {
  const port = await freePort();
  const child = spawn('redis-server', [...args.map((a) => a.replace('$PORT', String(port)))], { cwd, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await until(
    `redis on ${port}`,
    async () => {
      const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    },
    10_000,
  );
  return port;
}

async function signedPush(web: Awaited<ReturnType<typeof startWeb>>, sha: string, id: string) {
  const body = JSON.stringify(KITS.github.push('acme/web', 'main', sha));
  return web.post('/hooks/github', body, {
    'content-type': 'application/json',
    ...KITS.github.eventHeaders('push', id),
    ...(await KITS.github.sign(body, SECRET)),
  });
}

t.test('Redis Sentinel', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'landfall-sentinel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const master = await server(t, ['--port', '$PORT', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], dir);
  await writeFile(
    join(dir, 'sentinel.conf'),
    `bind 127.0.0.1\nsentinel monitor lfmaster 127.0.0.1 ${master} 1\nsentinel down-after-milliseconds lfmaster 2000\n`,
  );
  const sentinel = await server(t, ['sentinel.conf', '--sentinel', '--port', '$PORT'], dir);
  const web = await startWeb(
    t,
    `redis: { sentinels: [{ host: 127.0.0.1, port: ${sentinel} }], name: lfmaster, prefix: sent }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
  );
  const res = await signedPush(web, 'a'.repeat(40), 'sentinel-1');
  t.equal(res.status, 202, res.text);
  const direct = new Redis({ port: master });
  t.teardown(() => direct.quit());
  t.equal(await direct.exists('sent:sync:sync-web-0'), 1, 'the job is on the master the sentinel named');
  t.equal((await signedPush(web, 'a'.repeat(40), 'sentinel-1')).json.ignored, 'duplicate');
});

t.test('Redis Cluster: intake, workers and their scripts under one hash tag', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'landfall-cluster-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    ports.push(
      await server(
        t,
        ['--port', '$PORT', '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-$PORT.conf`, '--save', '', '--appendonly', 'no'],
        dir,
      ),
    );
  }
  await exec('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  await until(
    'the cluster is ok',
    async () => {
      const { stdout } = await exec('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
      return /cluster_state:ok/.test(stdout);
    },
    20_000,
  );

  const repo = await createRepo(t);
  const { server: kube } = await kubeForTest(t);
  kube!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  const data = await mkdtemp(join(tmpdir(), 'landfall-cluster-data-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const web = await startWeb(
    t,
    `redis: { cluster: [{ host: 127.0.0.1, port: ${ports[0]} }], prefix: "{lf}" }\nforges: { github: { webhookSecret: ${SECRET} } }\nworker: { dataDir: "${data}" }\napps:\n  - { name: web, forge: github, repo: acme/web, cloneUrl: "${repo.url}", branch: main, path: deploy, namespace: web }\n`,
  );
  const client = await createKubeClient(kube!.kubeConfig(), { retryBaseMs: 10 });
  t.teardown(() => client.close());
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const workers = await createWorkerRuntime(web.config, log, { kubeClient: async () => client });
  t.teardown(() => workers.close());

  const c1 = await repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }) });
  const res = await signedPush(web, c1, 'cluster-1');
  t.equal(res.status, 202, res.text);
  await until(
    'deployed through the cluster',
    async () => (kube!.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'version' }) as any)?.data?.v === '1',
    30_000,
  );
  const cluster = new Cluster([{ host: '127.0.0.1', port: ports[0]! }]);
  t.teardown(() => cluster.quit());
  t.equal(await cluster.hget('{lf}:app:web:state', 'deployedSha'), c1, 'the app state is in the cluster');
  t.equal((await signedPush(web, c1, 'cluster-1')).json.ignored, 'duplicate');
});

t.test('configuration: Cluster needs a hash-tag prefix; Sentinel needs the master name', async (t) => {
  const { parseConfig, ConfigError } = await import('../../src/config/load.js');
  const problems = (yaml: string) => {
    try {
      parseConfig(yaml, {});
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  t.same(problems('redis: { cluster: [{ host: a, port: 7000 }] }'), [
    'redis.prefix: with Redis Cluster, must be one hash tag such as {landfall}, so that every key lands in one slot',
  ]);
  t.same(problems('redis: { sentinels: [{ host: a, port: 26379 }] }'), ["redis.name: required with sentinels: the master group's name"]);
  t.same(problems('redis: { cluster: [{ host: a, port: 7000 }], prefix: "{landfall}" }'), []);
});
