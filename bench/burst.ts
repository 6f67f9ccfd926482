/**
 * Benchmark 3, burst: hundreds of pushes across ten apps within one second. How long until every
 * app runs its newest commit, how many syncs each app needed, and whether any commit was ever
 * deployed after a newer one.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SyncRecord } from '../src/model/records.js';
import { startMultiFlow, type FlowApp, type MultiFlow } from './flow.js';
import { appFiles } from './manifests.js';
import {
  benchResult,
  machineBusySeconds,
  procCpuSeconds,
  redisCpuSeconds,
  round,
  sleep,
  summarize,
  tempDir,
  until,
  withScope,
  type BenchContext,
  type BenchResult,
  type TargetCheck,
} from './lib.js';
import { monotonicUs, summarizeProfile } from './profile.js';

const OBJECTS_PER_APP = 10;

/**
 * Makes `count` commits on top of `base` in a bare repository in one `git fast-import`, each
 * changing the app's manifests to carry `seq-<k>`, under `refs/bench/burst` (not the tracked
 * branch). Returns their shas, oldest first. One process per repository instead of a commit and
 * a push per commit: the burst itself must not wait for commits to be made.
 */
async function prepareCommits(bare: string, base: string, count: number, marksFile: string): Promise<string[]> {
  const chunks: Buffer[] = [];
  const data = (text: string) => {
    const bytes = Buffer.from(text);
    chunks.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
  };
  for (let k = 0; k < count; k++) {
    chunks.push(Buffer.from(`commit refs/bench/burst\nmark :${k + 1}\ncommitter Bench <bench@example.com> ${1_700_000_000 + k} +0000\n`));
    data(`burst ${k}`);
    if (k === 0) chunks.push(Buffer.from(`from ${base}\n`));
    for (const [path, content] of Object.entries(appFiles('deploy', OBJECTS_PER_APP, { change: `seq-${k}` }))) {
      chunks.push(Buffer.from(`M 100644 inline ${path}\n`));
      data(content);
    }
    chunks.push(Buffer.from('\n'));
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['--git-dir', bare, 'fast-import', '--quiet', `--export-marks=${marksFile}`], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed (${code}): ${stderr}`))));
    child.stdin.end(Buffer.concat(chunks));
  });
  const marks = new Map<number, string>();
  for (const line of (await readFile(marksFile, 'utf8')).split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line.trim());
    if (m) marks.set(Number(m[1]), m[2] as string);
  }
  return Array.from({ length: count }, (_, k) => {
    const sha = marks.get(k + 1);
    if (!sha) throw new Error(`fast-import gave no commit for mark ${k + 1}`);
    return sha;
  });
}

/** One push of the burst: move `ref` to `sha` at `atMs`, then send the webhook. */
interface BurstPush {
  ref: string;
  sha: string;
  atMs: number;
  body: string;
  headers: Record<string, string>;
}

/** What the sender reports: when it started, and each webhook's answer and latency (ms). */
interface BurstSent {
  t0: number;
  sentMs: number;
  ackedMs: number;
  statuses: number[];
  latencies: number[];
}

/** The burst sender's code, run as a worker thread (plain JavaScript: it is evaluated, not imported). */
const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeFileSync, renameSync } = require('node:fs');
(async () => {
  const { url, pushes } = workerData;
  const t0 = Date.now();
  const answers = [];
  for (const p of pushes) {
    const wait = t0 + p.atMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // git's own protocol for a loose ref: write <ref>.lock, then rename it into place.
    writeFileSync(p.ref + '.lock', p.sha + '\\n', { flag: 'wx' });
    renameSync(p.ref + '.lock', p.ref);
    const sentAt = Date.now();
    answers.push(fetch(url, { method: 'POST', body: p.body, headers: p.headers }).then(async (r) => { await r.arrayBuffer(); return [r.status, Date.now() - sentAt]; }, () => [0, Date.now() - sentAt]));
  }
  const sentMs = Date.now() - t0;
  const results = await Promise.all(answers);
  parentPort.postMessage({ t0, sentMs, ackedMs: Date.now() - t0, statuses: results.map((r) => r[0]), latencies: results.map((r) => r[1]) });
})();
`;

/** Sends the burst from a worker thread; resolves with when it started and every answer's status. */
function sendBurst(url: string, pushes: BurstPush[]): Promise<BurstSent> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SENDER, { eval: true, workerData: { url, pushes } });
    worker.once('message', (result: BurstSent) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function seqOf(value: unknown): number {
  const m = /^seq-(\d+)$/.exec(typeof value === 'string' ? value : '');
  return m ? Number(m[1]) : -1;
}

/** Runs benchmark 3. */
export async function runBurst(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now();
  const appCount = 10;
  const perApp = ctx.quick ? 10 : 50;
  const windowMs = 1_000;
  // --profile (or LANDFALL_BENCH_PROFILE_DIR=<dir>, which also keeps the files there): profile the
  // worker process (node --cpu-prof) and add where its CPU went during the burst to the result.
  // Off by default: the profiler slows it down.
  let profileDir = process.env.LANDFALL_BENCH_PROFILE_DIR;
  let window: { fromUs: number; toUs: number } | undefined;
  const result = await withScope(async (scope): Promise<BenchResult> => {
    const dir = await tempDir(scope, 'burst');
    if (ctx.profile && !profileDir) profileDir = await mkdtemp(join(tmpdir(), 'landfall-bench-burst-prof-'));
    ctx.log(`burst: ${appCount * perApp} pushes across ${appCount} apps within ${windowMs} ms`);
    const flow = await startMultiFlow(scope, appCount, profileDir);

    // Every app deployed once, so the burst measures updates, not first deploys.
    const bases = await Promise.all(flow.apps.map((app) => app.repo.commit(appFiles('deploy', OBJECTS_PER_APP, { change: 'initial' }), 'initial')));
    for (const [i, app] of flow.apps.entries()) {
      flow.api.seedCommit(bases[i] as string);
      if ((await flow.push(app, bases[i] as string)) !== 202) throw new Error(`initial push of ${app.name} was refused`);
    }
    await flow.api.waitFor((api) => flow.apps.every((app, i) => api.statuses.latest(bases[i] as string, `landfall/${app.name}`)?.state === 'success'), 60_000);
    await flow.idle(30_000);

    const commits = await Promise.all(flow.apps.map((app, i) => prepareCommits(app.repo.bare, bases[i] as string, perApp, join(dir, `${app.name}.marks`))));
    for (const list of commits) for (const sha of list) flow.api.seedCommit(sha);
    flow.kube.clearRequests();

    // The burst: push k of every app, then push k+1 of every app, …, evenly over one second.
    // Each push moves the branch, then its webhook goes out without waiting for earlier answers.
    // A worker thread sends them, so the schedule keeps time however busy the two stand-ins
    // (which run on this thread's event loop) are kept by Landfall.
    const total = appCount * perApp;
    const plan: BurstPush[] = [];
    for (let j = 0; j < total; j++) {
      const k = Math.floor(j / appCount);
      const app = flow.apps[j % appCount] as FlowApp;
      const sha = (commits[j % appCount] as string[])[k] as string;
      plan.push({ ref: flow.branchRef(app), sha, atMs: (j * windowMs) / total, ...(await flow.signedPush(app, sha)) });
    }
    const cpuNow = async () => ({
      web: await procCpuSeconds(flow.web.pid),
      worker: await procCpuSeconds(flow.worker.pid),
      workerAndChildren: await procCpuSeconds(flow.worker.pid, true),
      redis: await redisCpuSeconds(flow.redis),
      bench: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage()),
      machine: await machineBusySeconds(),
    });
    const cpu0 = await cpuNow();
    const fromUs = monotonicUs();
    const sent = await sendBurst(flow.hookUrl, plan);
    const { t0, sentMs, ackedMs } = sent;
    const refused = sent.statuses.filter((s) => s !== 202).length;
    if (refused > 0) throw new Error(`${refused} of ${total} pushes were not answered 202: ${[...new Set(sent.statuses)].join(', ')}`);

    // Settled: every app's newest commit is live in the cluster and recorded as deployed.
    const settledAt = new Map<string, number>();
    await until(
      'every app to run its newest commit',
      async () => {
        for (const [i, app] of flow.apps.entries()) {
          if (settledAt.has(app.name)) continue;
          const newest = (commits[i] as string[]).at(-1) as string;
          const cm = flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app.namespace, name: 'cm-0' }) as
            { data?: Record<string, string> } | undefined;
          if (seqOf(cm?.data?.change) !== perApp - 1) continue;
          if ((await flow.history.appState(app.name)).deployedSha === newest) settledAt.set(app.name, Date.now() - t0);
        }
        return settledAt.size === flow.apps.length;
      },
      60_000,
      5,
    );
    const settledMs = Math.max(...settledAt.values());
    await flow.api.waitFor(
      (api) => flow.apps.every((app, i) => api.statuses.latest((commits[i] as string[]).at(-1) as string, `landfall/${app.name}`)?.state === 'success'),
      30_000,
    );
    const statusesMs = Date.now() - t0;
    window = { fromUs, toUs: monotonicUs() };
    const cpu1 = await cpuNow();
    const worker = cpu1.worker - cpu0.worker;
    // The worker's finished children: git (and kubectl or helm for apps that render with them).
    const git = cpu1.workerAndChildren - cpu0.workerAndChildren - worker;
    const ours = cpu1.web - cpu0.web + worker + git + (cpu1.redis - cpu0.redis) + (cpu1.bench - cpu0.bench);
    const cpu = {
      webSeconds: round(cpu1.web - cpu0.web, 2),
      workerSeconds: round(worker, 2),
      gitSeconds: round(git, 2),
      redisSeconds: round(cpu1.redis - cpu0.redis, 2),
      benchSeconds: round(cpu1.bench - cpu0.bench, 2),
      otherSeconds: round(Math.max(0, cpu1.machine - cpu0.machine - ours), 2),
    };
    await flow.idle(30_000);
    await sleep(300);

    // The web process's own view of each delivery: its log line's handling time.
    const handled = (await flow.web.output())
      .split('\n')
      .filter((l) => l.includes('"webhook handled"'))
      .map((l) => Number((JSON.parse(l) as { ms?: number }).ms ?? Number.NaN))
      .filter((ms) => Number.isFinite(ms));
    const perAppFigures = await Promise.all(flow.apps.map((app, i) => appFigures(flow, app, commits[i] as string[], t0)));
    const syncsPerApp = perAppFigures.map((f) => f.syncs);
    const maxSyncs = Math.max(...syncsPerApp);
    const outOfOrder = perAppFigures.filter((f) => !f.inOrder);
    const targets: TargetCheck[] = [
      {
        name: `Burst of ${total} pushes settles`,
        target: '< 5 s',
        measured: `${round(settledMs / 1000, 2)} s after the first push (pushes sent over ${round(sentMs / 1000, 2)} s)`,
        met: settledMs < 5_000,
        ...(settledMs < 5_000 ? {} : { note: `missed by ${round((settledMs - 5_000) / 1000, 2)} s` }),
      },
      {
        name: 'Syncs per app in the burst',
        target: '≤ 2',
        measured: `at most ${maxSyncs} (${syncsPerApp.join(', ')})`,
        met: maxSyncs <= 2,
      },
      {
        name: 'No commit deployed after a newer one',
        target: 'none',
        measured: outOfOrder.length === 0 ? 'none' : `${outOfOrder.length} app(s): ${outOfOrder.map((f) => `${f.app} ${f.appliedSeqs.join('→')}`).join('; ')}`,
        met: outOfOrder.length === 0,
      },
    ];
    return benchResult(ctx, 'burst', 'Burst coalescing', started, {
      method: [
        `${appCount} apps of ${OBJECTS_PER_APP} objects (6 ConfigMaps, 2 Deployments, 2 Services), each in its own local bare repository and namespace, all deployed once before the burst. ${perApp} commits per app are made beforehand (one \`git fast-import\` per repository, on a side ref).`,
        `The burst: ${total} pushes evenly over ${windowMs} ms, round-robin over the apps (commit 0 of every app, then commit 1, …). Each push moves the app's \`main\` to its commit the way the end of \`git push\` does (\`<ref>.lock\` written, renamed into place) and then sends the signed GitHub webhook without waiting for earlier answers.`,
        "Settled: every app's newest commit is in the cluster (the Kubernetes API test server's ConfigMap carries it) and recorded as the app's deployed commit (so its health check passed). Syncs per app: sync records started after the burst began that got past the resolve phase. Order: the sequence of non-dry-run applies of the changed ConfigMap, per app, from the API server's request log, must only move forward.",
        "Laid out as in production: `dist/main.js serve --role web` and `--role worker` (Landfall's defaults: concurrency 4, 30 s lock timeout; the drift interval pushed out to an hour so no scheduled reconcile adds a sync) in two processes; this process runs the GitHub API stand-in (every queued, running, superseded and success status is really posted to it), the Kubernetes API test server (rollouts complete at once) and the sender; Redis on 127.0.0.1. CPU seconds per process are from the burst's start to the last success status.",
      ],
      targets,
      data: {
        apps: appCount,
        pushesPerApp: perApp,
        pushes: total,
        sentMs,
        ackedMs,
        webhookLatencyMs: summarize(sent.latencies),
        webhookHandlingMs: summarize(handled.slice(-total).map((ms) => round(ms, 2))),
        latencyByTenth: Array.from({ length: 10 }, (_, i) => summarize(sent.latencies.slice((i * total) / 10, ((i + 1) * total) / 10)).p50),
        settledMs,
        statusesSettledMs: statusesMs,
        settledPerApp: Object.fromEntries(settledAt),
        cpu,
        statusesPosted: flow.api.statuses.all().filter((st) => Date.parse(st.createdAt) >= t0).length,
        syncsPerApp,
        settleTimes: summarize([...settledAt.values()]),
        perApp: perAppFigures,
      },
    });
  });
  // The worker has exited by now (the scope stopped it), so its profile is written.
  if (profileDir && window) result.data.workerProfile = await summarizeProfile(profileDir, 20, window).catch((err: Error) => ({ error: err.message }));
  if (profileDir && profileDir !== process.env.LANDFALL_BENCH_PROFILE_DIR) await rm(profileDir, { recursive: true, force: true });
  return result;
}

