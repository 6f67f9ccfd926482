/**
 * Benchmark 4, apply scaling: apps of 10, 100 and 1,000 objects, first deploy and an unchanged
 * re-sync: wall time, API requests and bytes, and the growth from one size to the next. Also
 * the peak RSS of a worker process deploying the largest app (for the memory benchmark).
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AppConfig } from '../src/config/schema.js';
import { createKubeClient, type KubeClient, type KubeClientOptions, type KubeClientStats } from '../src/kube/client.js';
import { createLogger } from '../src/log/logger.js';
import type { SyncJobData } from '../src/model/jobs.js';
import { createHistory } from '../src/store/history.js';
import { type PhaseName, type SyncRecord } from '../src/model/records.js';
import { createKeys } from '../src/store/keys.js';
import { createGit } from '../src/sync/checkout.js';
import { runSync, type SyncDeps } from '../src/sync/pipeline.js';
import { findTools } from '../src/sync/tools.js';
import { createRepo } from '../test/support/git.js';
import type { ServerStats } from '../test/support/kube-api/index.js';
import { startKubeApiProcess, type RequestLine } from './kube-api.js';
import { benchIntake, startLandfall } from './landfall.js';
import {
  benchResult,
  benchPrefix,
  freePort,
  median,
  procCpuSeconds,
  procMemory,
  redisForBench,
  REDIS_URL,
  round,
  sampleRss,
  tempDir,
  until,
  withScope,
  type BenchContext,
  type BenchResult,
  type ProcMemory,
  type RssSamples,
  type Scope,
  type TargetCheck,
} from './lib.js';
import { appFiles } from './manifests.js';

const NAMESPACE = 'scale';

/** One sync of one size, measured. */
interface SyncFigures {
  wallMs: number;
  phases: Partial<Record<PhaseName, number>>;
  /** The Kubernetes API test server's view. */
  server: { requests: number; bytesReceived: number; bytesSent: number; byVerb: Record<string, number> };
  /** Landfall's client's view. */
  client: KubeClientStats;
  /** CPU seconds during the sync: Landfall (this process, git as its children) and the test server (its own process). */
  cpu: { landfall: number; server: number };
  /** Non-dry-run PATCH and DELETE requests, the inventory ConfigMap left out. */
  writes: number;
  /** Writes to the inventory ConfigMap (its revision annotation moves with every sync). */
  inventoryWrites: number;
  result: string;
  changes: Record<string, number>;
}

function isWrite(r: RequestLine): boolean {
  return (r.method === 'PATCH' || r.method === 'DELETE' || r.method === 'PUT' || r.method === 'POST') && r.query.dryRun === undefined;
}

function figures(
  record: SyncRecord,
  wallMs: number,
  stats: ServerStats,
  requests: RequestLine[],
  client: KubeClientStats,
  cpu: SyncFigures['cpu'],
  inventoryPath: string,
): SyncFigures {
  const phases = phaseTimes(record);
  const changes: Record<string, number> = {};
  for (const c of record.changes) changes[c.action] = (changes[c.action] ?? 0) + 1;
  const byVerb: Record<string, number> = {};
  for (const [verb, t] of Object.entries(stats.byVerb)) if (t.count > 0) byVerb[verb] = t.count;
  const writes = requests.filter(isWrite);
  return {
    wallMs,
    phases,
    server: { requests: stats.requests, bytesReceived: stats.bytesReceived, bytesSent: stats.bytesSent, byVerb },
    client,
    cpu,
    writes: writes.filter((r) => r.path !== inventoryPath).length,
    inventoryWrites: writes.filter((r) => r.path === inventoryPath).length,
    result: record.result,
    changes,
  };
}

/** The time each phase of a sync took, from its record. */
export function phaseTimes(record: SyncRecord): Partial<Record<PhaseName, number>> {
  const phases: Partial<Record<PhaseName, number>> = {};
  for (const p of record.phases) phases[p.name] = (p.finishedAt ?? p.startedAt) - p.startedAt;
  return phases;
}

/** One timed sync of a {@link ScaleApp}. */
export interface TimedSync {
  record: SyncRecord;
  wallMs: number;
  /** What Landfall's client asked of the API server during the sync. */
  client: KubeClientStats;
}

