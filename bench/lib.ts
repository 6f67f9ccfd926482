/**
 * Shared pieces of the benchmarks: a teardown scope for the test helpers, the result every
 * benchmark returns, statistics, machine and tool versions, child processes, /proc sampling (RSS,
 * CPU) and Redis INFO deltas. Nothing here talks to anything but 127.0.0.1. CPU profiles are
 * summarised in profile.ts, used only with `--profile`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const exec = promisify(execFile);

import { freePort, ROOT } from '../test/support/process.js';

/** The repository root and a free port on 127.0.0.1: the test suite's own. */
export { freePort, ROOT };

/** The Redis every dev and CI machine runs (the same one the tests use). */
export const REDIS_URL = process.env.LANDFALL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What every benchmark module gets from the runner. */
export interface BenchContext {
  /** A smoke run: each benchmark for a few seconds, figures not meant to be published. */
  quick: boolean;
  /** `--profile`: also take CPU profiles and GC traces of the processes measured (slower; off by default). */
  profile: boolean;
  /** Progress lines on stderr. */
  log(message: string): void;
}

/** A measured value next to its target, as BENCHMARKS.md shows it. */
export interface TargetCheck {
  /** What is measured, in words. */
  name: string;
  /** The target in words, e.g. `≥ 0.8× bare Fastify`. */
  target: string;
  /** The measured figure in words. */
  measured: string;
  /** `null` when it could not be judged (a baseline that did not run). */
  met: boolean | null;
  /** By how much it is missed and what bounds it, or why it was not judged. */
  note?: string;
}

/** One benchmark's raw result, written to `bench/results/<name>.json`. */
export interface BenchResult {
  name: string;
  title: string;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  /** How it was measured, in words (for BENCHMARKS.md). */
  method: string[];
  targets: TargetCheck[];
  /** Everything measured, as numbers and small records. */
  data: Record<string, unknown>;
}

/** A benchmark's result, timed from `started` (a `Date.now()`) to now. */
export function benchResult(
  ctx: BenchContext,
  name: string,
  title: string,
  started: number,
  body: Pick<BenchResult, 'method' | 'targets' | 'data'>,
): BenchResult {
  return { name, title, quick: ctx.quick, startedAt: new Date(started).toISOString(), durationMs: Math.max(1, Date.now() - started), ...body };
}

/**
 * The `{ teardown(fn) }` the test helpers take. Functions run in reverse order of registration
 * (what was set up last is torn down first), each even when an earlier one failed.
 */
export interface Scope {
  teardown(fn: () => unknown): void;
  close(): Promise<void>;
}

/** A new, empty teardown scope. */
export function createScope(): Scope {
  const fns: (() => unknown)[] = [];
  return {
    teardown(fn) {
      fns.push(fn);
    },
    async close() {
      while (fns.length > 0) {
        const fn = fns.pop() as () => unknown;
        try {
          await fn();
        } catch {
          // Teardown is best effort: one failure must not leave the rest running.
        }
      }
    },
  };
}

/** Runs `fn` with a fresh scope and always closes it. */
export async function withScope<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = createScope();
  try {
    return await fn(scope);
  } finally {
    await scope.close();
  }
}

/** A temp directory removed when the scope closes. */
export async function tempDir(scope: Scope, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `landfall-bench-${label}-`));
  scope.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A Redis key prefix no other run uses. */
export function benchPrefix(label: string): string {
  return `lf-bench-${label}-${randomBytes(4).toString('hex')}`;
}

/** A Redis client whose prefix's keys are deleted, and which is closed, when the scope closes. */
export function redisForBench(scope: Scope, prefix: string): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  scope.teardown(async () => {
    await deleteByPrefix(redis, prefix).catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  });
  return redis;
}

/** Deletes every key starting with `prefix:`. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Bytes Redis attributes to every key under a prefix (`MEMORY USAGE`, all samples), and how many keys. */
export async function memoryUnderPrefix(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [, value] of (await pipeline.exec()) ?? []) bytes += Number(value ?? 0);
    keys += batch.length;
  } while (cursor !== '0');
  return { bytes, keys };
}

