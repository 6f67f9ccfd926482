/**
 * Benchmark 1, intake: how many signed ~10 KB GitHub pushes per second Landfall's web role makes
 * durable (verified, parsed, matched, written to Redis, answered 202), next to a bare Fastify
 * route and @octokit/webhooks' middleware on the same machine in the same run; p99 at a fixed
 * 1,000 requests per second; Redis memory per queued event; where the web process spends its CPU.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import autocannon, { type AutocannonResult } from 'autocannon';
import type { Redis } from 'ioredis';
import { benchIntake, benchServerOptions, serverYaml, startLandfall, webNodeFlags } from './landfall.js';
import {
  benchPrefix,
  benchResult,
  commandDelta,
  commandStats,
  formatBytes,
  freePort,
  machineBusySeconds,
  median,
  memoryUnderPrefix,
  procCpuSeconds,
  procMemory,
  redisCpuSeconds,
  redisForBench,
  REDIS_URL,
  ROOT,
  round,
  sampleRss,
  sleep,
  startNode,
  tempDir,
  usedMemory,
  waitForHttp,
  waitForQuiet,
  withScope,
  type BenchContext,
  type BenchResult,
  type Child,
  type Scope,
  type TargetCheck,
} from './lib.js';
import { signedPush, type SignedPush } from './payload.js';
import { gcFigures, monotonicUs, perRequestDifference, summarizeProfile, type ProfiledRun } from './profile.js';
import { parsePrometheus } from '../test/support/prometheus.js';

const SECRET = 'bench-webhook-secret-0123456789';
const REPO = 'acme/web';

/** Figures of one autocannon run against one subject. */
export interface LoadFigures {
  /** Answers per second (2xx only count for Landfall's durable rate). */
  rps: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Latency percentiles in ms (whole milliseconds from autocannon; 0.1 ms from the paced generator). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  durationS: number;
  statusCodes: Record<string, number>;
  /** CPU cores the subject process used on average (1 = one core busy all the time). */
  serverCores: number;
  /** CPU cores this process (autocannon, the load generator) used. */
  generatorCores: number;
  /** CPU cores Redis used. */
  redisCores: number;
  /** CPU cores everything else on the machine used meanwhile (other people's work shows here). */
  otherCores: number;
}

export interface Subject {
  id: 'fastify-bare' | 'landfall' | 'landfall-default-heap' | 'octokit-middleware';
  label: string;
  url: string;
  child: Child;
}

/** CPU cores the subject, this process (the load generator), Redis and everything else used. */
type CoresUsed = Pick<LoadFigures, 'serverCores' | 'generatorCores' | 'redisCores' | 'otherCores'>;

/** Starts counting CPU for one run against `subject`; `stop(wallS)` says what each part used. */
async function cpuMeter(subject: Subject, redis: Redis): Promise<{ stop(wallS: number): Promise<CoresUsed> }> {
  const cpu0 = await procCpuSeconds(subject.child.pid);
  const redis0 = await redisCpuSeconds(redis);
  const machine0 = await machineBusySeconds();
  const self0 = process.cpuUsage();
  return {
    async stop(wallS) {
      const self = process.cpuUsage(self0);
      const serverCpu = (await procCpuSeconds(subject.child.pid)) - cpu0;
      const redisCpu = (await redisCpuSeconds(redis)) - redis0;
      const machineCpu = (await machineBusySeconds()) - machine0;
      const generatorCpu = (self.user + self.system) / 1e6;
      return {
        serverCores: round(serverCpu / wallS, 2),
        generatorCores: round(generatorCpu / wallS, 2),
        redisCores: round(redisCpu / wallS, 2),
        otherCores: round(Math.max(0, machineCpu - serverCpu - generatorCpu - redisCpu) / wallS, 2),
      };
    },
  };
}

/**
 * One autocannon run of `push` against a subject, with the CPU the subject, this process (the
 * load generator) and Redis used meanwhile, so a saturated generator would show.
 */
