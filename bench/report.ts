/**
 * BENCHMARKS.md, generated from the raw results in bench/results/*.json. Every figure in it comes
 * from those files, so the page can be regenerated (`npm run bench -- --report-only`) and
 * checked against them.
 */
import type { BenchName } from './run.js';
import type { Round, SizeFigures } from './real.js';
import { formatBytes, round, type BenchResult, type MachineInfo, type Summary, type TargetCheck } from './lib.js';
import type { ProfileSummary } from './profile.js';

/** What the report is made from. */
export interface ReportInput {
  machine: MachineInfo & { quick?: boolean; startedAt?: string };
  results: Partial<Record<BenchName, BenchResult>>;
  /** The full run each result replaced, where one was kept (`real-previous.json`): shown beside it. */
  previous?: { real?: BenchResult };
}

/** The headings every report has, in order (the smoke test checks them). */
export const SECTIONS = [
  '## Summary',
  '## Machine and versions',
  '## 1. Intake throughput',
  '## 2. Merge to deployed',
  '## 3. Burst coalescing',
  '## 4. Apply scaling',
  '## 5. Memory',
  '## 6. Flood',
  '## 7. On a real control plane',
  '## Reproducing',
] as const;

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function mark(met: boolean | null): string {
  return met === null ? '— not judged' : met ? '✅ met' : '❌ missed';
}

function notRun(name: string): string {
  return `_Not in this run's results (\`bench/results/${name}.json\` is missing): run \`npm run bench\`._\n`;
}

function methodList(result: BenchResult): string {
  return `${result.method.map((m) => `- ${m}`).join('\n')}\n`;
}

function targetsOf(result: BenchResult | undefined): TargetCheck[] {
  return result?.targets ?? [];
}

function profileTables(profile: ProfileSummary): string {
  const top = table(
    ['function', 'where', 'self time', 'share of busy time'],
    profile.top.map((e) => [`\`${e.function}\``, e.location ? `\`${e.location}\`` : '(native / V8)', `${e.selfMs} ms`, `${e.percent}%`]),
  );
  const modules = table(
    ['module', 'self time', 'share'],
    profile.byModule.slice(0, 15).map((m) => [`\`${m.module}\``, `${m.selfMs} ms`, `${m.percent}%`]),
  );
  return `Top self time (${profile.busyMs} ms busy of ${profile.totalMs} ms profiled under load):\n\n${top}\n\nBy module (the 15 largest):\n\n${modules}\n`;
}

interface LoadFigures {
  rps: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serverCores: number;
  generatorCores: number;
  redisCores: number;
  otherCores?: number;
  statusCodes: Record<string, number>;
}

interface SubjectData {
  label: string;
  ran: boolean;
  reason?: string;
  median?: { rps: number; p50: number; p99: number; serverCores: number; generatorCores: number };
  rounds?: LoadFigures[];
}

