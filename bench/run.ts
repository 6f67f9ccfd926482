/**
 * `npm run bench [-- --quick] [-- --out DIR] [-- --only a,b] [-- --report-only] [-- --profile]`
 *
 * Runs every benchmark one after another (never two at once: they would measure each other),
 * writes each raw result to `<out>/results/<name>.json` and regenerates `<out>/BENCHMARKS.md`.
 * `<out>` is the repository root (so `bench/results/` and `BENCHMARKS.md`) unless `--out` says
 * otherwise; `--quick` runs each benchmark for a few seconds as a smoke test and should be
 * pointed elsewhere with `--out`, so the published figures are never overwritten by a smoke run.
 * `--profile` adds CPU profiles and GC traces of the processes measured (profile.ts): where the
 * time goes, at the cost of a slower run. A full `real` run keeps the run it replaces as
 * `real-previous.json`, and the report sets the two side by side.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { runApply } from './apply.js';
import { runBurst } from './burst.js';
import { runFloodBench } from './flood.js';
import { runIntake } from './intake.js';
import { machineInfo, REDIS_URL, ROOT, waitForQuiet, type BenchContext, type BenchResult, type MachineInfo } from './lib.js';
import { runMemory } from './memory.js';
import { runMerge } from './merge.js';
import { runReal } from './real.js';
import { renderReport } from './report.js';

/**
 * Every benchmark, in the order they appear. `memory` is built from intake and apply (so it is
 * written after the others); `real` runs on a real control plane, apart from the test server's.
 */
export const BENCHMARKS = ['intake', 'merge', 'burst', 'apply', 'memory', 'flood', 'real'] as const;

/** A benchmark's name. */
export type BenchName = (typeof BENCHMARKS)[number];

const RUNNERS: Record<Exclude<BenchName, 'memory'>, (ctx: BenchContext) => Promise<BenchResult>> = {
  intake: runIntake,
  merge: runMerge,
  burst: runBurst,
  apply: runApply,
  flood: runFloodBench,
  real: runReal,
};

/** Parsed command-line options. */
export interface RunOptions {
  quick: boolean;
  out: string;
  only?: BenchName[];
  reportOnly: boolean;
  profile: boolean;
}

/** Reads the command line (`--quick`, `--out DIR`, `--only a,b`, `--report-only`, `--profile`); `LANDFALL_BENCH_OUT` is `--out`. */
export function parseArgs(argv: readonly string[]): RunOptions {
  const options: RunOptions = { quick: false, out: process.env.LANDFALL_BENCH_OUT ?? ROOT, reportOnly: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--report-only') options.reportOnly = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--out') options.out = argv[++i] ?? '';
    else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names)
        if (!(BENCHMARKS as readonly string[]).includes(n)) throw new Error(`unknown benchmark "${n}"; choose from ${BENCHMARKS.join(', ')}`);
      options.only = names as BenchName[];
    } else throw new Error(`unknown option "${arg}"; use --quick, --out DIR, --only a,b, --report-only, --profile`);
  }
  if (!options.out) throw new Error('--out needs a directory');
  options.out = resolve(options.out);
  return options;
}

async function readResult(dir: string, name: string): Promise<BenchResult | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as BenchResult;
  } catch {
    return undefined;
  }
}

/**
 * Before a full run's result replaces `<name>.json`, keeps the one it replaces as
 * `<name>-previous.json` when that was a full run too (not quick, not skipped): the report shows
 * the two side by side.
 */
async function keepPrevious(dir: string, name: string): Promise<void> {
  const previous = await readResult(dir, name);
  if (!previous || previous.quick || previous.data.skipped) return;
  await writeFile(join(dir, `${name}-previous.json`), `${JSON.stringify(previous, null, 2)}\n`);
}

/** Runs the selected benchmarks and writes their results and the report. */
export async function main(argv: readonly string[]): Promise<void> {
  const options = parseArgs(argv);
  const resultsDir = join(options.out, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  const ctx: BenchContext = { quick: options.quick, profile: options.profile, log };
  const selected = options.only ?? [...BENCHMARKS];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const startedAt = Date.now();
  try {
    const machine: MachineInfo = await machineInfo(redis);
    // The machine record belongs to a whole run: --only keeps the one of the run it adds to.
    const keepMachine = options.only !== undefined && (await readResult(resultsDir, 'machine')) !== undefined;
    if (!options.reportOnly) {
      if (!keepMachine)
        await writeFile(
          join(resultsDir, 'machine.json'),
          `${JSON.stringify({ ...machine, quick: options.quick, startedAt: new Date(startedAt).toISOString() }, null, 2)}\n`,
        );
      for (const name of selected) {
        if (name === 'memory') continue;
        // A shared machine: start each benchmark in a quiet moment if one comes (bounded).
        const busyBefore = options.quick ? undefined : await waitForQuiet(30_000);
        log(`${name}: start${options.quick ? ' (quick)' : ` (machine busy ${busyBefore} cores just before)`}`);
        const result = await RUNNERS[name](ctx);
        if (busyBefore !== undefined) result.data.machineBusyCoresBefore = busyBefore;
        if (name === 'real' && !result.quick && !result.data.skipped) await keepPrevious(resultsDir, name);
        await writeFile(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
        log(`${name}: done in ${Math.round(result.durationMs / 100) / 10} s`);
      }
      if (selected.includes('memory')) {
        // Built from what intake and apply sampled (this run's, or the stored ones with --only memory).
        const memory = await runMemory(ctx, await readResult(resultsDir, 'intake'), await readResult(resultsDir, 'apply'));
        await writeFile(join(resultsDir, 'memory.json'), `${JSON.stringify(memory, null, 2)}\n`);
      }
    }
    const results: Partial<Record<BenchName, BenchResult>> = {};
    for (const name of BENCHMARKS) {
      const result = await readResult(resultsDir, name);
      if (result) results[name] = result;
    }
    const storedMachine = (await readResult(resultsDir, 'machine')) as unknown as MachineInfo | undefined;
    const previousReal = await readResult(resultsDir, 'real-previous');
    const report = renderReport({ machine: storedMachine ?? machine, results, ...(previousReal ? { previous: { real: previousReal } } : {}) });
    await writeFile(join(options.out, 'BENCHMARKS.md'), report);
    log(`wrote ${join(options.out, 'BENCHMARKS.md')} and ${resultsDir}/*.json in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
