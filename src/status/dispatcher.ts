import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import type { StatusReporter } from './reporter.js';
import { short, statusContext } from './wording.js';

const GROUP = 'landfall-status';

/**
 * Turns accepted events (the intake's stream) into "queued" statuses, in the worker role, so the
 * webhook path stays a couple of Redis writes. A consumer group shares the work across worker
 * processes; entries a crashed consumer left unacknowledged are claimed again after a minute.
 */
export function startStatusDispatcher(deps: { redis: Redis; keys: Keys; config: Config; reporter: StatusReporter; history: History; log: Logger }): { stop(): Promise<void> } {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const stream = deps.keys.events();
  // A dedicated connection: XREADGROUP BLOCK holds it.
  const redis = deps.redis.duplicate();
  redis.on('error', () => undefined);
  let stopped = false;

  async function handle(fields: string[]): Promise<void> {
    const entry: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] as string] = fields[i + 1] as string;
    const app = apps.get(entry.a ?? '');
    if (!app || !entry.s || !entry.j) return;
    const plan = entry.k === 'p';
    if (!plan && (await deps.history.appState(app.name)).deployedSha === entry.s) return;
    await deps.reporter.report({
      forge: app.forge,
      repo: app.repo,
      sha: entry.s,
      context: statusContext(app.name, plan ? 'plan' : 'deploy'),
      state: 'queued',
      description: plan ? `Queued to plan ${short(entry.s)}` : `Queued to deploy ${short(entry.s)} to ${app.cluster}/${app.namespace}`,
      targetUrl: `${deps.config.server.publicUrl}/syncs/${entry.j}`,
      ...(plan ? (entry.r ? { ref: entry.r } : {}) : { ref: app.branch }),
      recordId: entry.j,
      at: Number(entry.t) || Date.now(),
    });
  }

  async function createGroup(): Promise<void> {
    await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  }

  async function loop(): Promise<void> {
    let lastClaim = 0;
    let grouped = false;
    while (!stopped) {
      try {
        if (!grouped) {
          await createGroup();
          grouped = true;
        }
        if (Date.now() - lastClaim > 30_000) {
          lastClaim = Date.now();
          const claimed = (await redis.xautoclaim(stream, GROUP, consumer, 60_000, '0-0', 'COUNT', 100)) as [string, [string, string[]][]];
          for (const [id, fields] of claimed[1] ?? []) {
            if (fields) await handle(fields);
            await redis.xack(stream, GROUP, id);
          }
        }
        const batch = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'BLOCK', 1_000, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            await handle(fields).catch((err: Error) => deps.log.warn({ err: err.message }, 'queued status not recorded'));
            await redis.xack(stream, GROUP, id);
          }
        }
      } catch (err) {
        if (stopped) break;
        // A Redis that came back empty has no group: make it again.
        if (/NOGROUP/.test((err as Error).message)) grouped = false;
        deps.log.warn({ err: (err as Error).message }, 'status dispatcher: redis error; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  const running = loop().catch((err: Error) => deps.log.error({ err: err.message }, 'status dispatcher stopped'));
  return {
    async stop() {
      stopped = true;
      redis.disconnect();
      await running;
    },
  };
}