export async function load(
  subject: Subject,
  push: SignedPush,
  options: { connections: number; duration: number; overallRate?: number },
  redis: Redis,
): Promise<LoadFigures> {
  const meter = await cpuMeter(subject, redis);
  const wall0 = performance.now();
  const result: AutocannonResult = await autocannon({
    url: `${subject.url}/hooks/github`,
    method: 'POST',
    headers: push.headers,
    body: push.body,
    idReplacement: true,
    connections: options.connections,
    pipelining: 1,
    timeout: 10,
    duration: options.duration,
    // At a fixed rate autocannon would "correct" for coordinated omission with an expected
    // interval of ceil(1/rate) ms, where rate is per connection per second: 1 ms instead of
    // 16 ms here, inventing thousands of samples. The real response times are reported instead.
    ...(options.overallRate ? { overallRate: options.overallRate, ignoreCoordinatedOmission: true } : {}),
  });
  const cores = await meter.stop((performance.now() - wall0) / 1000);
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const ok2xx = result['2xx'];
  return {
    rps: round(ok2xx / result.duration, 0),
    requests: ok2xx + result.non2xx,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: round(result.latency.mean, 2),
    durationS: result.duration,
    statusCodes,
    ...cores,
  };
}

/**
 * Load at a steady rate: request i is due at start + i / rate and is sent then (on a free
 * keep-alive socket, or a new one), whether or not earlier ones were answered (an open loop).
 * Latency runs from when the request was due to when its answer was complete, so a stalled
 * server or a late generator counts against the subject rather than hiding (no coordinated
 * omission). autocannon's overallRate is not this: each connection sends its whole quota for
 * the second as fast as it can and then pauses, i.e. full-load bursts.
 */
export async function pacedLoad(subject: Subject, push: SignedPush, options: { rate: number; duration: number }, redis: Redis): Promise<LoadFigures> {
  const meter = await cpuMeter(subject, redis);
  const target = new URL(`${subject.url}/hooks/github`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const body = Buffer.from(push.body);
  const total = Math.round(options.rate * options.duration);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  const sendAt = (due: number) =>
    new Promise<void>((resolve) => {
      const headers = { ...push.headers, 'x-github-delivery': randomUUID(), 'content-length': String(body.length) };
      const req = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - due);
          statusCodes[res.statusCode ?? 0] = (statusCodes[res.statusCode ?? 0] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now() + 5;
  const inFlight: Promise<void>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Everything due by now goes out now; then sleep until the next one is due.
    while (next < total && start + (next * 1000) / options.rate <= now) inFlight.push(sendAt(start + (next++ * 1000) / options.rate));
    if (next < total) await sleep(Math.max(0, start + (next * 1000) / options.rate - performance.now()));
  }
  await Promise.all(inFlight);
  const wallS = (performance.now() - start) / 1000;
  agent.destroy();
  const cores = await meter.stop(wallS);
  const ok2xx = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN, 1);
  return {
    rps: round(ok2xx / wallS, 0),
    requests: latencies.length,
    ok2xx,
    non2xx: latencies.length - ok2xx,
    errors,
    timeouts,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: round(sorted.at(-1) ?? Number.NaN, 1),
    mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length), 2),
    durationS: round(wallS, 2),
    statusCodes,
    ...cores,
  };
}

/** Garbage-collection pauses by kind: count and total seconds. */
type GcPauses = Record<string, { count: number; seconds: number }>;

/** Reads a Landfall process's GC pause totals from its /metrics (prom-client's `nodejs_gc_duration_seconds`). */
async function gcPauses(url: string): Promise<GcPauses> {
  const family = parsePrometheus(await (await fetch(`${url}/metrics`)).text()).get('nodejs_gc_duration_seconds');
  const out: GcPauses = {};
  for (const sample of family?.samples ?? []) {
    const kind = sample.labels.kind;
    if (!kind || sample.name.endsWith('_bucket')) continue;
    const entry = (out[kind] ??= { count: 0, seconds: 0 });
    if (sample.name.endsWith('_sum')) entry.seconds = sample.value;
    else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  return out;
}

function gcDelta(before: GcPauses, after: GcPauses): GcPauses {
  return Object.fromEntries(
    Object.entries(after).map(([kind, a]) => [
      kind,
      { count: a.count - (before[kind]?.count ?? 0), seconds: round(a.seconds - (before[kind]?.seconds ?? 0), 4) },
    ]),
  );
}

/** The share of `seconds` that the process spent in GC pauses, in percent. */
function pauseShare(pauses: GcPauses | undefined, seconds: number): number {
  const total = Object.values(pauses ?? {}).reduce((sum, p) => sum + p.seconds, 0);
  return round((total / seconds) * 100, 1);
}

/** "155 minor (avg 1.6 ms), 19 major (avg 4.8 ms)". */
function describeGc(pauses: GcPauses | undefined): string {
  if (!pauses) return 'no GC figures';
  const parts = Object.entries(pauses)
    .filter(([, p]) => p.count > 0)
    .map(([kind, p]) => `${p.count} ${kind} (avg ${round((p.seconds / p.count) * 1000, 1)} ms)`);
  return parts.length ? parts.join(', ') : 'no pauses';
}

/** Sends one delivery with a fresh id and returns the status (to prime and check a subject). */
async function sendOnce(url: string, push: SignedPush, deliveryId: string): Promise<number> {
  const res = await fetch(`${url}/hooks/github`, { method: 'POST', body: push.body, headers: { ...push.headers, 'x-github-delivery': deliveryId } });
  await res.arrayBuffer();
  return res.status;
}

/** Sends `count` deliveries, each with a fresh id, `concurrency` at a time; resolves with every status. */
async function sendMany(url: string, push: SignedPush, count: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) statuses.push(await sendOnce(url, push, `memory-${next++}-${Date.now()}`));
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return statuses;
}

