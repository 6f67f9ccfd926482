import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { StoredDataError } from '../store/codec.js';
import { decodeEvent } from '../store/events.js';
import type { History } from '../store/history.js';
import type { Keys } from '../store/keys.js';
import type { StatusReporter } from './reporter.js';
import { short, statusContext } from './wording.js';

const GROUP = 'landfall-status';

/** Stream entries as XREADGROUP and XAUTOCLAIM return them; a claimed entry that was trimmed away has no fields. */
const entries = z.array(z.tuple([z.string(), z.array(z.string()).nullable()]));

/** XREADGROUP's answer: per stream, its name and entries; null when the block timed out. */
const readReply = z.array(z.tuple([z.string(), entries])).nullable();

/** XAUTOCLAIM's answer: the next cursor and the claimed entries (Redis 7 adds deleted ids). */
const claimReply = z.tuple([z.string(), entries]).rest(z.unknown());

/**
 * Turns accepted events (the intake's stream) into "queued" statuses, in the worker role, so the
 * webhook path stays a couple of Redis writes. A consumer group shares the work across worker
 * processes; entries a crashed consumer left unacknowledged are claimed again after a minute.
 */
export function startStatusDispatcher(deps: { redis: Redis; keys: Keys; config: Config; reporter: StatusReporter; history: History; log: Logger }): {
  stop(): Promise<void>;
} {
  const apps = new Map(deps.config.apps.map((a) => [a.name, a]));
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const stream = deps.keys.events();
  // A dedicated connection: XREADGROUP BLOCK holds it.
  const redis = deps.redis.duplicate();
  redis.on('error', () => undefined);
  let stopped = false;

  /** Records the "queued" status of one stream entry; an entry that does not read is logged and skipped. */
  async function handle(id: string, fields: readonly string[]): Promise<void> {
    const event = decodeEvent(stream, id, fields);
    const app = apps.get(event.app);
    if (!app) return;
    const plan = event.kind === 'plan';
    if (!plan && (await deps.history.appState(app.name)).deployedSha === event.sha) return;
    await deps.reporter.report({
      forge: app.forge,
      repo: app.repo,
      sha: event.sha,
      context: statusContext(app.name, plan ? 'plan' : 'deploy'),
      state: 'queued',
      description: plan ? `Queued to plan ${short(event.sha)}` : `Queued to deploy ${short(event.sha)} to ${app.cluster}/${app.namespace}`,
      targetUrl: `${deps.config.server.publicUrl}/syncs/${event.jobId}`,
      ...(plan ? (event.ref ? { ref: event.ref } : {}) : { ref: app.branch }),
      recordId: event.jobId,
      at: event.at || Date.now(),
    });
  }

  /** Handles an entry, logging instead of throwing, and acknowledges it either way. */
  async function handleAndAck(id: string, fields: readonly string[] | null): Promise<void> {
    if (fields) {
      await handle(id, fields).catch((err: unknown) => {
        if (err instanceof StoredDataError) deps.log.warn({ err }, 'events stream entry skipped');
        else deps.log.warn({ err }, 'queued status not recorded');
      });
    }
    await redis.xack(stream, GROUP, id);
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
          const [, claimed] = claimReply.parse(await redis.xautoclaim(stream, GROUP, consumer, 60_000, '0-0', 'COUNT', 100));
          for (const [id, fields] of claimed) await handleAndAck(id, fields);
        }
        const batch = readReply.parse(await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'BLOCK', 1_000, 'STREAMS', stream, '>'));
        for (const [, read] of batch ?? []) {
          for (const [id, fields] of read) await handleAndAck(id, fields);
        }
      } catch (err) {
        if (stopped) break;
        // A Redis that came back empty has no group: make it again.
        if (err instanceof Error && /NOGROUP/.test(err.message)) grouped = false;
        deps.log.warn({ err }, 'status dispatcher: redis error; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  const running = loop().catch((err: unknown) => deps.log.error({ err }, 'status dispatcher stopped'));
  return {
    async stop() {
      stopped = true;
      redis.disconnect();
      await running;
    },
  };
}