/** `INFO <section>` as a map of numbers and strings. */
export async function redisInfo(redis: Redis, section: string): Promise<Map<string, string>> {
  const text = await redis.info(section);
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

/** Redis's `used_memory` now. */
export async function usedMemory(redis: Redis): Promise<number> {
  return Number((await redisInfo(redis, 'memory')).get('used_memory'));
}

/** Calls per command from `INFO commandstats`. */
export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const [key, value] of await redisInfo(redis, 'commandstats')) {
    const name = key.replace(/^cmdstat_/, '');
    const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    const usec = Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
    out.set(name, { calls, usec });
  }
  return out;
}

/** The commands run between two `commandStats` snapshots, most called first. */
export function commandDelta(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
): { command: string; calls: number; usec: number }[] {
  const out: { command: string; calls: number; usec: number }[] = [];
  for (const [command, a] of after) {
    const b = before.get(command) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) out.push({ command, calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return out.sort((x, y) => y.calls - x.calls);
}

/** Redis's own CPU seconds (user + system) so far. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redisInfo(redis, 'cpu');
  return Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0);
}

/** Summary statistics of a sample. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** The nearest-rank percentile `p` (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Min, p50, p95, p99, max and mean of `values`. */
export function summarize(values: readonly number[]): Summary {
  const mean = values.reduce((a, b) => a + b, 0) / (values.length || 1);
  return {
    n: values.length,
    min: values.length ? Math.min(...values) : Number.NaN,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : Number.NaN,
    mean,
  };
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds to `digits` decimals (for JSON and tables). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every `intervalMs` until it returns something truthy; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { timeout: 10_000 });
    return (stdout || stderr).trim().split('\n')[0] ?? '';
  } catch {
    return 'not found';
  }
}

