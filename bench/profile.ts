/**
 * Profile forensics, used only with `npm run bench -- --profile` (off by default: a profiler slows
 * the process it watches, and these readings explain a figure rather than make one): self time
 * per function and per module from `node --cpu-prof` files, the live heap from `--trace-gc`
 * output, and what one profiled process spends per request more than another.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, round } from './lib.js';

/** One line of a CPU profile's self-time table. */
export interface ProfileEntry {
  function: string;
  location: string;
  selfMs: number;
  /** Share of the non-idle time. */
  percent: number;
}

/** A CPU profile reduced to where the time went. */
export interface ProfileSummary {
  /** Wall time covered by the profile. */
  totalMs: number;
  /** Of which the process was busy (not `(idle)`). */
  busyMs: number;
  top: ProfileEntry[];
  /** Self time per package (node_modules/<pkg>), `node:` internals, and Landfall's own code. */
  byModule: { module: string; selfMs: number; percent: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(5).split('/').slice(0, 2).join('/') : url.slice(5)}`;
  const dist = /\/(dist|src|bench|test)\/(.*)$/.exec(url);
  if (dist) return `landfall ${dist[1]}/${(dist[2] as string).split('/')[0]}`;
  return url;
}

/** Microseconds on the clock V8's CPU profiles use (CLOCK_MONOTONIC, shared by every process). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Reads the `.cpuprofile` files in `dir` and sums self time per function and per module, for
 * the busiest one: a process with worker threads (tsx's loader thread, for one) writes a file per
 * thread, and the main thread is the one doing the work. With `window` (from
 * {@link monotonicUs}), only samples taken inside it count: start-up (module loading, compiling)
 * is then left out and the figures describe the process under load.
 */
export async function summarizeProfile(dir: string, topN = 12, window?: { fromUs: number; toUs: number }, modulesN = topN): Promise<ProfileSummary> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  let best: ProfileSummary | undefined;
  for (const file of files) {
    const summary = summarizeOne(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile, topN, window, modulesN);
    if (!best || summary.busyMs > best.busyMs) best = summary;
  }
  return best as ProfileSummary;
}

function summarizeOne(profile: CpuProfile, topN: number, window: { fromUs: number; toUs: number } | undefined, modulesN: number): ProfileSummary {
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the gap to the next sample (the last one gets the mean gap).
  const meanGap = (profile.endTime - profile.startTime) / Math.max(1, samples.length);
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const gap = i + 1 < deltas.length ? (deltas[i + 1] as number) : meanGap;
    selfUs.set(samples[i] as number, (selfUs.get(samples[i] as number) ?? 0) + gap);
  }
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  const byModule = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (us === 0) continue;
    const name = functionName || '(anonymous)';
    const location = url ? `${url.replace(/^file:\/\//, '').replace(ROOT, '')}:${lineNumber + 1}` : '';
    const key = `${name}|${location}`;
    const entry = byFunction.get(key) ?? { function: name, location, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const mod = moduleOf(url.replace(/^file:\/\//, '').replace(ROOT, '/'), functionName);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => round((us / Math.max(1, busyUs)) * 100, 1);
  return {
    totalMs: round(totalUs / 1000, 0),
    busyMs: round(busyUs / 1000, 0),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ function: e.function, location: e.location, selfMs: round(e.us / 1000, 0), percent: pct(e.us) })),
    byModule: [...byModule.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, modulesN)
      .map(([module, us]) => ({ module, selfMs: round(us / 1000, 1), percent: pct(us) })),
  };
}

/**
 * From `--trace-gc` output: the live heap after each full (mark-compact) collection and the
 * largest heap V8 had committed, in bytes.
 */
export function gcFigures(output: string): { liveAfterFullGc: number; maxCommittedHeap: number; fullGcs: number } {
  const mb = 1024 * 1024;
  let live = 0;
  let committed = 0;
  let fullGcs = 0;
  for (const line of output.split('\n')) {
    const m = /(Scavenge|Mark-Compact)[^:]*?[\d.]+ \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(line);
    if (!m) continue;
    committed = Math.max(committed, Number(m[2]) * mb, Number(m[4]) * mb);
    if (m[1] === 'Mark-Compact') {
      fullGcs++;
      live = Math.max(live, Number(m[3]) * mb);
    }
  }
  return { liveAfterFullGc: live, maxCommittedHeap: committed, fullGcs };
}

/** A profile of a subject under load, with how many requests it served meanwhile. */
export type ProfiledRun = ProfileSummary & { rps: number; requests: number };

/**
 * CPU per request by module in Landfall's profile minus the same in the bare route's: what
 * Landfall adds on top of the framework, in µs per delivery, largest first.
 */
export function perRequestDifference(
  subject: ProfiledRun | { error: string } | undefined,
  baseline: ProfiledRun | { error: string } | undefined,
): { module: string; extraUs: number; landfallUs: number; bareUs: number }[] {
  if (!subject || !baseline || 'error' in subject || 'error' in baseline) return [];
  const perRequest = (run: ProfiledRun) => new Map(run.byModule.map((m) => [m.module, (m.selfMs * 1000) / Math.max(1, run.requests)]));
  const a = perRequest(subject);
  const b = perRequest(baseline);
  return [...new Set([...a.keys(), ...b.keys()])]
    .map((module) => ({
      module,
      landfallUs: round(a.get(module) ?? 0, 1),
      bareUs: round(b.get(module) ?? 0, 1),
      extraUs: round((a.get(module) ?? 0) - (b.get(module) ?? 0), 1),
    }))
    .sort((x, y) => y.extraUs - x.extraUs);
}