/** An app of generated objects and Landfall's pipeline set up to sync it, in this process. */
export interface ScaleApp {
  /** The commit holding the app. */
  head: string;
  /** The app as configured (name `scale`, path `deploy`). */
  app: AppConfig;
  /** Landfall's own client for the cluster (closed when the scope closes). */
  client: KubeClient;
  /** What the pipeline runs with (render limits and tools, git, history). */
  deps: SyncDeps;
  /** Runs `runSync` for the head once (a manual sync, so a re-sync of the deployed head runs in full); throws unless it succeeded. */
  sync(): Promise<TimedSync>;
}

/**
 * An app of `size` objects ({@link appFiles}) committed to a local bare repository, and
 * Landfall's whole pipeline (`runSync`) with Landfall's own Kubernetes client and the worker's
 * defaults, deploying it into `namespace` on the cluster `kc` points at: the Kubernetes API test
 * server or a real control plane. Every sync is a manual sync of the head: a push of the
 * deployed head would end early as already deployed.
 */
export async function createScaleApp(scope: Scope, size: number, kc: KubeConfig, namespace: string, clientOptions: KubeClientOptions = {}): Promise<ScaleApp> {
  const repo = await createRepo(scope, `scale-${size}`);
  const head = await repo.commit(appFiles('deploy', size), `${size} objects`);
  const prefix = benchPrefix('apply');
  const redis = redisForBench(scope, prefix);
  const dataDir = await tempDir(scope, 'apply-data');
  const config = parseConfig(
    `redis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: bench-secret } }\nworker: { dataDir: "${dataDir}" }\napps:\n  - { name: scale, forge: github, repo: acme/scale, cloneUrl: "${repo.url}", branch: main, path: deploy, namespace: ${namespace}, healthTimeout: 5m }\n`,
    {},
  );
  const client = await createKubeClient(kc, clientOptions);
  scope.teardown(() => client.close());
  const history = createHistory(redis, createKeys(prefix));
  // As the worker role wires it (src/runtime/worker.ts), the verified store included: an object
  // the last sync verified and nobody changed since skips its dry-run on a re-sync.
  const deps: SyncDeps = {
    git: createGit({ dataDir, timeoutMs: 60_000 }),
    tools: findTools(),
    limits: { maxObjects: config.worker.maxObjects, maxBytes: config.worker.maxManifestBytes, timeoutMs: 120_000 },
    forges: config.forges,
    kube: () => Promise.resolve(client),
    history,
    verified: history.verified,
    // Kept nowhere: the benchmark measures syncing, not log capture.
    log: createLogger({ level: 'info', destination: new Writable({ write: (_c, _e, done) => done() }) }),
    applyConcurrency: config.worker.applyConcurrency,
  };
  const app = config.apps[0]!;
  let counter = 0;
  return {
    head,
    app,
    client,
    deps,
    async sync() {
      const before = { ...client.stats };
      const data: SyncJobData = {
        app: 'scale',
        trigger: 'manual',
        forge: 'github',
        repo: 'acme/scale',
        branch: 'main',
        sha: head,
        generation: 0,
        receivedAt: Date.now(),
      };
      const t0 = performance.now();
      const record = await runSync(deps, { app, data, jobId: `sync-scale-${counter++}`, covered: [head], attempt: 1, finalAttempt: true });
      const wallMs = round(performance.now() - t0, 0);
      const after = client.stats;
      if (record.result !== 'succeeded') throw new Error(`sync of ${size} objects ended ${record.result}: ${record.error?.message}`);
      return {
        record,
        wallMs,
        client: {
          requests: after.requests - before.requests,
          writes: after.writes - before.writes,
          bytesSent: after.bytesSent - before.bytesSent,
          retries: after.retries - before.retries,
        },
      };
    },
  };
}

/**
 * Measures a first deploy and an unchanged re-sync of an app of `size` objects on a fresh API
 * test server, which runs in a process of its own: the wall time is Landfall's and the server's
 * work side by side, never one waiting for the other's CPU on one event loop.
 */
