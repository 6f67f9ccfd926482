import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.js';
import type { AppConfig, Config } from '../../src/config/schema.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import type { SyncJobData } from '../../src/model/jobs.js';
import { createLogger } from '../../src/log/logger.js';
import { createHistory, type History } from '../../src/store/history.js';
import { type SyncRecord } from '../../src/model/records.js';
import { createKeys } from '../../src/store/keys.js';
import { createGit } from '../../src/sync/checkout.js';
import { runSync, type SyncDeps, type SyncListener } from '../../src/sync/pipeline.js';
import { findTools } from '../../src/sync/tools.js';
import { createRepo, type TestRepo } from './git.js';
import { kubeForTest, uniqueName } from './kube.js';
import type { KubeApiServer, KubeApiServerOptions } from './kube-api/index.js';
import type { RealKube } from './real-kube.js';
import { redisForTest } from './redis.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Everything a pipeline test needs: a repo, a Kubernetes API, Redis history, and `run()`. */
export interface SyncHarness {
  repo: TestRepo;
  server: KubeApiServer;
  client: KubeClient;
  config: Config;
  app: AppConfig;
  history: History;
  redis: Redis;
  prefix: string;
  logs: string[];
  deps: SyncDeps;
  /** Runs one sync as a job would; never throws, returns the record. */
  run(
    data?: Partial<SyncJobData>,
    extra?: { covered?: string[]; attempt?: number; finalAttempt?: boolean; jobId?: string },
  ): Promise<SyncRecord & { thrown?: Error }>;
}

let jobCounter = 0;

/** The same harness against a real cluster: no test server, the app in a namespace of its own. */
export type RealSyncHarness = Omit<SyncHarness, 'server'> & { namespace: string };

/** Options of the sync harnesses. */
export interface SyncHarnessOptions {
  listener?: SyncListener;
  createNamespace?: boolean;
  kubeTimeoutMs?: number;
  /** Landfall's own credentials, when they are not the test's (a ServiceAccount token). */
  kubeConfig?: KubeConfig;
  /** Real cluster: deploy to this existing namespace (neither created nor deleted here). */
  namespace?: string;
  /** Test server: how it starts. */
  serverOptions?: KubeApiServerOptions;
}

/**
 * A sync harness: a git repo served over file://, the Kubernetes API test server (namespace of the
 * app created), real Redis for history. `appYaml` adds keys to the app (`, path: deploy`).
 */
export async function syncHarness(t: Teardown, appYaml = '', options: SyncHarnessOptions = {}): Promise<SyncHarness> {
  const { kc, server } = await kubeForTest(t, options.serverOptions);
  if (!server) throw new Error('the sync harness needs the in-repo test server');
  if (options.createNamespace !== false) server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  return { ...(await harnessFor(t, kc, 'web', appYaml, options)), server };
}

/**
 * The sync harness on the real control plane (test/support/real-kube.ts): the app deploys to a
 * namespace of its own (created unless `createNamespace: false`, deleted at teardown); `$NS` in
 * `appYaml` stands for it.
 */
export async function realSyncHarness(t: Teardown, kube: RealKube, appYaml = '', options: SyncHarnessOptions = {}): Promise<RealSyncHarness> {
  const namespace = options.namespace ?? uniqueName('sync');
  if (!options.namespace) {
    if (options.createNamespace !== false) {
      await kube.client.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'landfall.dev/test': 'true' } } },
        { fieldManager: 'landfall-test', force: true },
      );
    }
    t.teardown(async () => {
      await kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => undefined);
    });
  }
  return { ...(await harnessFor(t, options.kubeConfig ?? kube.kc, namespace, appYaml.replaceAll('$NS', namespace), options)), namespace };
}

async function harnessFor(t: Teardown, kc: KubeConfig, namespace: string, appYaml: string, options: SyncHarnessOptions): Promise<Omit<SyncHarness, 'server'>> {
  const repo = await createRepo(t);
  const { prefix, redis } = await redisForTest(t, 'sync');
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-sync-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const config = parseConfig(
    `redis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: test-webhook-secret } }\nworker: { dataDir: ${dataDir} }\napps:\n  - { name: web, forge: github, repo: acme/web, cloneUrl: "${repo.url}", branch: main, namespace: ${namespace}${appYaml.includes('healthTimeout') ? '' : ', healthTimeout: 10s'}${appYaml} }\n`,
    {},
  );
  const client = await createKubeClient(kc, { retryBaseMs: 10, ...(options.kubeTimeoutMs ? { timeoutMs: options.kubeTimeoutMs } : {}) });
  t.teardown(() => client.close());
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
  const history = createHistory(redis, createKeys(prefix));
  const app = config.apps[0]!;
  const deps: SyncDeps = {
    git: createGit({ dataDir, timeoutMs: 30_000 }),
    tools: findTools(),
    limits: { maxObjects: 2_000, maxBytes: 10_000_000, timeoutMs: 60_000 },
    forges: config.forges,
    kube: async () => client,
    history,
    verified: history.verified,
    log,
    ...(options.listener ? { listener: options.listener } : {}),
  };
  return {
    repo,
    client,
    config,
    app,
    history,
    redis,
    prefix,
    logs,
    deps,
    async run(data = {}, extra = {}) {
      const sha = data.sha ?? (await repo.head());
      const jobId = extra.jobId ?? `sync-web-${jobCounter++}`;
      const job: SyncJobData = {
        app: 'web',
        trigger: 'push',
        forge: 'github',
        repo: 'acme/web',
        branch: 'main',
        sha,
        generation: 0,
        receivedAt: Date.now(),
        ...data,
      };
      try {
        return await runSync(deps, {
          app,
          data: job,
          jobId,
          covered: extra.covered ?? [sha],
          attempt: extra.attempt ?? 1,
          finalAttempt: extra.finalAttempt ?? true,
        });
      } catch (err) {
        const record = await history.get(jobId);
        return { ...(record as SyncRecord), thrown: err as Error };
      }
    },
  };
}

/** A Deployment manifest. */
export function deployment(name: string, image = 'nginx:1.25', extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${name}
          image: ${image}
          ports: [ { containerPort: 8080 } ]${extra}
`;
}

/** A ConfigMap manifest. */
export function configMap(name: string, data: Record<string, string> = { k: 'v' }, extra = ''): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}${extra}\ndata: ${JSON.stringify(data)}\n`;
}

/** A Service manifest. */
export function service(name: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector: { app: ${name} }\n  ports: [ { port: 80, targetPort: 8080 } ]\n`;
}
