/**
 * Benchmark 6, flood: the web role, deployed as the chart deploys it (its Node flags), under the
 * unauthenticated floods of test/hardening/flood.test.ts while a forge sends signed deliveries:
 * peak RSS against the chart's memory limit, deliveries accepted, and how long slow connections
 * were held.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { chartWebLimits, runFlood, type FloodPlan } from '../test/support/flood.js';
import { freePort, serverYaml, startLandfall, webNodeFlags } from './landfall.js';
import {
  benchResult,
  benchPrefix,
  formatBytes,
  procMemory,
  REDIS_URL,
  redisForBench,
  ROOT,
  sampleRss,
  tempDir,
  withScope,
  type BenchContext,
  type BenchResult,
  type TargetCheck,
} from './lib.js';

const exec = promisify(execFile);
const SECRET = 'bench-flood-webhook-secret';
/** Shorter than the defaults (10 s, 30 s) so a run is short (shorter still in a quick run); the memory settings are the defaults. */
const TIMEOUTS = { full: { headersMs: 3_000, requestMs: 5_000 }, quick: { headersMs: 1_000, requestMs: 2_000 } };
/** Node looks for expired requests once a second; on a machine busy with the flood, accepting and checking lag too. */
const TIMEOUT_SLACK_MS = 4_000;