export async function measureSize(scope: Scope, size: number): Promise<{ first: SyncFigures; resync: SyncFigures }> {
  const server = await startKubeApiProcess(scope, await tempDir(scope, 'apply-kube'));
  await server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const scale = await createScaleApp(scope, size, server.kubeConfig(), NAMESPACE, { retryBaseMs: 10 });
  const inventoryPath = `/api/v1/namespaces/${NAMESPACE}/configmaps/landfall.scale`;
  const sync = async (): Promise<SyncFigures> => {
    await server.clearRequests();
    const cpu0 = { landfall: await procCpuSeconds(process.pid, true), server: await server.cpuSeconds() };
    const { record, wallMs, client } = await scale.sync();
    const cpu = { landfall: round((await procCpuSeconds(process.pid, true)) - cpu0.landfall, 2), server: round((await server.cpuSeconds()) - cpu0.server, 2) };
    return figures(record, wallMs, await server.stats(), await server.requests(), client, cpu, inventoryPath);
  };
  const first = await sync();
  const resync = await sync();
  return { first, resync };
}

/**
 * A worker process (`dist/main.js serve --role worker`) deploying an app of `size` objects and
 * re-syncing it; its RSS is sampled throughout.
 */
async function workerMemory(scope: Scope, size: number): Promise<{ objects: number; idle: ProcMemory; firstDeployMs: number; resyncMs: number } & RssSamples> {
  const dir = await tempDir(scope, 'apply-worker');
  const repo = await createRepo(scope, `worker-${size}`);
  const head = await repo.commit(appFiles('deploy', size), `${size} objects`);
  const server = await startKubeApiProcess(scope, dir);
  await server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const prefix = benchPrefix('worker');
  const redis = redisForBench(scope, prefix);
  const port = await freePort();
  const yaml = `server: { host: 127.0.0.1, port: ${port}, logLevel: warn }
redis: { url: "${REDIS_URL}", prefix: ${prefix} }
forges: { github: { webhookSecret: bench-secret } }
clusters: { default: { kubeconfig: "${server.kubeconfig}" } }
worker: { dataDir: "${join(dir, 'data')}" }
apps:
  - { name: scale, forge: github, repo: acme/scale, cloneUrl: "${repo.url}", branch: main, path: deploy, namespace: ${NAMESPACE}, healthTimeout: 5m, driftInterval: 1h }
`;
  const worker = await startLandfall(scope, dir, 'landfall-worker', 'worker', yaml, port);
  const idle = await procMemory(worker.pid);
  const rss = sampleRss(worker.pid, 50);
  const intake = benchIntake(scope, prefix);
  const history = createHistory(redis, createKeys(prefix));
  const runOne = async (trigger: 'push' | 'manual', deliveryId: string) => {
    const result = await intake.enqueue('github', deliveryId, [
      {
        kind: 'sync',
        data: { app: 'scale', trigger, forge: 'github', repo: 'acme/scale', branch: 'main', sha: trigger === 'push' ? head : '', receivedAt: Date.now() },
      },
    ]);
    if (result.duplicate) throw new Error('duplicate delivery');
    const jobId = result.accepted[0]?.jobId as string;
    const record = await until(
      `the worker to finish ${jobId}`,
      async () => {
        const r = await history.get(jobId);
        return r && r.result !== 'running' && r.result !== 'queued' ? r : undefined;
      },
      300_000,
      50,
    );
    if (record.result !== 'succeeded') throw new Error(`worker sync ended ${record.result}: ${record.error?.message}`);
    return (record.finishedAt ?? 0) - (record.startedAt ?? 0);
  };
  const firstDeployMs = await runOne('push', 'first');
  const resyncMs = await runOne('manual', 'resync');
  const peak = await rss.stop();
  await worker.stop('SIGTERM', 20_000);
  return { objects: size, idle, ...peak, firstDeployMs, resyncMs };
}

