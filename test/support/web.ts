import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import type { Metrics } from '../../src/metrics/families.js';
import { configSecrets } from '../../src/log/redact.js';
import { createProducerConnection } from '../../src/redis/connection.js';
import { createWebRuntime, type WebRuntime } from '../../src/runtime/web-role.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A running web role on a real socket, with everything it logged. */
export interface TestWeb {
  url: string;
  runtime: WebRuntime;
  config: Config;
  logs: string[];
  post(path: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; json: any; text: string }>;
}

/**
 * Starts the web role from YAML configuration on 127.0.0.1 (free port), logging into memory.
 * `redis.url` and `redis.prefix` are filled in by the caller's test Redis. `port`: a port of the
 * caller's choosing (when the configuration must name it, as `server.publicUrl` does).
 */
export async function startWeb(t: Teardown, yaml: string, env: NodeJS.ProcessEnv = {}, options: { metrics?: Metrics; port?: number } = {}): Promise<TestWeb> {
  // A spool of its own: test files run in parallel and must never replay each other's deliveries.
  const spoolDir = await mkdtemp(join(tmpdir(), 'landfall-spool-'));
  t.teardown(() => rm(spoolDir, { recursive: true, force: true }));
  const config = parseConfig(yaml, { LANDFALL_SERVER__SPOOL_DIR: spoolDir, LANDFALL_SERVER__HOST: '127.0.0.1', ...env }, 'test.yaml');
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'debug', secrets: configSecrets(config), destination });
  const redis = createProducerConnection(config.redis);
  const runtime = await createWebRuntime(config, log, { redis, ...(options.metrics ? { metrics: options.metrics } : {}) });
  await runtime.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = runtime.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(async () => {
    await runtime.close();
    await redis.quit().catch(() => redis.disconnect());
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    runtime,
    config,
    logs,
    async post(path, body, headers) {
      const res = await fetch(`${url}${path}`, { method: 'POST', body, headers });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
  };
}