function intakeSection(result: BenchResult | undefined): string {
  if (!result) return notRun('intake');
  const d = result.data as {
    payload: { bytes: number; commits: number };
    settings: { rounds: number; durationS: number; connections: number; fixedRate: number; fixedDurationS: number };
    subjects: Record<string, SubjectData>;
    ratios: { landfallVsFastify: number; landfallVsOctokit: number | null };
    fixedRate: Record<string, LoadFigures>;
    redisMemory: {
      deliveries: number;
      perEventBytes: number;
      perEventBytesByKeys: number;
      prefixKeysAdded: number;
      worstCase: { jobs: number; perJobBytes: number; perJobBytesByKeys: number };
    };
    redisCommandsPerDelivery: { command: string; perRequest: number; usecPerCall: number }[];
    /** Only with `--profile`. */
    profile?: (ProfileSummary & { rps: number }) | { error: string };
    extraCpuPerDeliveryByModule?: { module: string; extraUs: number; landfallUs: number; bareUs: number }[];
  };
  const order = ['fastify-bare', 'landfall', 'landfall-default-heap', 'octokit-middleware'];
  const rows = order
    .filter((id) => d.subjects[id])
    .map((id) => {
      const s = d.subjects[id] as SubjectData;
      if (!s.ran || !s.median) return [s.label, 'not run', '', '', '', '', s.reason ?? ''];
      const m = s.median;
      const cpuPerRequest = m.rps > 0 ? `${round((m.serverCores / m.rps) * 1e6, 0)} µs` : 'n/a';
      const ratio = id === 'landfall' ? '' : m.rps > 0 ? `Landfall ${round((d.subjects.landfall?.median?.rps ?? 0) / m.rps, 2)}×` : '';
      return [s.label, m.rps, `${m.p50} ms`, `${m.p99} ms`, `${m.serverCores}`, cpuPerRequest, ratio];
    });
  const rounds = order
    .filter((id) => d.subjects[id]?.ran)
    .flatMap((id) =>
      (d.subjects[id]?.rounds ?? []).map((r, i) => [
        id,
        i + 1,
        r.rps,
        `${r.p50} / ${r.p99} ms`,
        r.non2xx + r.errors,
        r.serverCores,
        r.generatorCores,
        r.redisCores,
        r.otherCores ?? 'n/a',
      ]),
    );
  const fixed = order
    .filter((id) => d.fixedRate[id])
    .map((id) => {
      const f = d.fixedRate[id] as LoadFigures;
      return [
        d.subjects[id]?.label ?? id,
        f.rps,
        `${f.p50} ms`,
        `${f.p90} ms`,
        `${f.p99} ms`,
        `${f.max} ms`,
        f.non2xx + f.errors,
        f.serverCores,
        f.otherCores ?? 'n/a',
      ];
    });
  const octokit = d.subjects['octokit-middleware'];
  const mem = d.redisMemory;
  return `${methodList(result)}
Median of ${d.settings.rounds} round(s), ${d.settings.connections} connections, ${d.payload.bytes}-byte signed push:

${table(['subject', 'req/s', 'p50', 'p99', 'server CPU (cores)', 'server CPU per request', 'ratio'], rows)}

**Ratios:** Landfall (durable: verified, in Redis before the 202) is **${d.ratios.landfallVsFastify}×** the bare Fastify route${
    d.ratios.landfallVsOctokit !== null
      ? ` and **${d.ratios.landfallVsOctokit}×** the @octokit/webhooks middleware (which stores nothing).`
      : `. The @octokit/webhooks baseline did not run: ${octokit?.reason ?? 'not installed'}.`
  }

Every run (the load generator, autocannon, runs in the benchmark process; its CPU is shown so a saturated generator would be visible):

${table(['subject', 'round', 'req/s', 'p50 / p99', 'errors + non-2xx', 'server cores', 'autocannon cores', 'Redis cores', 'other cores'], rounds)}

At a fixed ${d.settings.fixedRate} requests per second (${d.settings.fixedDurationS} s, open loop, latency from when each request was due):

${table(['subject', 'achieved req/s', 'p50', 'p90', 'p99', 'max', 'errors + non-2xx', 'server cores', 'other cores'], fixed)}

**Redis memory per queued event:** ${mem.perEventBytes} bytes (used_memory grew by ${formatBytes(mem.perEventBytes * mem.deliveries)} over ${mem.deliveries} accepted deliveries); the keys under the run's prefix grew by ${mem.perEventBytesByKeys} bytes per delivery (\`MEMORY USAGE\`; ${mem.prefixKeysAdded} keys added: one de-duplication marker per delivery, plus its entry in the events stream). The worst case, every delivery creating a new sync job (each for a different app, so none can join a pending one), costs ${mem.worstCase.perJobBytes} bytes per job (${mem.worstCase.perJobBytesByKeys} by \`MEMORY USAGE\`, ${mem.worstCase.jobs} jobs).

**Redis commands per accepted delivery** (\`INFO commandstats\`, last Landfall round; commands inside the Lua script count separately; the Redis server is shared, so other clients can add to these):

${table(
  ['command', 'calls per delivery', 'µs per call'],
  d.redisCommandsPerDelivery.map((c) => [`\`${c.command}\``, c.perRequest, c.usecPerCall]),
)}

${profileText(d.profile)}${extraTable(d.extraCpuPerDeliveryByModule ?? [])}`;
}

function profileText(profile: (ProfileSummary & { rps: number }) | { error: string } | undefined): string {
  if (!profile) return "_No CPU profile in this run: `npm run bench -- --profile` adds where the web process's CPU goes._\n";
  return `**Where the web process's CPU goes** (\`node --cpu-prof\`, a separate run at full load, ${'rps' in profile ? `${profile.rps} req/s while profiled` : ''}; only samples taken under load count, start-up is left out):

