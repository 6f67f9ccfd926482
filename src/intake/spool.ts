import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { planJobSchema, previewJobSchema, syncJobSchema } from '../model/jobs.js';
import { IntakeUnavailableError, type Intake } from '../queue/producer.js';

/** A delivery kept on local disk while Redis was away: its work, as the intake takes it. */
const spooledDeliverySchema = z.object({
  forge: z.string(),
  deliveryId: z.string(),
  items: z.array(
    z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('sync'), data: syncJobSchema.omit({ generation: true }) }),
      z.object({ kind: z.literal('plan'), data: planJobSchema }),
      z.object({ kind: z.literal('preview'), data: previewJobSchema.omit({ seq: true }) }),
    ]),
  ),
  spooledAt: z.number(),
});

/** A delivery kept on local disk while Redis was away. */
export type SpooledDelivery = z.infer<typeof spooledDeliverySchema>;

/** Limits of the spool: beyond them a delivery is refused (503) rather than risking the disk. */
export interface SpoolOptions {
  dir: string;
  maxEntries?: number;
}

/**
 * A write-ahead spool for deliveries Redis could not take: one file per delivery, written to a
 * temporary name, fsynced, renamed into place and the directory fsynced, so an acknowledged
 * delivery survives a crash of this process. Names sort in arrival order.
 */
export function createSpool(options: SpoolOptions) {
  const maxEntries = options.maxEntries ?? 100_000;
  let seq = 0;
  let ready: Promise<void> | undefined;
  let count: number | undefined;

  async function ensureDir(): Promise<void> {
    ready ??= mkdir(options.dir, { recursive: true }).then(() => undefined);
    await ready;
  }

  async function names(): Promise<string[]> {
    await ensureDir();
    return (await readdir(options.dir)).filter((n) => n.endsWith('.json')).sort();
  }

  async function syncDir(): Promise<void> {
    const handle = await open(options.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  return {
    dir: options.dir,
    /** Deliveries waiting; read from disk once, then kept up to date. */
    async size(): Promise<number> {
      // An unusable spool holds nothing; writing to it fails on its own, with a 503.
      count ??= await names().then(
        (n) => n.length,
        () => 0,
      );
      return count;
    },
    /** Writes a delivery durably; throws when it cannot (then the caller answers 503). */
    async write(entry: Omit<SpooledDelivery, 'spooledAt'>): Promise<string> {
      await ensureDir();
      if ((await this.size()) >= maxEntries) throw new Error(`spool is full (${maxEntries} deliveries)`);
      const name = `${String(Date.now()).padStart(15, '0')}-${String(seq++).padStart(9, '0')}-${process.pid}.json`;
      const tmp = join(options.dir, `.${name}.tmp`);
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ ...entry, spooledAt: Date.now() } satisfies SpooledDelivery));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(options.dir, name));
      await syncDir();
      count = (count ?? 0) + 1;
      return name;
    },
    /** Oldest first. */
    names,
    async read(name: string): Promise<SpooledDelivery | undefined> {
      try {
        const parsed = spooledDeliverySchema.safeParse(JSON.parse(await readFile(join(options.dir, name), 'utf8')));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
    async remove(name: string): Promise<void> {
      await rm(join(options.dir, name), { force: true });
      if (count !== undefined) count = Math.max(0, count - 1);
    },
    /** Whether the directory can be written at all (readiness). */
    async writable(): Promise<boolean> {
      try {
        await ensureDir();
        await stat(options.dir);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The spool's type. */
export type Spool = ReturnType<typeof createSpool>;

/**
 * Replays the spool into Redis, oldest first, whenever Redis is back: each delivery goes through
 * the intake as if it had just arrived (its delivery id still de-duplicates), and its file is
 * removed only once Redis took it. Stops at the first failure and tries again later.
 */
export function startSpoolReplayer(deps: { spool: Spool; intake: Intake; log: Logger; intervalMs?: number }): {
  stop(): Promise<void>;
  drain(): Promise<number>;
} {
  let running: Promise<number> | undefined;
  let stopped = false;

  async function drainOnce(): Promise<number> {
    let replayed = 0;
    for (const name of await deps.spool.names()) {
      if (stopped) break;
      const entry = await deps.spool.read(name);
      if (!entry) {
        await deps.spool.remove(name);
        continue;
      }
      try {
        await deps.intake.enqueue(entry.forge, entry.deliveryId, entry.items);
      } catch (err) {
        if (err instanceof IntakeUnavailableError) break;
        deps.log.error({ err, file: name }, 'spooled delivery could not be replayed; keeping it');
        break;
      }
      await deps.spool.remove(name);
      replayed++;
    }
    if (replayed > 0) deps.log.info({ replayed, left: await deps.spool.size() }, 'spooled deliveries replayed');
    return replayed;
  }

  function drain(): Promise<number> {
    running ??= drainOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    void deps.spool
      .size()
      .then((n) => (n > 0 ? drain() : 0))
      .catch(() => undefined);
  }, deps.intervalMs ?? 1_000);
  timer.unref();
  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