/** Runs benchmark 6 and returns its result. */
export async function runFloodBench(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now();
  const { headersMs: HEADERS_TIMEOUT_MS, requestMs: REQUEST_TIMEOUT_MS } = ctx.quick ? TIMEOUTS.quick : TIMEOUTS.full;
  return withScope(async (scope) => {
    const dir = await tempDir(scope, 'flood');
    const prefix = benchPrefix('flood');
    redisForBench(scope, prefix);
    const chart = chartWebLimits();
    const port = await freePort();
    const yaml = `${serverYaml(
      {
        host: '127.0.0.1',
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        logLevel: 'info',
        spoolDir: join(dir, 'spool'),
        apiTokens: ['bench-flood-api-token'],
        headersTimeout: `${HEADERS_TIMEOUT_MS}ms`,
        requestTimeout: `${REQUEST_TIMEOUT_MS}ms`,
      },
      {},
    )}
redis: { url: "${REDIS_URL}", prefix: ${prefix} }
forges: { github: { webhookSecret: "${SECRET}" } }
apps:
  - { name: web, forge: github, repo: acme/web, cloneUrl: "file:///nonexistent/web.git", branch: main, namespace: web }
`;
    const server = parseConfig(yaml, {}, 'flood.yaml').server;
    const flags = webNodeFlags();
    ctx.log('flood: starting landfall web with the chart flags');
    const web = await startLandfall(scope, dir, 'landfall-web', 'web', yaml, port, flags);
    const idle = await procMemory(web.pid);
    const rss = sampleRss(web.pid, 50);
    const plan: FloodPlan = {
      port,
      maxBodyBytes: server.maxBodyBytes,
      secret: SECRET,
      repo: 'acme/web',
      branch: 'main',
      ...(ctx.quick
        ? {
            bigBodies: { concurrent: 12, waves: 1 },
            nonHookBodies: 4,
            unknownForge: 4,
            slowBodies: 2,
            slowBodiesOneSource: 4,
            slowHeaders: 20,
            silent: 10,
            signedDeliveries: 10,
            signedEveryMs: 150,
          }
        : {
            bigBodies: { concurrent: 40, waves: 6 },
            nonHookBodies: 24,
            unknownForge: 24,
            slowBodies: 12,
            slowBodiesOneSource: 40,
            slowHeaders: 200,
            silent: 100,
            signedDeliveries: 80,
            signedEveryMs: 150,
          }),
    };
    ctx.log('flood: flooding');
    const result = await runFlood(plan);
    const samples = await rss.stop();
    const after = await procMemory(web.pid);
    const peak = Math.max(after.hwm, samples.maxRss);
    const running =
      (await fetch(`${web.url}/healthz`).then(
        (r) => r.status,
        () => 0,
      )) === 200;
    const commit = await exec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).then(
      (r) => r.stdout.trim(),
      () => 'unknown',
    );
    const big = result.statuses['big body, wrong signature'] ?? {};
    const bigChunked = result.statuses['big body, chunked, wrong signature'] ?? {};
    const targets: TargetCheck[] = [
      {
        name: 'Web peak RSS under unauthenticated floods',
        target: `< ${formatBytes(chart.memoryLimitBytes)} (the chart's web memory limit)`,
        measured: `${formatBytes(peak)} (idle after start ${formatBytes(idle.rss)}), process still answering: ${running ? 'yes' : 'no'}`,
        met: peak < chart.memoryLimitBytes && running,
        note: `${peak < chart.memoryLimitBytes ? `met with ${formatBytes(chart.memoryLimitBytes - peak)} to spare` : `missed by ${formatBytes(peak - chart.memoryLimitBytes)}`}, with the defaults server.maxBodyBytes ${formatBytes(server.maxBodyBytes)} and server.maxInFlightBytes ${formatBytes(server.maxInFlightBytes)}; of ${plan.bigBodies.concurrent * plan.bigBodies.waves} maximum-size bodies with wrong signatures, ${(big['401'] ?? 0) + (bigChunked['401'] ?? 0)} were read and refused (401) and ${(big['503'] ?? 0) + (bigChunked['503'] ?? 0)} answered 503 before their body`,
      },
      {
        name: 'Signed deliveries accepted during the flood',
        target: 'all',
        measured: `${result.accepted} of ${result.signed}`,
        met: result.signed > 0 && result.accepted === result.signed,
      },
      {
        name: 'Slow and silent connections cut off',
        target: `within headersTimeout ${HEADERS_TIMEOUT_MS / 1000} s / requestTimeout ${REQUEST_TIMEOUT_MS / 1000} s (+ ${TIMEOUT_SLACK_MS / 1000} s)`,
        measured: `slow headers after ${result.slowHeaderMaxMs} ms, silent after ${result.silentMaxMs} ms, slow bodies after ${result.slowBodyMaxMs} ms (at most)`,
        met:
          result.slowHeaderMaxMs <= HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS &&
          result.silentMaxMs <= HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS &&
          result.slowBodyMaxMs <= REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS,
      },
    ];
    return benchResult(ctx, 'flood', 'Flood', started, {
      method: [
        `\`node ${flags.join(' ')} dist/main.js serve --role web\` (the chart's \`web.nodeOptions\`; its memory limit, \`web.resources.limits.memory\`, is ${formatBytes(chart.memoryLimitBytes)}), Landfall's defaults except shorter header and request timeouts (${HEADERS_TIMEOUT_MS / 1000} s, ${REQUEST_TIMEOUT_MS / 1000} s) to keep the run short; Redis on 127.0.0.1. Measured at commit \`${commit}\`.`,
        `All at once, each attacker connection from its own address in 127.0.1.0/24 (so the per-source rate limits see a botnet, not one address): ${plan.bigBodies.waves} wave${plan.bigBodies.waves === 1 ? '' : 's'} of ${plan.bigBodies.concurrent} concurrent ${formatBytes(plan.maxBodyBytes)} bodies with a wrong signature to /hooks/github (one in four chunked, without a Content-Length); ${plan.nonHookBodies} of the same size to /nope and /api/apps/web/sync (half chunked); ${plan.unknownForge} to /hooks/<a name that is no forge>; ${plan.slowBodies} connections trickling a 256 KB body at 5 KB/s; ${plan.slowBodiesOneSource} more from one address trickling 1 MB bodies; ${plan.slowHeaders} trickling header lines; ${plan.silent} sending nothing.`,
        `Meanwhile a forge at 127.0.0.3 sends a signed push every ${plan.signedEveryMs} ms (at most ${plan.signedDeliveries}) until the flood ends.`,
        "Peak RSS is the larger of the kernel's VmHWM and /proc/<pid>/status VmRSS sampled every 50 ms; connection times are from the attacker's connect to the server closing the connection.",
      ],
      targets,
      data: {
        commit,
        chart,
        plan: { ...plan, port: undefined },
        timeouts: { headersMs: HEADERS_TIMEOUT_MS, requestMs: REQUEST_TIMEOUT_MS },
        server: { maxBodyBytes: server.maxBodyBytes, maxInFlightBytes: server.maxInFlightBytes, maxConnections: server.maxConnections },
        idle,
        peak,
        samples,
        result,
        running,
      },
    });
  });
}