${'error' in profile ? `_No profile: ${profile.error}_\n` : profileTables(profile)}
`;
}

function extraTable(extra: { module: string; extraUs: number; landfallUs: number; bareUs: number }[]): string {
  if (extra.length === 0) return '';
  const shown = [...extra.slice(0, 12), ...extra.slice(12).filter((e) => e.extraUs < -2)];
  return `**What Landfall adds on top of the bare route**, CPU per delivery by module (the same load on both, each under \`--cpu-prof\`; self time divided by the requests served; \`(native)\` is V8 builtins and system calls such as socket writes, attributed to no JavaScript function):

${table(
  ['module', 'Landfall µs', 'bare Fastify µs', 'difference'],
  shown.map((e) => [`\`${e.module}\``, e.landfallUs, e.bareUs, `${e.extraUs > 0 ? '+' : ''}${e.extraUs}`]),
)}
`;
}

/** The merge figures both merge sections show (the test server's and the real control plane's). */
interface MergeData {
  objects: number;
  runs: number;
  totalMs: Summary;
  breakdown: Record<string, Summary>;
  gitPushMs: Summary;
}

function mergeFiguresText(d: MergeData): string {
  const rows = Object.entries(d.breakdown).map(([name, s]) => [
    name,
    `${s.p50} ms`,
    `${s.p95} ms`,
    `${round(s.mean, 1)} ms`,
    `${round((s.mean / d.totalMs.mean) * 100, 0)}%`,
  ]);
  return `**Webhook sent → success status at the forge, ${d.objects} objects, ${d.runs} merges: p50 ${d.totalMs.p50} ms, p95 ${d.totalMs.p95} ms** (min ${d.totalMs.min}, max ${d.totalMs.max}, mean ${round(d.totalMs.mean, 0)} ms). The git client's commit and push before it took ${d.gitPushMs.p50} ms (p50) and is not counted.

${table(['phase', 'p50', 'p95', 'mean', 'share of the mean total'], rows)}
`;
}

function mergeSection(result: BenchResult | undefined): string {
  if (!result) return notRun('merge');
  return `${methodList(result)}
${mergeFiguresText(result.data as unknown as MergeData)}`;
}

function burstSection(result: BenchResult | undefined): string {
  if (!result) return notRun('burst');
  const d = result.data as {
    apps: number;
    pushes: number;
    pushesPerApp: number;
    sentMs: number;
    ackedMs: number;
    settledMs: number;
    statusesSettledMs: number;
    webhookLatencyMs: Summary;
    webhookHandlingMs: Summary;
    cpu: Record<string, number>;
    statusesPosted: number;
    perApp: { app: string; syncs: number; records: number; appliedSeqs: number[]; inOrder: boolean }[];
    workerProfile?: ProfileSummary | { error: string };
  };
  const rows = d.perApp.map((a) => [a.app, a.syncs, a.records, a.appliedSeqs.join(' → '), a.inOrder ? 'yes' : '**no**']);
  return `${methodList(result)}
**${d.pushes} pushes (${d.pushesPerApp} per app) sent over ${round(d.sentMs / 1000, 2)} s; every app ran its newest commit ${round(d.settledMs / 1000, 2)} s after the first push**, and every newest commit's success status was at the forge after ${round(d.statusesSettledMs / 1000, 2)} s. The last webhook was answered after ${round(d.ackedMs / 1000, 2)} s: answers took ${d.webhookLatencyMs.p50} ms at p50 and ${d.webhookLatencyMs.max} ms at most as the sender saw them, of which the web process's handler (its log line's \`ms\`) accounts for ${d.webhookHandlingMs.p50} ms at p50${
    d.webhookLatencyMs.p50 > 2 * d.webhookHandlingMs.p50 + 5
      ? " (the rest is spent queued outside the handler, in the sender, the kernel and the web process's event loop, on two cores shared by the web and worker processes, Redis, git, both stand-ins and the sender)"
      : ''
  }. ${d.statusesPosted} commit statuses were posted from the burst's start on (every commit is told it is queued and, unless it is its app's newest, superseded; a desired status that changed before the status worker got to it is posted once, in its latest state).

