/**
 * Benchmark 2, merge to deployed: a commit is pushed to a local bare repository and its webhook
 * sent; the clock runs until the objects are applied and healthy on the Kubernetes API test
 * server and the success status has reached the forge stand-in. Repeated, with the time per
 * phase taken from each sync's record.
 */
import { startFlow, type Flow } from '../test/support/flow.js';
import type { PhaseName } from '../src/model/records.js';
import { phaseTimes } from './apply.js';
import { appFiles } from './manifests.js';
import { benchResult, round, summarize, withScope, type BenchContext, type BenchResult, type Summary, type TargetCheck } from './lib.js';

/** Objects in the app every merge benchmark deploys (the test server's and the real control plane's). */
export const MERGE_OBJECTS = 20;

/** One merge, timed. */
export interface MergeRun {
  /** The git client's commit and push, before the forge would send its webhook (not counted). */
  gitPushMs: number;
  /** Webhook sent → 202. */
  webhookMs: number;
  /** Webhook sent → success status stored by the forge stand-in: the figure. */
  totalMs: number;
  /** 202 → the worker started the sync. */
  queueMs: number;
  /** Per phase, from the sync record. */
  phases: Partial<Record<PhaseName, number>>;
  /** The sync finished → the success status reached the forge. */
  statusMs: number;
}

/** What {@link measureMerges} needs of a running Landfall: the flow on the test server or on a real control plane. */
export interface MergeSubject {
  flow: Pick<Flow, 'repo' | 'api' | 'history' | 'push'>;
  /** `cm-0`'s data as the cluster holds it now. */
  liveData(): Promise<Record<string, string> | undefined>;
}

/** How many merges {@link measureMerges} makes, and of what. */
export interface MergeOptions {
  objects: number;
  runs: number;
  /** Merges made first and not counted. */
  warmup: number;
  /** The longest a merge may take to reach `success`. */
  timeoutMs: number;
  /** Prefix of progress lines. */
  label: string;
}

/**
 * Deploys an app of `objects` objects, then merges `warmup + runs` commits one after another, each
 * changing `cm-0` and `deploy-0`'s pod template: pushes it, sends the webhook, and waits for the
 * forge to hold the `success` status; each run checks the change is live and the sync record
 * deployed that commit.
 */
export async function measureMerges(ctx: BenchContext, subject: MergeSubject, options: MergeOptions): Promise<MergeRun[]> {
  const { flow } = subject;
  const { objects, runs, warmup, timeoutMs, label } = options;
  const first = await flow.repo.commit(appFiles('deploy', objects, { change: 'initial' }), 'initial');
  await flow.push(first);
  await flow.api.waitFor((api) => api.statuses.latest(first, 'landfall/web')?.state === 'success', timeoutMs);

  const measured: MergeRun[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const g0 = Date.now();
    const sha = await flow.repo.commit(appFiles('deploy', objects, { change: `merge-${i}` }), `merge ${i}`);
    const t0 = Date.now();
    const gitPushMs = t0 - g0;
    const jobId = await flow.push(sha);
    const acked = Date.now();
    await flow.api.waitFor((api) => {
      const state = api.statuses.latest(sha, 'landfall/web')?.state;
      if (state === 'failure' || state === 'error') throw new Error(`merge ${i} ended ${state}`);
      return state === 'success';
    }, timeoutMs);
    const t1 = Date.now();
    // The change is live: the ConfigMap carries it (and the Deployment rolled out, or health would not pass).
    const data = await subject.liveData();
    if (data?.change !== `merge-${i}`) throw new Error(`merge ${i}: cm-0 shows ${JSON.stringify(data)}`);
    const record = await flow.history.get(jobId);
    if (!record || record.result !== 'succeeded' || record.sha !== sha) throw new Error(`merge ${i}: record ${jobId} is ${record?.result} for ${record?.sha}`);
    if (i < warmup) continue;
    measured.push({
      gitPushMs,
      webhookMs: acked - t0,
      totalMs: t1 - t0,
      queueMs: (record.startedAt ?? acked) - acked,
      phases: phaseTimes(record),
      statusMs: t1 - (record.finishedAt ?? t1),
    });
    if ((i - warmup + 1) % 10 === 0) ctx.log(`${label}: ${i - warmup + 1}/${runs}`);
  }
  if (flow.api.unexpected.length > 0) throw new Error(`the forge stand-in saw unexpected requests: ${flow.api.unexpected.map((u) => u.reason).join('; ')}`);
  return measured;
}