async function packageVersion(name: string): Promise<string> {
  try {
    const text = await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** The machine and every version a figure depends on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  os: string;
  loadAverage: number[];
  node: string;
  redis: string;
  git: string;
  kubectl: string;
  helm: string;
  packages: Record<string, string>;
  landfall: { version: string; commit: string; dirty: boolean };
}

/** Collects {@link MachineInfo} now. */
export async function machineInfo(redis: Redis): Promise<MachineInfo> {
  const tool = (name: string) => (existsSync(join(ROOT, 'tools', name, name)) ? join(ROOT, 'tools', name, name) : name);
  const packages: Record<string, string> = {};
  for (const name of ['fastify', 'bullmq', 'ioredis', 'autocannon', '@octokit/webhooks', '@octokit/webhooks-examples', 'pino', 'typescript', 'tsx'])
    packages[name] = await packageVersion(name);
  const commit = await firstLine('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const status = await exec('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(freemem() / 2 ** 30, 1),
    os: `${osType()} ${release()}`,
    loadAverage: loadavg().map((l) => round(l, 2)),
    node: process.version,
    redis: (await redisInfo(redis, 'server')).get('redis_version') ?? 'unknown',
    git: await firstLine('git', ['--version']),
    kubectl: await firstLine(tool('kubectl'), ['version', '--client']),
    helm: await firstLine(tool('helm'), ['version', '--short']),
    packages,
    landfall: { version: pkg.version, commit, dirty: status.length > 0 },
  };
}

/** A child process this run started, with its output going to a file. */
export interface Child {
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The output so far (stdout and stderr). */
  output(): Promise<string>;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Starts `node <args>` with stdout and stderr written to a file in `dir` (a file, not a pipe we
 * drain, so reading the output costs this process nothing while it measures); with `ipc`, also a
 * message channel (`child.send`, `child.on('message')`). Stopped when the scope closes.
 */
export async function startNode(
  scope: Scope,
  dir: string,
  label: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { ipc?: boolean } = {},
): Promise<Child> {
  const logFile = join(dir, `${label}-${randomBytes(3).toString('hex')}.log`);
  const handle = await open(logFile, 'w');
  const stdio = options.ipc ? (['ignore', handle.fd, handle.fd, 'ipc'] as const) : (['ignore', handle.fd, handle.fd] as const);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: [...stdio] });
  await handle.close();
  if (child.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
    if (gone) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  scope.teardown(() => stop('SIGKILL', 0));
  return { pid: child.pid, child, exited, output: () => readFile(logFile, 'utf8').catch(() => ''), stop };
}

/** Waits until `url` answers 2xx (the server is listening), or the child exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`process exited before ${url} answered:\n${(await child.output()).slice(-2000)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${(await child.output()).slice(-2000)}`);
    await sleep(50);
  }
}

/** Writes `<dir>/kubeconfig` for the Kubernetes API test server at `url` (its default token) and returns its path. */
export async function writeKubeconfig(dir: string, url: string): Promise<string> {
  const file = join(dir, 'kubeconfig');
  await writeFile(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: { server: "${url}", insecure-skip-tls-verify: true }\nusers:\n- name: test\n  user: { token: test-token }\ncontexts:\n- name: test\n  context: { cluster: test, user: test, namespace: default }\ncurrent-context: test\n`,
  );
  return file;
}

/** A process's memory from /proc/<pid>/status, in bytes. */
export interface ProcMemory {
  /** Resident set size now (VmRSS). */
  rss: number;
  /** Peak resident set size since start (VmHWM). */
  hwm: number;
  /** Of the RSS: anonymous memory (heaps, stacks). */
  rssAnon: number;
  /** Of the RSS: file-backed pages (the node binary's code, shared libraries). */
  rssFile: number;
}

/** {@link ProcMemory} of a process now. */
export async function procMemory(pid: number): Promise<ProcMemory> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

/** What {@link sampleRss} saw. */
export interface RssSamples {
  samples: number;
  /** The largest sampled RSS, and its split at that moment. */
  maxRss: number;
  maxRssAnon: number;
  maxRssFile: number;
  /** VmHWM at the end: the kernel's own peak, which no sampling interval can miss. */
  hwm: number;
  lastRss: number;
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): Promise<RssSamples> } {
  const seen: RssSamples = { samples: 0, maxRss: 0, maxRssAnon: 0, maxRssFile: 0, hwm: 0, lastRss: 0 };
  const take = async () => {
    try {
      const m = await procMemory(pid);
      seen.samples++;
      seen.lastRss = m.rss;
      if (m.rss > seen.maxRss) Object.assign(seen, { maxRss: m.rss, maxRssAnon: m.rssAnon, maxRssFile: m.rssFile });
      seen.hwm = Math.max(seen.hwm, m.hwm);
    } catch {
      // the process is gone
    }
  };
  void take();
  const timer = setInterval(() => void take(), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      return { ...seen };
    },
  };
}

let clockTicks: number | undefined;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; with
 * `children`, also what its finished child processes used (git, kubectl, helm for a worker).
 */
export async function procCpuSeconds(pid: number, children = false): Promise<number> {
  clockTicks ??= Number(await firstLine('getconf', ['CLK_TCK'])) || 100;
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces; fields after it are fixed (utime is field 14).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]);
  return (children ? own + Number(fields[13]) + Number(fields[14]) : own) / clockTicks;
}

/** CPU seconds the whole machine has spent busy (all cores, every process), from /proc/stat. */
export async function machineBusySeconds(): Promise<number> {
  clockTicks ??= Number(await firstLine('getconf', ['CLK_TCK'])) || 100;
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const busy = n.slice(0, 8).reduce((a, b) => a + b, 0) - (n[3] ?? 0) - (n[4] ?? 0);
  return busy / clockTicks;
}

/**
 * Waits, at most `maxWaitMs`, for a second in which the machine's other work stays under
 * `maxBusyCores`, so a measurement does not start in the middle of someone else's build. Returns
 * the busy cores of the last second seen (the caller records it either way).
 */
export async function waitForQuiet(maxWaitMs: number, maxBusyCores = 0.3): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const b0 = await machineBusySeconds();
    const t0 = performance.now();
    await sleep(1_000);
    const cores = ((await machineBusySeconds()) - b0) / ((performance.now() - t0) / 1000);
    if (cores <= maxBusyCores || Date.now() >= deadline) return round(cores, 2);
  }
}

/** `1.23 MB`-style sizes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`;
  if (Math.abs(bytes) < 1024 ** 2) return `${round(bytes / 1024, 1)} KB`;
  return `${round(bytes / 1024 ** 2, 1)} MB`;
}