/** Runs benchmark 1 and returns its result; `webMemory` in `data` feeds the memory benchmark. */
export async function runIntake(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now();
  return withScope(async (scope) => {
    const dir = await tempDir(scope, 'intake');
    const prefix = benchPrefix('intake');
    const redis = redisForBench(scope, prefix);
    const push = signedPush(REPO, 'main', SECRET);
    const settings = ctx.quick
      ? { rounds: 1, durationS: 1, warmupS: 0.3, connections: 32, fixedRate: 1_000, fixedDurationS: 1.5, memoryDeliveries: 300, worstCaseJobs: 50, profileS: 1 }
      : {
          rounds: 5,
          durationS: 5,
          warmupS: 15,
          connections: 32,
          fixedRate: 1_000,
          fixedDurationS: 10,
          memoryDeliveries: 5_000,
          worstCaseJobs: 1_000,
          profileS: 6,
        };

    // Landfall's web role, as a separate process from the built CLI, as in production.
    const landfallPort = await freePort();
    const landfallYaml = (
      port: number,
      keyPrefix: string,
    ) => `${serverYaml({ host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}`, logLevel: 'info' }, benchServerOptions(join(dir, `spool-${port}`)))}
redis: { url: "${REDIS_URL}", prefix: ${keyPrefix} }
forges: { github: { webhookSecret: "${SECRET}" } }
apps:
  - { name: web, forge: github, repo: ${REPO}, cloneUrl: "file:///nonexistent/web.git", branch: main, namespace: web }
