// `npm run bench -- --quick`, as CI runs it: every benchmark runs for a few seconds and writes a
// valid raw result, and BENCHMARKS.md is generated with every section. It checks that the
// benchmarks run, never how fast: figures on a shared CI machine mean nothing. The results go to
// a temp directory (`--out`), so the committed bench/results/*.json and BENCHMARKS.md are never
// touched. The real control plane benchmark runs when `npm run cluster -- up` left one running for
// this checkout; otherwise it records why it skipped, and the report says so.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SECTIONS } from '../../bench/report.js';
import { ROOT } from '../support/process.js';

const BENCHMARKS = ['intake', 'merge', 'burst', 'apply', 'memory', 'flood', 'real'];

// With a real control plane up, its quick run adds about a minute (.taprc gives a file 180 s).
t.setTimeout(400_000);

/** Runs the bench entry point with `args`, killed (with everything it started) after `timeoutMs`. */
function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group, so a timeout takes down the Landfall processes it started too.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      output += `\n[smoke test: killed after ${timeoutMs} ms]\n`;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

t.test('npm run bench -- --quick runs every benchmark and writes results and the report', { timeout: 380_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'landfall-bench-smoke-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const committed = await stat(join(ROOT, 'BENCHMARKS.md')).then(
    (s) => s.mtimeMs,
    () => undefined,
  );

  const run = await runBench(['--quick', '--out', out], 350_000);
  t.equal(run.code, 0, `the quick run exits 0 (after ${run.ms} ms)${run.code === 0 ? '' : `:\n${run.output.slice(-4000)}`}`);
  t.comment(`quick run took ${Math.round(run.ms / 1000)} s`);

  for (const name of BENCHMARKS) {
    const text = await readFile(join(out, 'bench', 'results', `${name}.json`), 'utf8').catch(() => '');
    t.ok(text, `${name}.json was written`);
    if (!text) continue;
    const result = JSON.parse(text) as { name: string; quick: boolean; method: string[]; targets: unknown[]; data: unknown; durationMs: number };
    t.equal(result.name, name);
    t.equal(result.quick, true, 'marked as a quick run');
    t.ok(result.method.length > 0, `${name} says how it was measured`);
    t.ok(result.targets.length > 0, `${name} judges its targets`);
    for (const target of result.targets) t.match(target, { name: String, target: String, measured: String }, `${name}: a target with its measured figure`);
    t.type(result.data, 'object');
    t.ok(result.durationMs > 0);
  }
  const machine = JSON.parse(await readFile(join(out, 'bench', 'results', 'machine.json'), 'utf8')) as { cores: number; node: string; redis: string };
  t.ok(machine.cores > 0 && machine.node.startsWith('v') && machine.redis, 'the machine and versions are recorded');

  const report = await readFile(join(out, 'BENCHMARKS.md'), 'utf8');
  for (const heading of SECTIONS) t.ok(report.includes(`\n${heading}\n`), `BENCHMARKS.md has "${heading}"`);
  t.notOk(report.includes('_Not in this run'), 'every section has its results');
  // The real control plane part runs when one is up for this checkout; without one it says why it skipped.
  const real = JSON.parse(await readFile(join(out, 'bench', 'results', 'real.json'), 'utf8').catch(() => '{}')) as {
    data?: { skipped?: string; sizes?: unknown[] };
  };
  if (real.data?.skipped) t.match(report, `**Skipped in this run:** ${real.data.skipped}`, 'the report says why the real benchmark skipped');
  else t.match(report, /### Apply scaling against `kubectl apply --server-side`/, 'the report shows the real control plane figures');
  t.match(report, /quick mode/, 'and says the figures are a smoke test');

  const after = await stat(join(ROOT, 'BENCHMARKS.md')).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  t.equal(after, committed, 'the committed BENCHMARKS.md is left alone');
});