/** The figures of a set of merges: the total, and each step from the webhook to the status. */
export interface MergeFigures {
  totalMs: Summary;
  breakdown: Record<string, Summary>;
  gitPushMs: Summary;
}

/** Summarizes merges as BENCHMARKS.md shows them. */
export function mergeFigures(measured: MergeRun[]): MergeFigures {
  const phaseNames = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune'] as const;
  const breakdown: Record<string, Summary> = {
    'webhook → 202': summarize(measured.map((r) => r.webhookMs)),
    'queued (202 → sync starts)': summarize(measured.map((r) => r.queueMs)),
  };
  for (const name of phaseNames) breakdown[name] = summarize(measured.map((r) => r.phases[name] ?? 0));
  breakdown['status reaches the forge'] = summarize(measured.map((r) => r.statusMs));
  return { totalMs: summarize(measured.map((r) => r.totalMs)), breakdown, gitPushMs: summarize(measured.map((r) => r.gitPushMs)) };
}

/** Runs benchmark 2. */
export async function runMerge(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now();
  const runs = ctx.quick ? 5 : 50;
  const warmup = ctx.quick ? 1 : 3;
  return withScope(async (scope) => {
    ctx.log(`merge: ${runs} merges of a ${MERGE_OBJECTS}-object app (+${warmup} warm-up)`);
    const flow = await startFlow(scope, 'github');
    const liveData = () =>
      Promise.resolve(
        (flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'cm-0' }) as { data?: Record<string, string> } | undefined)?.data,
      );
    const measured = await measureMerges(ctx, { flow, liveData }, { objects: MERGE_OBJECTS, runs, warmup, timeoutMs: 30_000, label: 'merge' });
    const { totalMs: total, breakdown, gitPushMs } = mergeFigures(measured);
    const slowest = Object.entries(breakdown)
      .sort((a, b) => b[1].p50 - a[1].p50)
      .slice(0, 3);
    const targets: TargetCheck[] = [
      {
        name: `Merge to deployed, ${MERGE_OBJECTS} objects, p50`,
        target: '< 500 ms',
        measured: `${total.p50} ms (p95 ${total.p95} ms, n = ${total.n})`,
        met: total.p50 < 500,
        ...(total.p50 < 500
          ? {}
          : { note: `missed by ${total.p50 - 500} ms; largest phases (p50): ${slowest.map(([k, s]) => `${k} ${s.p50} ms`).join(', ')}` }),
      },
    ];
    return benchResult(ctx, 'merge', 'Merge to deployed', started, {
      method: [
        `An app of ${MERGE_OBJECTS} objects (12 ConfigMaps, 4 Deployments, 4 Services) in plain YAML. Each run commits a change to one ConfigMap and one Deployment's pod template in a working clone and pushes it to a local bare repository (file://), then sends the signed GitHub push webhook.`,
        'The clock starts when the webhook is sent (after the git push: a forge sends its webhook once the push is stored) and stops when the forge stand-in stores the `success` status for that commit. Each run then checks that the ConfigMap in the Kubernetes API test server carries the change and the sync record deployed that commit.',
        "Everything runs in one process, as the test suite's flows do (test/support/flow.ts): the web role on a real socket, the worker role (concurrency 4) with its status dispatcher and status worker, the GitHub API stand-in, and the Kubernetes API test server, whose rollouts complete at once. Redis on 127.0.0.1.",
        `${warmup} warm-up merges are not counted. Phase times come from each sync's record; "queued" is from the 202 to the worker starting the sync; "status reaches the forge" from the sync's end to the status being stored by the stand-in.`,
      ],
      targets,
      data: {
        objects: MERGE_OBJECTS,
        runs: measured.length,
        totalMs: total,
        breakdown,
        gitPushMs,
        raw: measured.map((r) => ({ ...r, totalMs: round(r.totalMs, 0) })),
      },
    });
  });
}