`;
    ctx.log('intake: starting landfall web, bare fastify, octokit middleware');
    // With the V8 flags it is deployed with (chart web.nodeOptions); Node's defaults are measured below.
    const deployedFlags = webNodeFlags();
    const landfall = await startLandfall(scope, dir, 'landfall-web', 'web', landfallYaml(landfallPort, prefix), landfallPort, deployedFlags);
    const idle = await procMemory(landfall.pid);
    const rss = sampleRss(landfall.pid, 50);

    // The same web role with Node's default heap sizing, in the same rounds: what the deployed
    // flags cost in CPU and save in memory; with --profile, --trace-gc shows how much of its heap is live.
    const defaultHeapPort = await freePort();
    const defaultHeap = await startLandfall(
      scope,
      dir,
      'landfall-web-default-heap',
      'web',
      landfallYaml(defaultHeapPort, prefix),
      defaultHeapPort,
      ctx.profile ? ['--trace-gc'] : [],
    );
    const defaultHeapRss = sampleRss(defaultHeap.pid, 50);
    const subjects: Subject[] = [
      { id: 'landfall', label: 'Landfall web (verify + Redis + 202)', url: landfall.url, child: landfall },
      { id: 'landfall-default-heap', label: "Landfall web with Node's default heap sizing (comparison)", url: defaultHeap.url, child: defaultHeap },
    ];
    const barePort = await freePort();
    const bare = await startNode(scope, dir, 'fastify-bare', ['--import', 'tsx', join(ROOT, 'bench/servers/fastify-bare.ts'), String(barePort)]);
    await waitForHttp(`http://127.0.0.1:${barePort}/healthz`, bare);
    subjects.unshift({ id: 'fastify-bare', label: 'bare Fastify route (202, nothing verified or stored)', url: `http://127.0.0.1:${barePort}`, child: bare });
    let octokitSkipped: string | undefined;
    if (existsSync(join(ROOT, 'node_modules/@octokit/webhooks/package.json'))) {
      const port = await freePort();
      const child = await startNode(scope, dir, 'octokit', ['--import', 'tsx', join(ROOT, 'bench/servers/octokit-middleware.ts'), String(port), SECRET]);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
      subjects.push({ id: 'octokit-middleware', label: '@octokit/webhooks createNodeMiddleware (verify, no storage)', url: `http://127.0.0.1:${port}`, child });
    } else {
      octokitSkipped = '@octokit/webhooks is not installed (node_modules/@octokit/webhooks is missing); install it as a devDependency to run this baseline';
      ctx.log(`intake: octokit baseline not run: ${octokitSkipped}`);
    }
    for (const s of subjects) {
      const status = await sendOnce(s.url, push, `prime-${s.id}`);
      if (status < 200 || status >= 300) throw new Error(`${s.id} answered ${status} to a signed push`);
    }

    // Redis memory per queued event: N accepted deliveries on this run's private prefix (the
    // app's sync job already exists from the priming delivery, so each one joins it, as in a burst).
    ctx.log(`intake: redis memory over ${settings.memoryDeliveries} deliveries`);
    await sleep(200);
    const mem0 = await usedMemory(redis);
    const keys0 = await memoryUnderPrefix(redis, prefix);
    const statuses = await sendMany(landfall.url, push, settings.memoryDeliveries, 8);
    await sleep(200);
    const mem1 = await usedMemory(redis);
    const keys1 = await memoryUnderPrefix(redis, prefix);
    const accepted = statuses.filter((s) => s === 202).length;
    if (accepted !== settings.memoryDeliveries)
      throw new Error(`expected ${settings.memoryDeliveries} accepted deliveries, got ${accepted} (${[...new Set(statuses)].join(', ')})`);
    const worstCase = await jobPerDelivery(scope, settings.worstCaseJobs);

    // Throughput: each round runs every subject back to back, the order rotated between rounds,
    // so a slow moment of the machine is shared out rather than landing on one subject.
    for (const s of subjects) await load(s, push, { connections: settings.connections, duration: settings.warmupS }, redis);
    const rounds: Record<string, LoadFigures[]> = Object.fromEntries(subjects.map((s) => [s.id, []]));
    const commands: { command: string; calls: number; usec: number }[][] = [];
    for (let round_ = 0; round_ < settings.rounds; round_++) {
      const order = subjects.map((_, i) => subjects[(i + round_) % subjects.length] as Subject);
      for (const s of order) {
        // A shared machine: wait (bounded) for a quiet second, and record how busy it was anyway.
        const quiet = ctx.quick ? undefined : await waitForQuiet(20_000);
        ctx.log(`intake: round ${round_ + 1}/${settings.rounds} ${s.id}${quiet === undefined ? '' : ` (machine busy ${quiet} cores before)`}`);
        const before = s.id === 'landfall' ? await commandStats(redis) : undefined;
        const figures = await load(s, push, { connections: settings.connections, duration: settings.durationS }, redis);
        if (before)
          commands.push(commandDelta(before, await commandStats(redis)).map((c) => ({ ...c, perRequest: round(c.calls / Math.max(1, figures.ok2xx), 3) })));
        rounds[s.id]?.push(figures);
        await sleep(300);
      }
    }

    // Latency at a fixed 1,000 requests per second.
    const fixed: Record<string, LoadFigures> = {};
    // Garbage-collection pauses of the Landfall processes during the fixed-rate run (their own
    // /metrics: prom-client's nodejs_gc_duration_seconds), to say what the tail is made of.
    const fixedGc: Record<string, GcPauses> = {};
    for (const s of subjects) {
      if (!ctx.quick) await waitForQuiet(20_000);
      ctx.log(`intake: ${settings.fixedRate}/s fixed rate ${s.id}`);
      const gc0 = s.id.startsWith('landfall') ? await gcPauses(s.url) : undefined;
      fixed[s.id] = await pacedLoad(s, push, { rate: settings.fixedRate, duration: settings.fixedDurationS }, redis);
      if (gc0) fixedGc[s.id] = gcDelta(gc0, await gcPauses(s.url));
    }
    const webRss = await rss.stop();
    const defaultHeapMemory = await defaultHeapRss.stop();

    // Where the CPU goes (only with --profile): profiled runs of Landfall and the bare route.
    const forensics = ctx.profile ? await profileIntake(ctx, scope, { dir, prefix, redis, push, settings, deployedFlags, landfallYaml }) : undefined;
    const extra = forensics?.extra ?? [];

    const summary = (id: string) => {
      const list = rounds[id] ?? [];
      return {
        rps: median(list.map((r) => r.rps)),
        p50: median(list.map((r) => r.p50)),
        p99: median(list.map((r) => r.p99)),
        serverCores: median(list.map((r) => r.serverCores)),
        generatorCores: median(list.map((r) => r.generatorCores)),
      };
    };
    const lf = summary('landfall');
    const def = summary('landfall-default-heap');
    const bareSummary = summary('fastify-bare');
    const octo = octokitSkipped ? undefined : summary('octokit-middleware');
    const vsBare = round(lf.rps / bareSummary.rps, 2);
    const vsOctokit = octo ? round(lf.rps / octo.rps, 2) : null;
    const perEvent = (mem1 - mem0) / settings.memoryDeliveries;
    const perEventKeys = (keys1.bytes - keys0.bytes) / settings.memoryDeliveries;
    const landfallFixed = fixed.landfall as LoadFigures;
    const cmds = commands.at(-1) ?? [];
    const profile = forensics?.profile;
    const profileTop =
      profile && 'top' in profile
        ? profile.top
            .slice(0, 5)
            .map((e) => `${e.function} ${e.percent}%`)
            .join(', ')
        : 'no profile';
    const evalStats = cmds.find((c) => c.command === 'eval' || c.command === 'evalsha');
    const cpuPerRequest = (m: { rps: number; serverCores: number }) => round((m.serverCores / Math.max(1, m.rps)) * 1e6, 0);
    const fewer = extra.filter((e) => e.extraUs <= -1);
    const defFixed = fixed['landfall-default-heap'];
    const heapTuning = {
      flags: [] as string[],
      deployedFlags,
      rps: def.rps,
      cpuUsPerDelivery: cpuPerRequest(def),
      p99: def.p99,
      fixedP99: defFixed?.p99 ?? null,
      ...defaultHeapMemory,
      ...(ctx.profile ? gcFigures(await defaultHeap.output()) : {}),
    };
    const heapPct = round((cpuPerRequest(lf) / Math.max(1, heapTuning.cpuUsPerDelivery) - 1) * 100, 0);
    const heapCost = deployedFlags.length
      ? `${heapPct >= 0 ? `${heapPct}% more` : `${-heapPct}% less`} CPU per delivery than Node's default heap sizing in the same rounds (${heapTuning.cpuUsPerDelivery} µs and ${def.rps} req/s with the defaults: ${round(def.rps / bareSummary.rps, 2)}× the bare route${octo ? `, ${round(def.rps / octo.rps, 2)}× the middleware` : ''}; see Memory for what the flags save)`
      : 'nothing (none is set)';
    const bound = `the web process is CPU-bound (${lf.serverCores} cores busy, ${cpuPerRequest(lf)} µs of CPU per delivery against ${cpuPerRequest(bareSummary)} µs for the bare route); ${
      forensics
        ? `what the profile puts on top of the bare route, per delivery: ${extra
            .slice(0, 6)
            .map((e) => `${e.module} +${e.extraUs} µs`)
            .join(', ')}`
        : 'run with --profile for where its CPU goes'
    }${fewer.length ? ` (and less than the bare route in ${fewer.map((e) => `${e.module} ${e.extraUs} µs`).join(', ')}: the bare route's JSON.parse runs in secure-json-parse, Landfall's inside dist/intake, so those two largely cancel)` : ''}${forensics ? `; top self time: ${profileTop}` : ''}; the heap cap it is deployed with (${deployedFlags.join(' ') || 'none'}) costs ${heapCost}; Redis runs ${evalStats ? `${round(evalStats.calls / Math.max(1, rounds.landfall?.at(-1)?.ok2xx ?? 1), 2)} ${evalStats.command.toUpperCase()} per delivery (${evalStats.usec && evalStats.calls ? round(evalStats.usec / evalStats.calls, 0) : '?'} µs each in Redis)` : 'no script'} and is not the limit (${median((rounds.landfall ?? []).map((r) => r.redisCores))} cores)`;

    const targets: TargetCheck[] = [
      {
        name: 'Durable intake vs bare Fastify',
        target: '≥ 0.80×',
        measured: `${vsBare}× (${lf.rps} vs ${bareSummary.rps} req/s)`,
        met: vsBare >= 0.8,
        ...(vsBare >= 0.8 ? {} : { note: `missed by ${round(((0.8 - vsBare) / 0.8) * 100, 0)}% (needs ${round(bareSummary.rps * 0.8, 0)} req/s): ${bound}` }),
      },
      octo
        ? {
            name: 'Durable intake vs @octokit/webhooks middleware',
            target: 'level (≥ 0.95×)',
            measured: `${vsOctokit}× (${lf.rps} vs ${octo.rps} req/s)`,
            met: (vsOctokit ?? 0) >= 0.95,
            ...((vsOctokit ?? 0) >= 0.95 ? {} : { note: `missed by ${round(((0.95 - (vsOctokit ?? 0)) / 0.95) * 100, 0)}%: ${bound}` }),
          }
        : { name: 'Durable intake vs @octokit/webhooks middleware', target: 'level (≥ 0.95×)', measured: 'not run', met: null, note: octokitSkipped },
      {
        name: 'p99 at a fixed 1,000 req/s',
        target: '< 10 ms',
        measured: `${landfallFixed.p99} ms (p50 ${landfallFixed.p50} ms, ${landfallFixed.rps} req/s achieved)`,
        met: landfallFixed.p99 < 10 && landfallFixed.non2xx === 0 && landfallFixed.errors === 0,
        ...(landfallFixed.p99 < 10
          ? {}
          : {
              note: `missed by ${round(landfallFixed.p99 - 10, 1)} ms; at the same rate the bare route's p99 was ${fixed['fastify-bare']?.p99 ?? '?'} ms and the middleware's ${fixed['octokit-middleware']?.p99 ?? '?'} ms (the tail of the load generator and machine, which every subject shares), Landfall with Node's default heap sizing ${defFixed?.p99 ?? '?'} ms; Landfall's p50 was ${landfallFixed.p50} ms and p90 ${landfallFixed.p90} ms at ${landfallFixed.serverCores} cores busy (${round((landfallFixed.serverCores / Math.max(1, landfallFixed.rps)) * 1e6, 0)} µs of CPU per delivery at this rate, against ${cpuPerRequest(lf)} µs at full load); its garbage-collection pauses in those ${settings.fixedDurationS} s: ${describeGc(fixedGc.landfall)}, together ${pauseShare(fixedGc.landfall, settings.fixedDurationS)}% of the run, ${pauseShare(fixedGc.landfall, settings.fixedDurationS) >= 1 ? 'more than the 1% of requests the p99 looks at, so the p99 falls among requests that arrived during a pause or queued behind one' : 'less than the 1% of requests the p99 looks at, so pauses alone do not explain it'} (default heap sizing: ${describeGc(fixedGc['landfall-default-heap'])}, ${pauseShare(fixedGc['landfall-default-heap'], settings.fixedDurationS)}%)${forensics ? `; ${forensics.lowRateText}` : ''}`,
            }),
      },
      {
        name: 'Redis memory per queued event',
        target: '< 1 KB',
        measured: `${formatBytes(perEvent)} (used_memory delta over ${settings.memoryDeliveries}); ${formatBytes(perEventKeys)} by MEMORY USAGE of the prefix's keys`,
        met: perEvent < 1024,
        ...(perEvent < 1024 ? {} : { note: `missed by ${formatBytes(perEvent - 1024)} per event` }),
      },
    ];

    return benchResult(ctx, 'intake', 'Intake throughput', started, {
      method: [
        `Load: autocannon ${settings.connections} connections, no pipelining, ${settings.durationS} s per run after a ${settings.warmupS} s warm-up, ${settings.rounds} round(s); each round runs every subject back to back in a rotated order; figures are the median over rounds. The machine is shared: before each run the benchmark waits (at most 20 s) for a second in which the machine is nearly idle, and every run records the CPU everything else used meanwhile ("other cores").`,
        `Body: GitHub's own \`push\` example from @octokit/webhooks-examples, renamed to the configured repository \`${REPO}\` and branch \`main\`, padded with ${push.commits} commits to ${push.bytes} bytes, signed with HMAC-SHA256 (\`X-Hub-Signature-256\`); every request carries a fresh \`X-GitHub-Delivery\` (autocannon \`idReplacement\`), so none is a duplicate.`,
        "Landfall: `node dist/main.js serve --role web` in its own process, log level `info` (one JSON line per webhook, to a file), Redis on 127.0.0.1 with a private key prefix, no workers (every push joins the app's pending sync job, as in a burst). A 202 means the event is in Redis. The per-address rate limit is raised: all load comes from 127.0.0.1.",
        "Baselines, each in its own process on the same machine in the same run: a bare Fastify route answering 202 (Fastify's JSON parser, no logger); `@octokit/webhooks` `createNodeMiddleware` verifying the signature and dispatching to a no-op handler (stores nothing).",
        `Fixed rate: ${settings.fixedRate} requests/s for ${settings.fixedDurationS} s from an open-loop generator in the benchmark process (node:http, keep-alive sockets): request i is sent when it is due, start + i/rate, whether or not earlier ones were answered, and its latency runs from when it was due to its complete answer (no coordinated omission; sub-millisecond resolution). autocannon's \`overallRate\` is not used: each of its connections sends its whole quota for the second as fast as it can and then pauses, which is full-load bursts, not a steady rate.`,
        `Redis memory: \`INFO memory\` used_memory before and after ${settings.memoryDeliveries} accepted deliveries (after a priming delivery created the job), divided by the count; cross-checked with \`MEMORY USAGE\` of every key under the prefix. The Redis server is shared with whatever else runs on the machine, so used_memory can move for other reasons; the prefix sum cannot.`,
        `Landfall runs with the V8 flags it is deployed with (the chart's \`web.nodeOptions\`: \`${deployedFlags.join(' ') || 'none'}\`). A second Landfall web process with Node's default heap sizing runs in the same rounds (and at the fixed rate), to show what the flags cost in CPU and save in memory (with \`--profile\`, under \`--trace-gc\`, to show how much of the heap is live). Both are sampled for RSS from start to the end of the fixed-rate runs (see Memory).`,
        `CPU: from /proc/<pid>/stat for the servers, process.cpuUsage() for autocannon, INFO cpu for Redis. ${ctx.profile ? `Profiles (\`--profile\`): separate runs of Landfall and of the bare Fastify route under \`node --cpu-prof\` at the same load for ${settings.profileS} s each (after a warm-up; only samples inside the measured window count); self time per function, and per module divided by the requests served, so the two can be subtracted. A third profiled run has Landfall at the fixed rate, to compare what a delivery costs there with full load.` : 'No CPU profiles in this run (`npm run bench -- --profile` adds them).'}`,
      ],
      targets,
      data: {
        payload: { bytes: push.bytes, commits: push.commits, source: '@octokit/webhooks-examples push (refs/heads/master example)' },
        settings,
        subjects: Object.fromEntries([
          ...subjects.map((s) => [s.id, { label: s.label, ran: true, median: summary(s.id), rounds: rounds[s.id] }]),
          ...(octokitSkipped ? [['octokit-middleware', { label: '@octokit/webhooks createNodeMiddleware', ran: false, reason: octokitSkipped }]] : []),
        ]),
        ratios: { landfallVsFastify: vsBare, landfallVsOctokit: vsOctokit },
        fixedRate: fixed,
        fixedRateGcPauses: fixedGc,
        redisMemory: {
          deliveries: settings.memoryDeliveries,
          usedMemoryBefore: mem0,
          usedMemoryAfter: mem1,
          perEventBytes: round(perEvent, 0),
          prefixBytesBefore: keys0.bytes,
          prefixBytesAfter: keys1.bytes,
          prefixKeysAdded: keys1.keys - keys0.keys,
          perEventBytesByKeys: round(perEventKeys, 0),
          worstCase,
        },
        redisCommandsPerDelivery: cmds.slice(0, 8).map((c) => ({
          command: c.command,
          perRequest: round(c.calls / Math.max(1, rounds.landfall?.at(-1)?.ok2xx ?? 1), 3),
          usecPerCall: round(c.usec / Math.max(1, c.calls), 2),
        })),
        ...(forensics
          ? {
              profile,
              baselineProfile: forensics.profiles['fastify-bare'],
              fixedRateProfile: forensics.profiles['landfall-fixed'],
              fixedRateExtraCpuPerDeliveryByModule: forensics.lowRate,
              extraCpuPerDeliveryByModule: extra,
            }
          : {}),
        webMemory: { idle, ...webRss, heapTuning },
      },
    });
  });
}

/**
 * The worst case for Redis: every delivery creates a new sync job (a different app each time,
 * so none can join another's pending job). Written through Landfall's own intake in this process.
 */
async function jobPerDelivery(scope: Scope, jobs: number): Promise<{ jobs: number; perJobBytes: number; perJobBytesByKeys: number }> {
  const prefix = benchPrefix('jobs');
  const redis = redisForBench(scope, prefix);
  const intake = benchIntake(scope, prefix);
  const item = (i: number) => ({
    kind: 'sync' as const,
    data: {
      app: `app-${i}`,
      trigger: 'push' as const,
      forge: 'github' as const,
      repo: `acme/app-${i}`,
      branch: 'main',
      sha: 'a'.repeat(40),
      deliveryId: `d-${i}`,
      receivedAt: Date.now(),
    },
  });
  await intake.enqueue('github', 'prime', [item(-1)]);
  await sleep(100);
  const mem0 = await usedMemory(redis);
  const keys0 = await memoryUnderPrefix(redis, prefix);
  for (let i = 0; i < jobs; i += 50)
    await Promise.all(Array.from({ length: Math.min(50, jobs - i) }, (_, j) => intake.enqueue('github', `d-${i + j}`, [item(i + j)])));
  await sleep(100);
  const mem1 = await usedMemory(redis);
  const keys1 = await memoryUnderPrefix(redis, prefix);
  return { jobs, perJobBytes: round((mem1 - mem0) / jobs, 0), perJobBytesByKeys: round((keys1.bytes - keys0.bytes) / jobs, 0) };
}

/** What {@link profileIntake} needs of the intake run. */
interface ProfileSetup {
  dir: string;
  prefix: string;
  redis: Redis;
  push: SignedPush;
  settings: { connections: number; fixedRate: number; warmupS: number; profileS: number };
  deployedFlags: string[];
  landfallYaml: (port: number, keyPrefix: string) => string;
}

/**
 * `--profile` only: where the web process's CPU goes. Separate runs of Landfall and of the bare
 * Fastify route under `node --cpu-prof` (the profiler slows a process down, so these runs'
 * throughput is not among the figures), the same load on both, give the CPU per request by
 * module and so what Landfall adds; a third has Landfall at the fixed rate.
 */
async function profileIntake(ctx: BenchContext, scope: Scope, setup: ProfileSetup) {
  const { dir, prefix, redis, push, settings, deployedFlags, landfallYaml } = setup;
  const profiles: Record<string, ProfiledRun | { error: string }> = {};
  for (const id of ['landfall', 'fastify-bare', 'landfall-fixed'] as const) {
    ctx.log(`intake: cpu profile of ${id}`);
    const profDir = join(dir, `prof-${id}`);
    await mkdir(profDir, { recursive: true });
    const port = await freePort();
    const profArgs = ['--cpu-prof', '--cpu-prof-dir', profDir];
    const child =
      id !== 'fastify-bare'
        ? await startLandfall(scope, dir, 'landfall-web-prof', 'web', landfallYaml(port, prefix), port, [...deployedFlags, ...profArgs])
        : await startNode(scope, dir, 'fastify-bare-prof', [...profArgs, '--import', 'tsx', join(ROOT, 'bench/servers/fastify-bare.ts'), String(port)]);
    const url = `http://127.0.0.1:${port}`;
    if (id === 'fastify-bare') await waitForHttp(`${url}/healthz`, child);
    const subject: Subject = { id: id === 'landfall-fixed' ? 'landfall' : id, label: 'profiled', url, child };
    // At full load, or (landfall-fixed) at the fixed rate, to see what a delivery costs there.
    const drive = (duration: number) =>
      id === 'landfall-fixed'
        ? pacedLoad(subject, push, { rate: settings.fixedRate, duration }, redis)
        : load(subject, push, { connections: settings.connections, duration }, redis);
    // A short warm-up first, so the window below shows steady state, not JIT compilation.
    await drive(settings.warmupS);
    const fromUs = monotonicUs();
    const run = await drive(settings.profileS);
    const toUs = monotonicUs();
    await child.stop('SIGINT', 20_000);
    try {
      profiles[id] = { ...(await summarizeProfile(profDir, 15, { fromUs, toUs }, 60)), rps: run.rps, requests: run.ok2xx };
    } catch (err) {
      profiles[id] = { error: (err as Error).message };
    }
  }
  const extra = perRequestDifference(profiles.landfall, profiles['fastify-bare']);
  // What a delivery costs more at the fixed rate than at full load, by module.
  const lowRate = perRequestDifference(profiles['landfall-fixed'], profiles.landfall);
  const fixedProfile = profiles['landfall-fixed'];
  const lowRateText =
    fixedProfile && !('error' in fixedProfile)
      ? `a CPU profile of Landfall at this rate has ${round((fixedProfile.busyMs * 1000) / Math.max(1, fixedProfile.requests), 0)} µs busy per delivery; against the full-load profile a delivery costs more in ${lowRate
          .slice(0, 6)
          .map((e) => `${e.module} +${e.extraUs} µs`)
          .join(', ')}; top self time at this rate: ${fixedProfile.top
          .slice(0, 5)
          .map((e) => `${e.function} ${e.percent}%`)
          .join(', ')}`
      : 'no profile at this rate';
  return { profiles, profile: profiles.landfall as ProfiledRun | { error: string }, extra, lowRate, lowRateText: `${lowRateText}` };
}