CPU seconds from the burst's start to the last success status: ${Object.entries(d.cpu)
    .map(([k, v]) => `${k.replace(/Seconds$/, '')} ${v} s`)
    .join(', ')} (git: the worker's finished child processes; bench: this process, with the stand-ins and the sender; other: everything else on the machine).

${table(['app', 'syncs past resolve', 'sync records', 'commits applied, in order (index of 0…' + (d.pushesPerApp - 1) + ')', 'only forward'], rows)}
${d.workerProfile && 'top' in d.workerProfile ? `\nThe worker process under \`--cpu-prof\` during the burst (\`--profile\` or \`LANDFALL_BENCH_PROFILE_DIR\`; the profiler slows it, so this run's times are not comparable):\n\n${profileTables(d.workerProfile)}` : ''}`;
}

interface SyncFigures {
  wallMs: number;
  phases: Record<string, number>;
  server: { requests: number; bytesReceived: number; bytesSent: number; byVerb: Record<string, number> };
  client: { requests: number; writes: number; bytesSent: number; retries: number };
  /** Absent in results from before the test server ran in its own process. */
  cpu?: { landfall: number; server: number };
  writes: number;
  inventoryWrites: number;
  changes: Record<string, number>;
}

function applySection(result: BenchResult | undefined): string {
  if (!result) return notRun('apply');
  const d = result.data as {
    sizes: { objects: number; first: SyncFigures; resync: SyncFigures; runs: { first: number[]; resync: number[] } }[];
    growth: {
      from: number;
      to: number;
      factor: number;
      firstWall: number;
      firstRequests: number;
      firstBytesReceived: number;
      resyncWall: number;
      resyncRequests: number;
      resyncBytesReceived: number;
    }[];
  };
  const row = (objects: number, kind: string, s: SyncFigures, runs: number[]) => [
    objects,
    kind,
    `${s.wallMs} ms`,
    `${round(s.wallMs / objects, 2)} ms`,
    s.server.requests,
    Object.entries(s.server.byVerb)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
    formatBytes(s.client.bytesSent),
    formatBytes(s.server.bytesSent),
    `${s.writes} (+${s.inventoryWrites} inventory)`,
    s.cpu ? `${s.cpu.landfall} / ${s.cpu.server}` : 'n/a',
    runs.join(', '),
  ];
  const rows = d.sizes.flatMap((s) => [row(s.objects, 'first deploy', s.first, s.runs.first), row(s.objects, 'unchanged re-sync', s.resync, s.runs.resync)]);
  const growth = d.growth.map((g) => [
    `${g.from} → ${g.to} (×${g.factor})`,
    `×${g.firstWall}`,
    `×${g.firstRequests}`,
    `×${g.firstBytesReceived}`,
    `×${g.resyncWall}`,
    `×${g.resyncRequests}`,
    `×${g.resyncBytesReceived}`,
  ]);
  const phaseNames = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune'];
  const phases = d.sizes.flatMap((s) => [
    [s.objects, 'first', ...phaseNames.map((p) => `${s.first.phases[p] ?? 0}`)],
    [s.objects, 're-sync', ...phaseNames.map((p) => `${s.resync.phases[p] ?? 0}`)],
  ]);
  return `${methodList(result)}
${table(['objects', 'sync', 'wall', 'per object', 'API requests', 'by verb', 'bytes sent (client)', 'bytes answered (server)', 'writes', 'CPU s: Landfall / test server', 'wall of every run (ms)'], rows)}

Growth from one size to the next (linear would be the object factor):

${table(['objects', 'first deploy wall', 'first deploy requests', 'first deploy bytes sent', 're-sync wall', 're-sync requests', 're-sync bytes sent'], growth)}

Time per phase (ms, the run shown above):

${table(['objects', 'sync', ...phaseNames], phases)}
`;
}

function memorySection(result: BenchResult | undefined): string {
  if (!result) return notRun('memory');
  const d = result.data as {
    web?: {
      idle: { rss: number };
      maxRss: number;
      hwm: number;
      maxRssAnon: number;
      maxRssFile: number;
      lastRss: number;
      samples: number;
      /** The live heap figures come from `--trace-gc`, only with `--profile`. */
      heapTuning?: {
        flags: string[];
        rps: number;
        cpuUsPerDelivery: number;
        maxRss: number;
        hwm: number;
        maxRssAnon: number;
        maxRssFile: number;
        liveAfterFullGc?: number;
        maxCommittedHeap?: number;
        fullGcs?: number;
      };
    };
    worker?: {
      objects: number;
      idle: { rss: number };
      maxRss: number;
      hwm: number;
      maxRssAnon: number;
      maxRssFile: number;
      firstDeployMs: number;
      resyncMs: number;
    };
    footprints: { role: string; steps: { module: string; rss: number; added: number }[] }[];
  };
  const rows: (string | number)[][] = [];
  if (d.web)
    rows.push([
      'web (under benchmark 1)',
      formatBytes(d.web.idle.rss),
      formatBytes(d.web.maxRss),
      formatBytes(d.web.hwm),
      `${formatBytes(d.web.maxRssAnon)} / ${formatBytes(d.web.maxRssFile)}`,
    ]);
  const t = d.web?.heapTuning;
  if (t)
    rows.push([
      t.flags.length ? `web with \`${t.flags.join(' ')}\` (same load)` : "web with Node's default heap sizing (same load)",
      '',
      formatBytes(t.maxRss),
      formatBytes(t.hwm),
      `${formatBytes(t.maxRssAnon)} / ${formatBytes(t.maxRssFile)}`,
    ]);
  if (d.worker)
    rows.push([
      `worker (deploying ${d.worker.objects} objects, then re-syncing)`,
      formatBytes(d.worker.idle.rss),
      formatBytes(d.worker.maxRss),
      formatBytes(d.worker.hwm),
      `${formatBytes(d.worker.maxRssAnon)} / ${formatBytes(d.worker.maxRssFile)}`,
    ]);
  const footprints = d.footprints
    .map(
      (f) =>
        `${f.role} role, each module imported in turn into one fresh \`node\`:\n\n${table(
          ['after importing', 'RSS', 'added'],
          f.steps.map((s) => [`\`${s.module}\``, formatBytes(s.rss), formatBytes(s.added)]),
        )}\n`,
    )
    .join('\n');
  return `${methodList(result)}
