/**
 * A whole Landfall with several apps, for the burst benchmark, laid out as in production: the
 * web role and the worker role each in its own process (`dist/main.js serve --role …`), talking
 * to a GitHub API stand-in and the Kubernetes API test server that run in this process, with one
 * local bare repository per app. Built from the test suite's helpers.
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createProducerConnection } from '../src/redis/connection.js';
import { createHistory, type History } from '../src/store/history.js';
import { createKeys } from '../src/store/keys.js';
import { startForgeApi, type ForgeApi } from '../test/support/forge-api/index.js';
import { createRepo, type TestRepo } from '../test/support/git.js';
import { startKubeApiServer, type KubeApiServer } from '../test/support/kube-api/index.js';
import { KITS } from '../test/support/sign.js';
import { benchServerOptions, serverYaml, startLandfall, type LandfallProcess } from './landfall.js';
import { benchPrefix, freePort, redisForBench, REDIS_URL, tempDir, writeKubeconfig, type Scope } from './lib.js';

const SECRET = 'bench-flow-webhook-secret';
const TOKEN = 'bench-flow-forge-token';

/** One app of a {@link MultiFlow}. */
export interface FlowApp {
  name: string;
  repo: TestRepo;
  /** The forge's full name, `acme/<name>`. */
  fullName: string;
  namespace: string;
}

/** Everything running for several apps. */
export interface MultiFlow {
  apps: FlowApp[];
  api: ForgeApi;
  kube: KubeApiServer;
  web: LandfallProcess;
  worker: LandfallProcess;
  history: History;
  /** A client on the same Redis (its prefix is deleted at the end). */
  redis: Redis;
  /** Where webhooks go. */
  hookUrl: string;
  /** A signed GitHub push for `sha` of `app`, with a fresh delivery id. */
  signedPush(app: FlowApp, sha: string): Promise<{ body: string; headers: Record<string, string> }>;
  /** Sends a signed GitHub push for `sha` of `app` and resolves with the HTTP status. */
  push(app: FlowApp, sha: string): Promise<number>;
  /** The loose ref file of the app's `main` in its bare repository. */
  branchRef(app: FlowApp): string;
  /** Resolves when the sync queue has nothing waiting, delayed or active. */
  idle(timeoutMs: number): Promise<void>;
}

/** Starts `count` apps named `app-0` … each in its own namespace and repository; `profileDir`: the worker under `--cpu-prof`, its profile written there. */
export async function startMultiFlow(scope: Scope, count: number, profileDir?: string): Promise<MultiFlow> {
  const dir = await tempDir(scope, 'flow');
  const kube = await startKubeApiServer();
  scope.teardown(() => kube.stop());
  const api = await startForgeApi('github', { token: TOKEN });
  scope.teardown(() => api.close());
  const prefix = benchPrefix('flow');
  const redis = redisForBench(scope, prefix);
  const apps: FlowApp[] = [];
  for (let i = 0; i < count; i++) {
    const name = `app-${i}`;
    apps.push({ name, repo: await createRepo(scope, name), fullName: `acme/${name}`, namespace: name });
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const kubeconfig = await writeKubeconfig(dir, kube.url);
  // Production defaults everywhere (worker concurrency 4, lock timeout 30 s) but the drift
  // interval, pushed out so a scheduled reconcile cannot add a sync to the ones counted.
  const yaml = (
    port: number,
  ) => `${serverYaml({ host: '127.0.0.1', port, publicUrl: 'https://landfall.test', logLevel: 'info' }, benchServerOptions(join(dir, `spool-${port}`)))}
redis: { url: "${REDIS_URL}", prefix: ${prefix} }
forges:
  github: { webhookSecret: ${SECRET}, token: ${TOKEN}, apiUrl: "${api.url}" }
clusters: { default: { kubeconfig: "${kubeconfig}" } }
worker: { dataDir: "${join(dir, 'data')}" }
apps:
${apps.map((a) => `  - { name: ${a.name}, forge: github, repo: ${a.fullName}, cloneUrl: "${a.repo.url}", branch: main, path: deploy, namespace: ${a.namespace}, healthTimeout: 30s, driftInterval: 1h }`).join('\n')}
`;
  const webPort = await freePort();
  const web = await startLandfall(scope, dir, 'burst-web', 'web', yaml(webPort), webPort);
  const workerPort = await freePort();
  // With `profileDir` (burst.ts, --profile) the worker runs under the CPU profiler.
  const worker = await startLandfall(
    scope,
    dir,
    'burst-worker',
    'worker',
    yaml(workerPort),
    workerPort,
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  );
  // A graceful stop first (a profile is only written on a clean exit); SIGKILL stays the fallback.
  scope.teardown(() => worker.stop('SIGTERM', 20_000));
  scope.teardown(() => web.stop('SIGTERM', 20_000));
  const producer = createProducerConnection(REDIS_URL);
  const syncQueue = new Queue('sync', { connection: producer, prefix });
  scope.teardown(async () => {
    await syncQueue.close();
    await producer.quit().catch(() => producer.disconnect());
  });
  const kit = KITS.github;
  const hookUrl = `${web.url}/hooks/github`;
  async function signedPush(app: FlowApp, sha: string) {
    const body = JSON.stringify(kit.push(app.fullName, 'main', sha));
    return { body, headers: { 'content-type': 'application/json', ...kit.eventHeaders('push'), ...(await kit.sign(body, SECRET)) } };
  }
  return {
    apps,
    api,
    kube,
    web,
    worker,
    history: createHistory(redis, createKeys(prefix)),
    redis,
    hookUrl,
    signedPush,
    async push(app, sha) {
      const { body, headers } = await signedPush(app, sha);
      const res = await fetch(hookUrl, { method: 'POST', body, headers });
      await res.arrayBuffer();
      return res.status;
    },
    branchRef: (app) => join(app.repo.bare, 'refs', 'heads', 'main'),
    async idle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await syncQueue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        if (Object.values(counts).every((n) => n === 0)) return;
        if (Date.now() > deadline) throw new Error(`sync queue not idle after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
