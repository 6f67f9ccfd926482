/**
 * Benchmark 5, memory: the peak RSS of the web process under benchmark 1 and of a worker process
 * deploying the largest app of benchmark 4 (both sampled there), and what the figure is made of:
 * how much RSS each dependency adds when it is imported into a fresh Node process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { benchResult, formatBytes, ROOT, type BenchContext, type BenchResult, type ProcMemory, type RssSamples, type TargetCheck } from './lib.js';

const exec = promisify(execFile);

/** The web role's peak RSS target. */
const WEB_RSS_TARGET = 150 * 1024 * 1024;

/** RSS after importing each module in turn into one fresh Node process. */
export interface Footprint {
  role: string;
  steps: { module: string; rss: number; added: number; heapUsed: number }[];
}

/**
 * Imports `modules` one after another into a fresh `node` and records RSS after each: what a
 * role's resident size is made of before it does any work. Paths are relative to the root.
 */
async function footprint(role: string, modules: string[]): Promise<Footprint> {
  const specifiers = modules.map((m) => (m.startsWith('./') ? pathToFileURL(join(ROOT, m)).href : m));
  const code = `
const steps = [];
const take = (module) => { const u = process.memoryUsage(); steps.push({ module, rss: u.rss, heapUsed: u.heapUsed }); };
take('node');
for (const m of ${JSON.stringify(specifiers)}) { await import(m); take(m); }
process.stdout.write(JSON.stringify(steps));
`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, timeout: 60_000 });
  const raw = JSON.parse(stdout) as { module: string; rss: number; heapUsed: number }[];
  return {
    role,
    steps: raw.map((s, i) => ({
      module: s.module.startsWith('file:') ? `./${s.module.slice(pathToFileURL(ROOT).href.length).replace(/^\//, '')}` : s.module,
      rss: s.rss,
      added: i === 0 ? s.rss : s.rss - (raw[i - 1] as { rss: number }).rss,
      heapUsed: s.heapUsed,
    })),
  };
}

/** The web and worker memory figures sampled by benchmarks 1 and 4. */
/** The web process under the same load with Node's default heap sizing (see intake.ts). */
interface HeapTuning extends RssSamples {
  /** The flags of this comparison run (none: Node's defaults). */
  flags: string[];
  /** The flags the measured (deployed) web process ran with. */
  deployedFlags?: string[];
  rps: number;
  cpuUsPerDelivery: number;
  liveAfterFullGc: number;
  maxCommittedHeap: number;
  fullGcs: number;
}

interface Sampled {
  web?: { idle: ProcMemory; heapTuning?: HeapTuning } & RssSamples;
  worker?: { objects: number; idle: ProcMemory; firstDeployMs: number; resyncMs: number } & RssSamples;
}

/** What the default-heap run says about the web process's peak, in words. */
function tuningNote(web: NonNullable<Sampled['web']>): string {
  const t = web.heapTuning;
  if (!t) return '';
  const peak = Math.max(t.hwm, t.maxRss);
  const flags = t.deployedFlags?.length ? `\`${t.deployedFlags.join(' ')}\` (the chart's \`web.nodeOptions\`)` : 'no V8 flags';
  return ` The measured process ran with ${flags}. With Node's default heap sizing the same load peaked at ${formatBytes(peak)}, serving ${t.rps} deliveries/s at ${t.cpuUsPerDelivery} µs of CPU each (in the same interleaved rounds of benchmark 1); the difference is V8 heap headroom, not live data: the live heap after a full GC is ${formatBytes(t.liveAfterFullGc)} (${t.fullGcs} full GCs traced), while V8 lets garbage build up to a ${formatBytes(t.maxCommittedHeap)} heap between collections.`;
}

/** Builds benchmark 5 from the intake and apply results, and measures the import footprints. */
export async function runMemory(ctx: BenchContext, intake: BenchResult | undefined, apply: BenchResult | undefined): Promise<BenchResult> {
  const started = Date.now();
  ctx.log('memory: import footprints');
  const sampled: Sampled = {
    ...(intake?.data.webMemory ? { web: intake.data.webMemory as Sampled['web'] } : {}),
    ...(apply?.data.workerMemory ? { worker: apply.data.workerMemory as Sampled['worker'] } : {}),
  };
  const footprints = [
    await footprint('web', [
      'fastify',
      'ioredis',
      'bullmq',
      'zod',
      'pino',
      'prom-client',
      'yaml',
      '@bull-board/api',
      '@bull-board/fastify',
      './dist/runtime/web-role.js',
      './dist/runtime/serve.js',
    ]),
    await footprint('worker', ['@kubernetes/client-node', './dist/runtime/worker-role.js']),
  ];
  const web = sampled.web;
  const peak = web ? Math.max(web.hwm, web.maxRss) : Number.NaN;
  const webSteps = footprints[0]?.steps ?? [];
  const loaded = webSteps.at(-1)?.rss ?? Number.NaN;
  const heaviest = [...webSteps]
    .sort((a, b) => b.added - a.added)
    .slice(0, 4)
    .map((s) => `${s.module} ${formatBytes(s.added)}`)
    .join(', ');
  const targets: TargetCheck[] = [
    web
      ? {
          name: 'Web process peak RSS under benchmark 1',
          target: '< 150 MB',
          measured: `${formatBytes(peak)} (idle after start ${formatBytes(web.idle.rss)})`,
          met: peak < WEB_RSS_TARGET,
          note: `${peak < WEB_RSS_TARGET ? `met with ${formatBytes(WEB_RSS_TARGET - peak)} to spare` : `missed by ${formatBytes(peak - WEB_RSS_TARGET)}`}. Importing the web role's modules alone takes a fresh node to ${formatBytes(loaded)} (largest: ${heaviest}); at the peak ${formatBytes(web.maxRssAnon)} was anonymous memory and ${formatBytes(web.maxRssFile)} file-backed (the node binary and libraries).${tuningNote(web)}`,
        }
      : { name: 'Web process peak RSS under benchmark 1', target: '< 150 MB', measured: 'not run', met: null, note: 'the intake benchmark did not run' },
  ];
  return benchResult(ctx, 'memory', 'Memory', started, {
    method: [
      "Web: `node dist/main.js serve --role web`, the process benchmark 1 measured, its /proc/<pid>/status read every 50 ms from start to the end of the fixed-rate runs; the peak is the larger of the sampled VmRSS and the kernel's VmHWM.",
      `Worker: \`node dist/main.js serve --role worker\` deploying an app of ${sampled.worker?.objects ?? 'n/a'} objects and re-syncing it (benchmark 4), sampled the same way.`,
      'Footprint: a fresh `node` imports each module in turn and reports `process.memoryUsage().rss` after each: what the process holds before it does any work.',
    ],
    targets,
    data: { ...sampled, footprints },
  });
}