${table(['process', 'RSS idle after start', 'peak sampled RSS', 'VmHWM', 'at the peak: anonymous / file-backed'], rows)}
${t ? `\n${t.liveAfterFullGc !== undefined ? `Under the same load the web process's live heap after a full GC is ${formatBytes(t.liveAfterFullGc)} (\`--trace-gc\`, ${t.fullGcs} full GCs); the rest of its heap is garbage V8 lets accumulate between collections (with Node's default heap sizing its committed heap reached ${formatBytes(t.maxCommittedHeap ?? Number.NaN)}). ` : ''}With the defaults the web process served ${t.rps} deliveries/s at ${t.cpuUsPerDelivery} µs of CPU each, median of the same interleaved rounds of benchmark 1 as the deployed process.\n` : ''}${d.worker ? `\nThe worker process deployed the ${d.worker.objects} objects in ${d.worker.firstDeployMs} ms and re-synced them in ${d.worker.resyncMs} ms (from its sync records).\n` : ''}
${footprints}`;
}

function ms(value: number): string {
  return value >= 10_000 ? `${round(value / 1000, 1)} s` : `${Math.round(value)} ms`;
}

function realSection(result: BenchResult | undefined, previous?: BenchResult): string {
  if (!result) return notRun('real');
  const lead =
    'Sections 2 to 5 run against the in-repo Kubernetes API test server, whose rollouts complete at once; everything here runs against a real API server and its controllers, so the two sets of figures are not to be mixed.\n\n';
  const skipped = (result.data as { skipped?: string }).skipped;
  if (skipped) return `${lead}${methodList(result)}\n**Skipped in this run:** ${skipped}.\n`;
  const d = result.data as unknown as {
    kubernetes: { server: string; kubectl: string; binaries: string; startedByBenchmark: boolean };
    landfallCommit?: string;
    /** The machine's load average (1, 5, 15 min, as \`uptime\` shows it) when the run started and ended. */
    loadAverage?: { start: number[]; end: number[]; cores: number };
    sizes: SizeFigures[];
    merge: MergeData;
  };
  const k = d.kubernetes;
  const sides = ['landfall', 'kubectl'] as const;
  const times = d.sizes.flatMap((s) => [
    [
      s.objects,
      'first deploy',
      ms(s.median.landfall.first),
      ms(s.median.landfall.firstDryRunApply),
      ms(s.median.kubectl.first),
      `**${s.ratios.first}×**`,
      `**${s.ratios.firstDryRunApply}×**`,
      s.rounds.length,
    ],
    [
      s.objects,
      'unchanged re-sync',
      ms(s.median.landfall.resync),
      ms(s.median.landfall.resyncDryRunApply),
      ms(s.median.kubectl.resync),
      `**${s.ratios.resync}×**`,
      `**${s.ratios.resyncDryRunApply}×**`,
      s.rounds.length,
    ],
  ]);
  const requests = d.sizes.flatMap((s) =>
    (['first', 'resync'] as const).flatMap((which) =>
      sides.map((side) => {
        const r = s.perObject[side][which];
        return [
          s.objects,
          which === 'first' ? 'first deploy' : 'unchanged re-sync',
          side === 'landfall' ? 'Landfall' : 'kubectl',
          r.total,
          r.writes + r.inventoryWrites,
          r.dryRuns,
          r.reads,
          `${r.serverMsPerPatch} ms`,
        ];
      }),
    ),
  );
  const phaseNames = ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune'];
  const medianRound = (s: SizeFigures) =>
    [...s.rounds].sort((a, b) => a.landfall.first.wallMs - b.landfall.first.wallMs)[Math.floor(s.rounds.length / 2)] as Round;
  const phases = d.sizes.flatMap((s) => {
    const r = medianRound(s);
    return [
      [s.objects, 'first', ...phaseNames.map((p) => `${r.landfall.first.phases[p as keyof typeof r.landfall.first.phases] ?? 0}`), r.landfall.first.wallMs],
      [
        s.objects,
        're-sync',
        ...phaseNames.map((p) => `${r.landfall.resync.phases[p as keyof typeof r.landfall.resync.phases] ?? 0}`),
        r.landfall.resync.wallMs,
      ],
    ];
  });
  const cpu = d.sizes.flatMap((s) => {
    const r = medianRound(s);
    return (['first', 'resync'] as const).flatMap((which) =>
      sides.map((side) => {
        const c = r[side][which].cpu;
        return [
          s.objects,
          which === 'first' ? 'first deploy' : 'unchanged re-sync',
          side === 'landfall' ? 'Landfall' : 'kubectl',
          ms(r[side][which].wallMs),
          c.apiserver,
          c.etcd,
          c.controllers,
          c.client,
          c.other,
        ];
      }),
    );
  });
  const rounds = d.sizes.flatMap((s) =>
    s.rounds.map((r, i) => [
      s.objects,
      i + 1,
      r.first === 'landfall' ? 'Landfall, kubectl' : 'kubectl, Landfall',
      `${r.landfall.first.wallMs} (${r.landfall.first.dryRunApplyMs})`,
      r.kubectl.first.wallMs,
      `${r.landfall.resync.wallMs} (${r.landfall.resync.dryRunApplyMs})`,
      r.kubectl.resync.wallMs,
      `${r.landfall.first.busyBefore} / ${r.kubectl.first.busyBefore}`,
    ]),
  );
  const withRollout = d.sizes
    .filter((s) => s.median.kubectl.firstWithRollout !== undefined)
    .map((s) => `${s.objects}: ${ms(s.median.kubectl.firstWithRollout)} (Landfall's whole first deploy ${s.ratios.firstVsRollout}× that)`);
  const kubectlGets = d.sizes.map((s) => {
    const r = medianRound(s);
    return `${s.objects}: ${r.kubectl.resync.byVerb.GET ?? 0} GETs in ${r.kubectl.resync.getMs} ms, ${r.kubectl.resync.byVerb.PATCH ?? 0} PATCHes in ${r.kubectl.resync.patchMs} ms`;
  });
  return `${lead}${methodList(result)}
Run ${result.startedAt.replace('T', ' ').slice(0, 16)} UTC${d.landfallCommit ? ` with Landfall at commit \`${d.landfallCommit}\`` : ''}, on Kubernetes **${k.server}** (kube-apiserver, controller-manager, scheduler; binaries ${k.binaries}) with **kubectl ${k.kubectl}**; the control plane was ${k.startedByBenchmark ? 'started by the benchmark and stopped after it' : 'already running for this checkout'}.${d.loadAverage ? ` The machine's load average (1, 5, 15 min, as \`uptime\` shows it) was ${d.loadAverage.start.join(', ')} at the start and ${d.loadAverage.end.join(', ')} at the end, on ${d.loadAverage.cores} cores: other work shared it throughout, so only the ratios of one run, both sides measured side by side, are to be compared.` : ''}