/** Runs benchmark 4; `workerMemory` in `data` feeds the memory benchmark. */
export async function runApply(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now();
  const sizes = ctx.quick ? [10, 100] : [10, 100, 1_000];
  const repeats = ctx.quick ? 1 : 3;
  const bySize: { objects: number; first: SyncFigures; resync: SyncFigures; runs: { first: number[]; resync: number[] } }[] = [];
  for (const size of sizes) {
    const runs: { first: SyncFigures; resync: SyncFigures }[] = [];
    for (let r = 0; r < repeats; r++) {
      ctx.log(`apply: ${size} objects, run ${r + 1}/${repeats}`);
      runs.push(await withScope((scope) => measureSize(scope, size)));
    }
    // The run with the median first-deploy time stands for the size; every wall time is kept.
    const sorted = [...runs].sort((a, b) => a.first.wallMs - b.first.wallMs);
    const chosen = sorted[Math.floor(sorted.length / 2)] as { first: SyncFigures; resync: SyncFigures };
    bySize.push({
      objects: size,
      first: { ...chosen.first, wallMs: median(runs.map((x) => x.first.wallMs)) },
      resync: { ...chosen.resync, wallMs: median(runs.map((x) => x.resync.wallMs)) },
      runs: { first: runs.map((x) => x.first.wallMs), resync: runs.map((x) => x.resync.wallMs) },
    });
  }
  const largest = sizes.at(-1) as number;
  ctx.log(`apply: worker process memory at ${largest} objects`);
  const worker = await withScope((scope) => workerMemory(scope, largest));

  const growth = bySize.slice(1).map((s, i) => {
    const prev = bySize[i] as (typeof bySize)[number];
    const f = s.objects / prev.objects;
    return {
      from: prev.objects,
      to: s.objects,
      factor: f,
      firstWall: round(s.first.wallMs / prev.first.wallMs, 2),
      firstRequests: round(s.first.server.requests / prev.first.server.requests, 2),
      firstBytesReceived: round(s.first.server.bytesReceived / prev.first.server.bytesReceived, 2),
      resyncWall: round(s.resync.wallMs / prev.resync.wallMs, 2),
      resyncRequests: round(s.resync.server.requests / prev.resync.server.requests, 2),
      resyncBytesReceived: round(s.resync.server.bytesReceived / prev.resync.server.bytesReceived, 2),
    };
  });
  // Linear: ten times the objects costs at most ten times the time (+25% for noise); fixed costs
  // (git, render start-up) make the small sizes grow by less.
  const worstGrowth = growth.reduce((w, g) => Math.max(w, g.firstWall / g.factor, g.resyncWall / g.factor), 0);
  const resyncWrites = bySize.map((s) => s.resync.writes);
  const perObject = bySize.map((s) => `${s.objects}: ${round(s.first.wallMs / s.objects, 2)} ms`).join(', ');
  const targets: TargetCheck[] = [
    {
      name: 'Apply time grows linearly with object count',
      target: '≤ 1.25× linear per 10× objects',
      measured: growth.map((g) => `${g.from}→${g.to}: first deploy ×${g.firstWall}, re-sync ×${g.resyncWall}`).join('; '),
      met: worstGrowth <= 1.25,
      ...(worstGrowth <= 1.25 ? {} : { note: `worst step is ${round(worstGrowth, 2)}× linear; first deploy per object: ${perObject}` }),
    },
    {
      name: 'An unchanged re-sync writes nothing',
      target: '0 writes (inventory ConfigMap aside)',
      measured: bySize.map((s) => `${s.objects}: ${s.resync.writes}`).join(', '),
      met: resyncWrites.every((w) => w === 0),
    },
  ];
  return benchResult(ctx, 'apply', 'Apply scaling', started, {
    method: [
      `Apps of ${sizes.join(', ')} objects (per ten: 6 ConfigMaps, 2 Deployments, 2 Services; files of 50 documents) in a local bare repository, each size on a fresh Kubernetes API test server (rollouts complete at once) with the app's namespace present. The test server runs in a process of its own (a child on a free loopback port, reached through a kubeconfig file), so the wall times never include its CPU on Landfall's event loop; the CPU seconds of each side during a sync are shown apart.`,
      "Each sync is Landfall's whole pipeline (`runSync`: resolve, checkout, render, validate, dry-run, staged apply, health, prune, inventory, record) in this process with Landfall's own Kubernetes client, worker defaults (`applyConcurrency` 8). First deploy on an empty namespace, then an unchanged re-sync of the same commit (a manual sync: a push of the deployed head would end early as already deployed).",
      `Requests and bytes: the API server's \`stats()\` (bodies only) and the client's own counters. Writes: non-dry-run PATCH, PUT, POST and DELETE requests in the server's log, the inventory ConfigMap (whose revision annotation is rewritten by every sync) counted apart. ${repeats} run(s) per size, each on a fresh server; wall time is the median, the other figures are those of the median run.`,
      `Worker memory: \`node dist/main.js serve --role worker\` in its own process, against a fresh API server, deploying ${largest} objects and re-syncing them, RSS sampled every 50 ms.`,
    ],
    targets,
    data: { sizes: bySize, growth, workerMemory: worker },
  });
}