/** Syncs of one app since the burst began, and whether its deploys only moved forward. */
async function appFigures(flow: MultiFlow, app: FlowApp, shas: string[], since: number) {
  const records = (await flow.history.list(app.name, 100)).filter((r: SyncRecord) => (r.startedAt ?? 0) >= since).reverse();
  const pastResolve = records.filter((r) => r.phases.some((p) => p.name !== 'resolve'));
  const applied = flow.kube.requests
    .filter((r) => r.method === 'PATCH' && !r.query.dryRun && r.path === `/api/v1/namespaces/${app.namespace}/configmaps/cm-0`)
    .map((r) => seqOf((r.parsed as { data?: Record<string, string> } | undefined)?.data?.change));
  const deployedSeqs = pastResolve.filter((r) => r.result === 'succeeded').map((r) => shas.indexOf(r.sha ?? ''));
  const increasing = (list: number[]) => list.every((v, i) => i === 0 || v > (list[i - 1] as number));
  return {
    app: app.name,
    syncs: pastResolve.length,
    records: records.length,
    results: records.map((r) => `${r.result}${r.phases.some((p) => p.name !== 'resolve') ? '' : ' (resolve only)'}`),
    appliedSeqs: applied,
    deployedSeqs,
    inOrder: increasing(applied) && increasing(deployedSeqs),
  };
}
