import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log/logger.js';
import { createIntake, type Intake } from '../../src/queue/producer.js';
import { createProducerConnection } from '../../src/redis/connection.js';
import { createWorkerRuntime, type WorkerRuntime, type WorkerRuntimeOptions } from '../../src/runtime/worker-role.js';
import { createHistory, type History } from '../../src/store/history.js';
import { type SyncRecord } from '../../src/model/records.js';
import { createKeys } from '../../src/store/keys.js';
import { createRepo, type TestRepo } from './git.js';
import { kubeForTest } from './kube.js';
import type { KubeApiServer } from './kube-api/index.js';
import { redisForTest } from './redis.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A whole worker set-up: repo, API test server, Redis, intake, and workers started on demand. */
export interface WorkerHarness {
  repo: TestRepo;
  server: KubeApiServer;
  config: Config;
  configFile: string;
  kubeconfigFile: string;
  prefix: string;
  history: History;
  intake: Intake;
  logs: string[];
  /** Starts an in-process worker runtime (stopped at teardown). */
  startWorker(options?: Pick<WorkerRuntimeOptions, 'settle'>): Promise<WorkerRuntime>;
  /** Stops the in-process worker runtimes started so far. */
  stopWorkers(): Promise<void>;
  /** Queues a push of `sha` as the webhook intake would. */
  push(sha: string, deliveryId?: string): Promise<string>;
  /** Resolves when the app has no waiting, delayed or active sync jobs. */
  idle(timeoutMs?: number): Promise<void>;
  /** Every record of the app, oldest first. */
  records(): Promise<SyncRecord[]>;
}

/**
 * `appYaml` extends the app entry; `workerYaml` the worker section. Writes a kubeconfig for the
 * API test server to a file, so worker processes can be started from the config alone.
 */
export async function workerHarness(t: Teardown, appYaml = ', path: deploy', workerYaml = '', topYaml = ''): Promise<WorkerHarness> {
  const repo = await createRepo(t);
  const { server } = await kubeForTest(t);
  if (!server) throw new Error('needs the in-repo test server');
  server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  const { prefix, redis } = await redisForTest(t, 'wrk');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-worker-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfigFile = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigFile,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: { server: "${server.url}", insecure-skip-tls-verify: true }\nusers:\n- name: test\n  user: { token: test-token }\ncontexts:\n- name: test\n  context: { cluster: test, user: test, namespace: default }\ncurrent-context: test\n`,
  );
  const yaml = `server: { logLevel: debug, publicUrl: "https://landfall.test" }
redis: { prefix: ${prefix} }
${topYaml}
forges: { github: { webhookSecret: test-webhook-secret } }
clusters: { default: { kubeconfig: "${kubeconfigFile}" } }
worker: { dataDir: "${join(dir, 'data')}", lockTimeout: 2s, probePort: 0${workerYaml} }
apps:
  - { name: web, forge: github, repo: acme/web, cloneUrl: "${repo.url}", branch: main, namespace: web, healthTimeout: 20s${appYaml} }
`;
  const configFile = join(dir, 'landfall.yaml');
  await writeFile(configFile, yaml);
  const config = parseConfig(yaml, {});
  const keys = createKeys(prefix);
  const history = createHistory(redis, keys);
  const producer = createProducerConnection(config.redis.url);
  const syncQueue = new Queue('sync', { connection: producer, prefix });
  const planQueue = new Queue('plan', { connection: producer, prefix });
  t.teardown(async () => {
    await syncQueue.close();
    await planQueue.close();
    await producer.quit();
  });
  const intake = createIntake({
    redis: producer,
    keys,
    syncQueue,
    planQueue,
    jobDefaults: { attempts: 5, backoffMs: 200, keepCompleted: 1000, keepFailed: 1000 },
  });
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  let counter = 0;
  const clients: KubeClient[] = [];
  const runtimes: WorkerRuntime[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));
  return {
    repo,
    server,
    config,
    configFile,
    kubeconfigFile,
    prefix,
    history,
    intake,
    logs,
    async startWorker(options = {}) {
      const client = await createKubeClient(server.kubeConfig(), { retryBaseMs: 10 });
      clients.push(client);
      const runtime = await createWorkerRuntime(config, log, { ...options, kubeClient: async () => client });
      runtimes.push(runtime);
      t.teardown(() => runtime.close());
      return runtime;
    },
    async stopWorkers() {
      for (const runtime of runtimes.splice(0)) await runtime.close();
    },
    async push(sha, deliveryId = `d-${counter++}`) {
      const result = await intake.enqueue('github', deliveryId, [
        { kind: 'sync', data: { app: 'web', trigger: 'push', forge: 'github', repo: 'acme/web', branch: 'main', sha, receivedAt: Date.now() } },
      ]);
      if (result.duplicate) throw new Error('duplicate');
      return result.accepted[0]!.jobId;
    },
    async idle(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await syncQueue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        if (Object.values(counts).every((n) => n === 0)) return;
        if (Date.now() > deadline) throw new Error(`sync queue not idle: ${JSON.stringify(counts)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async records() {
      return (await history.list('web', 100)).reverse();
    },
  };
}

/** Polls `probe` until it returns something truthy (bounded), for state that only Redis or the API server holds. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