### Apply scaling against \`kubectl apply --server-side\`

Median wall time over the rounds; the ratio is Landfall / kubectl (below 1: Landfall is faster). "Whole pipeline" is everything Landfall does for a sync, health wait included; "dry-run + apply" is the part that does what kubectl does (and more: every object is dry-run and compared with what is live before anything is written).

${table(['objects', 'sync', 'Landfall, whole pipeline', 'Landfall, dry-run + apply', 'kubectl apply --server-side', 'ratio, whole pipeline', 'ratio, dry-run + apply', 'rounds'], times)}
${withRollout.length ? `\nkubectl's first apply with its rollout waited for as well (from its exit until its Deployments were Current, polled every 250 ms: what Landfall's health phase waits for; not part of the ratios above): ${withRollout.join('; ')}.\n` : ''}
API requests per object (the median round by Landfall's first deploy; writes include Landfall's inventory ConfigMap, which an unchanged re-sync does not rewrite; server ms per PATCH is the mean time the API server spent on each write or dry-run, from the audit events' timestamps):

${table(['objects', 'sync', 'side', 'requests', 'writes', 'dry-runs', 'reads', 'server ms per PATCH'], requests)}

kubectl's own requests, unchanged re-sync (its \`-v=6\` log; OpenAPI documents it fetches on every run to validate, and its PATCHes one after another): ${kubectlGets.join('; ')}.

Landfall's time per phase (ms, the median round):

${table(['objects', 'sync', ...phaseNames, 'whole'], phases)}

CPU seconds during each step (the median round; \`other\` is every other process on the machine, which is shared):

${table(['objects', 'sync', 'side', 'wall', 'kube-apiserver', 'etcd', 'controllers + kwok', 'client', 'other'], cpu)}

Every round (ms; Landfall's dry-run + apply in brackets; busy cores on the machine in the second before each first deploy):

${table(['objects', 'round', 'first deploys in order', 'Landfall first', 'kubectl first', 'Landfall re-sync', 'kubectl re-sync', 'busy before (L / k)'], rounds)}

${previousText(d.sizes, previous)}### Merge to deployed on the real control plane

${mergeFiguresText(d.merge)}`;
}

/** The ratios and requests per object of this run beside the previous full run's (`real-previous.json`), when one was kept. */
function previousText(sizes: SizeFigures[], previous: BenchResult | undefined): string {
  const before = (previous?.data as { sizes?: SizeFigures[]; landfallCommit?: string } | undefined) ?? {};
  if (!previous || !before.sizes) return '';
  const rows = sizes.flatMap((s) => {
    const b = before.sizes?.find((x) => x.objects === s.objects);
    if (!b) return [];
    return (['first', 'resync'] as const).map((which) => [
      s.objects,
      which === 'first' ? 'first deploy' : 'unchanged re-sync',
      `${b.ratios[which]}× (${ms(b.median.landfall[which])} vs ${ms(b.median.kubectl[which])})`,
      `**${s.ratios[which]}×** (${ms(s.median.landfall[which])} vs ${ms(s.median.kubectl[which])})`,
      `${b.perObject.landfall[which].total} → ${s.perObject.landfall[which].total}`,
      `${b.perObject.landfall[which].dryRuns} → ${s.perObject.landfall[which].dryRuns}`,
      `${b.perObject.landfall[which].reads} → ${s.perObject.landfall[which].reads}`,
    ]);
  });
  return `### Before and after

The previous full run (${previous.startedAt.replace('T', ' ').slice(0, 16)} UTC${before.landfallCommit ? `, Landfall at \`${before.landfallCommit}\`` : ''}; kept in \`bench/results/real-previous.json\`) beside this one. Each run's ratio is Landfall / kubectl measured side by side in that run (whole pipeline; medians), so the ratios compare across runs even where the machine's load differed; the wall times do not.

${table(['objects', 'sync', 'before: ratio (Landfall vs kubectl)', 'now: ratio (Landfall vs kubectl)', 'Landfall requests per object', 'dry-runs per object', 'reads per object'], rows)}

`;
}

