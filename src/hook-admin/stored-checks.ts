import type { Redis } from 'ioredis';
import { z } from 'zod';
import { FORGE_IDS, type AppConfig } from '../config/schema.js';
import type { Keys } from '../store/keys.js';

/**
 * One repository's last webhook check as stored for the dashboard, the API and the metric.
 * Written by the worker's periodic check (monitor.ts), read by every role; the schema is the
 * codec, so what comes back from Redis is validated rather than cast.
 */
export const storedWebhookCheckSchema = z.object({
  forge: z.enum(FORGE_IDS),
  repo: z.string(),
  /** The apps deployed from this repository. */
  apps: z.array(z.string()),
  ok: z.boolean(),
  checked: z.boolean(),
  hookId: z.string().optional(),
  problems: z.array(z.string()),
  /** Failed deliveries not recovered since, newest first (at most 20 kept). */
  failedDeliveries: z.array(z.object({ id: z.string(), event: z.string(), statusCode: z.number(), at: z.number() })),
  /** Redeliveries this check asked for. */
  redelivered: z.array(
    z.object({
      forge: z.enum(FORGE_IDS),
      repo: z.string(),
      deliveryId: z.string(),
      guid: z.string().optional(),
      event: z.string(),
      statusCode: z.number(),
      error: z.string().optional(),
    }),
  ),
  /** A hook the forge had disabled that this check tested back to life (GitLab), and the plans it queued. */
  recovered: z.object({ reenabled: z.boolean(), planned: z.number(), error: z.string().optional() }).optional(),
  /** What needs no fixing but is worth knowing. */
  notes: z.array(z.string()).optional(),
  checkedAt: z.number(),
});

/** One repository's last webhook check as stored. */
export type StoredWebhookCheck = z.infer<typeof storedWebhookCheckSchema>;

/** The hash field a repository's check is stored under. */
export const checkField = (forge: string, repo: string) => `${forge}|${repo.toLowerCase()}`;

/** Parses a stored check; an entry that does not parse (written by another version) reads as absent. */
function parseStored(raw: string): StoredWebhookCheck | undefined {
  try {
    const parsed = storedWebhookCheckSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every stored webhook check. */
export async function readWebhookChecks(redis: Redis, keys: Keys): Promise<StoredWebhookCheck[]> {
  const all = await redis.hgetall(keys.webhooks());
  return Object.values(all)
    .map(parseStored)
    .filter((c): c is StoredWebhookCheck => c !== undefined)
    .sort((a, b) => checkField(a.forge, a.repo).localeCompare(checkField(b.forge, b.repo)));
}

/** The stored webhook check of an app's repository, if one ran. */
export async function readWebhookCheck(redis: Redis, keys: Keys, app: AppConfig): Promise<StoredWebhookCheck | undefined> {
  const raw = await redis.hget(keys.webhooks(), checkField(app.forge, app.repo));
  return raw ? parseStored(raw) : undefined;
}
