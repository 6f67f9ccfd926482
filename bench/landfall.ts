/**
 * Starting Landfall itself for a benchmark: configuration files, and `dist/main.js serve` as a
 * separate process (the built CLI, as it runs in production).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { Queue } from 'bullmq';
import { createIntake, type Intake } from '../src/queue/producer.js';
import { createProducerConnection } from '../src/redis/connection.js';
import { createKeys } from '../src/store/keys.js';
import { freePort, REDIS_URL, startNode, waitForHttp, ROOT, type Child, type Scope } from './lib.js';

/**
 * `server:` settings for a benchmark, keeping only the optional keys this build's schema knows.
 * The benchmarks raise the per-address webhook rate limit (all load comes from one address,
 * 127.0.0.1, where a forge's deliveries come from many) and give each run a spool directory
 * of its own; a build without those settings simply does not get them.
 */
export function serverYaml(required: Record<string, unknown>, optional: Record<string, unknown>): string {
  const keep: Record<string, unknown> = { ...required };
  for (const [key, value] of Object.entries(optional)) {
    const candidate = { ...keep, [key]: value };
    try {
      parseConfig(`server: ${JSON.stringify(candidate)}\n`, {}, 'bench.yaml');
      keep[key] = value;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
    }
  }
  return `server: ${JSON.stringify(keep)}`;
}

/** The optional server settings every benchmark asks for (see {@link serverYaml}). */
export function benchServerOptions(spoolDir: string): Record<string, unknown> {
  return { spoolDir, rateLimit: { perSecond: 1_000_000, burst: 1_000_000, failuresPerMinute: 1_000_000 } };
}

/** A Landfall process started from `dist/main.js`. */
export interface LandfallProcess extends Child {
  url: string;
  configFile: string;
}

/**
 * Writes `yaml` to `<dir>/<label>.yaml` and runs `node [nodeArgs] dist/main.js serve --role <role>
 * --config <file>`; resolves once `/healthz` answers. `port` must be the configured server port.
 */
export async function startLandfall(
  scope: Scope,
  dir: string,
  label: string,
  role: 'web' | 'worker' | 'all',
  yaml: string,
  port: number,
  nodeArgs: string[] = [],
): Promise<LandfallProcess> {
  const configFile = join(dir, `${label}.yaml`);
  await writeFile(configFile, yaml);
  // LANDFALL_BENCH_DIST points at another build (e.g. of an older commit) to compare two builds.
  const dist = process.env.LANDFALL_BENCH_DIST ?? join(ROOT, 'dist');
  // A worker-only process answers its probes on worker.probePort, not server.port: point it at `port`.
  const env = role === 'worker' ? { LANDFALL_WORKER__PROBE_PORT: String(port) } : {};
  const child = await startNode(scope, dir, label, [...nodeArgs, join(dist, 'main.js'), 'serve', '--role', role, '--config', configFile], env);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return { ...child, url, configFile };
}

/**
 * The V8 flags the web role is deployed with: the chart's `web.nodeOptions` (docker-compose.yml
 * sets the same; a test keeps them equal). The benchmarks run the web role as it is deployed.
 */
export function webNodeFlags(): string[] {
  const values = parse(readFileSync(join(ROOT, 'charts/landfall/values.yaml'), 'utf8')) as { web?: { nodeOptions?: string } };
  return (values.web?.nodeOptions ?? '').split(/\s+/).filter(Boolean);
}

/** A free port for a Landfall process. */
export { freePort };

/**
 * Landfall's own intake in this process, on its own producer connection and queues under
 * `prefix` (closed when the scope closes): to queue syncs as the web role would, without HTTP.
 */
export function benchIntake(scope: Scope, prefix: string): Intake {
  const producer = createProducerConnection(REDIS_URL);
  const syncQueue = new Queue('sync', { connection: producer, prefix });
  const planQueue = new Queue('plan', { connection: producer, prefix });
  scope.teardown(async () => {
    await syncQueue.close();
    await planQueue.close();
    await producer.quit().catch(() => producer.disconnect());
  });
  return createIntake({ redis: producer, keys: createKeys(prefix), syncQueue, planQueue, prefix });
}