function floodSection(result: BenchResult | undefined): string {
  if (!result) return notRun('flood');
  const d = result.data as {
    chart: { memoryLimitBytes: number; nodeOptions: string };
    server: { maxBodyBytes: number; maxInFlightBytes: number; maxConnections: number };
    idle: { rss: number };
    peak: number;
    samples: { samples: number; maxRss: number; maxRssAnon: number; maxRssFile: number; hwm: number };
    result: {
      statuses: Record<string, Record<string, number>>;
      accepted: number;
      signed: number;
      signedStatuses: Record<string, number>;
      slowBodyMaxMs: number;
      slowHeaderMaxMs: number;
      silentMaxMs: number;
      ms: number;
    };
  };
  const r = d.result;
  const rows = Object.entries(r.statuses)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, answers]) => [
      kind,
      Object.values(answers).reduce((a, b) => a + b, 0),
      Object.entries(answers)
        .map(([status, n]) => `${status === 'closed' ? 'closed without an answer' : status} × ${n}`)
        .join(', '),
    ]);
  return `${methodList(result)}
**Peak RSS ${formatBytes(d.peak)}** against the chart's limit of ${formatBytes(d.chart.memoryLimitBytes)} (idle after start ${formatBytes(d.idle.rss)}; at the sampled peak ${formatBytes(d.samples.maxRssAnon)} anonymous, ${formatBytes(d.samples.maxRssFile)} file-backed); **${r.accepted} of ${r.signed} signed deliveries accepted** during the flood; the flood took ${round(r.ms / 1000, 1)} s.

What the attackers got:

${table(['requests', 'sent', 'answers'], rows)}
`;
}

/** BENCHMARKS.md for these results. */
export function renderReport(input: ReportInput): string {
  const { machine, results } = input;
  const totalMs = Object.values(results).reduce((sum, r) => sum + (r?.durationMs ?? 0), 0);
  const quick = Object.values(results).some((r) => r?.quick);
  const all = (['intake', 'merge', 'burst', 'apply', 'memory', 'flood', 'real'] as const).flatMap((name) => targetsOf(results[name]).map((t) => ({ name, t })));
  const summaryRows = all.map(({ name, t }) => [name, t.name, t.target, t.measured, mark(t.met)]);
  const notes = all.filter(({ t }) => t.note).map(({ name, t }) => `- **${t.name}** (${name}): ${t.note}`);
  const m = machine;
  const when = m.startedAt ? m.startedAt.replace('T', ' ').slice(0, 16) + ' UTC' : 'unknown';
  return `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) from the raw results in \`bench/results/*.json\`; do not edit by hand.
Run started ${when}${quick ? ' — **quick mode: a smoke test of a few seconds per benchmark; these figures are not meant to be quoted**' : ''}.
Each benchmark runs alone, one after another; every baseline runs on the same machine in the same run as what it is compared with.
All traffic stays on 127.0.0.1.

## Summary

${table(['benchmark', 'what', 'target', 'measured', 'result'], summaryRows)}

${notes.length ? `Notes on the targets (for every missed one: by how much and what bounds it):\n\n${notes.join('\n')}\n` : 'Every target is met.\n'}
## Machine and versions

- **CPU:** ${m.cpu}, ${m.cores} cores; **memory** ${m.memoryGiB} GiB (${m.freeMemoryGiB} GiB free at the start); ${m.os}; load average at the start ${m.loadAverage.join(', ')}.
  Other processes may run on this machine (it is shared): interleaved rounds and medians keep a busy moment from landing on one subject.
- **Node** ${m.node}, **Redis** ${m.redis}, **${m.git}**, **kubectl** ${m.kubectl.replace(/^Client Version: /, '')}, **helm** ${m.helm}.
- **Packages:** ${Object.entries(m.packages)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.
- **Landfall** ${m.landfall.version} at commit \`${m.landfall.commit}\`${m.landfall.dirty ? ' (with uncommitted changes in src/)' : ''}, built with \`npm run build\` before the run.

## 1. Intake throughput

${intakeSection(results.intake)}
## 2. Merge to deployed

${mergeSection(results.merge)}
## 3. Burst coalescing

${burstSection(results.burst)}
## 4. Apply scaling

${applySection(results.apply)}
## 5. Memory

${memorySection(results.memory)}
## 6. Flood

${floodSection(results.flood)}
## 7. On a real control plane

${realSection(results.real, input.previous?.real)}
## Reproducing

\`\`\`sh
npm run bench                       # every benchmark; writes bench/results/*.json and this file (about ${Math.max(1, Math.round(totalMs / 60_000))} min here)
npm run bench -- --only intake,memory   # some of them (memory is built from intake and apply)
npm run bench -- --only flood           # the flood alone (test/hardening/flood.test.ts runs a shorter one)
npm run bench -- --quick --out /tmp/b   # smoke test, a few seconds each, results kept out of the repository
npm run bench -- --report-only      # regenerate this file from bench/results/*.json
LANDFALL_BENCH_DIST=/path/to/other/dist npm run bench -- --only burst   # the Landfall processes from another build, to compare two builds
npm run bench -- --profile              # also CPU profiles and GC traces: where the time goes (slower; off by default)
LANDFALL_BENCH_PROFILE_DIR=/tmp/prof npm run bench -- --only burst      # profile the worker process during the burst, its files kept there
npm run bench -- --only real        # the real control plane part alone (starts one unless \`npm run cluster -- up\` left one running)
LANDFALL_BENCH_REAL_ROUNDS=3 npm run bench -- --only real   # the same with 3 rounds of every size (default 5, 5 and 3)
\`\`\`

Needs what \`npm test\` needs: Redis on 127.0.0.1:6379 and git; kubectl and helm in \`./tools\` (\`npm run setup-tools\`).
The real control plane part (section 7) needs Go or its binaries cached (\`npm run cluster:build\`); without them, or in a quick run with no control plane up, it records why it skipped. \`LANDFALL_REAL=0\` skips it.
The @octokit/webhooks baseline runs when \`@octokit/webhooks\` is installed (it is not a dependency of Landfall).
`;
}
