import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig, Config, ForgeId } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { Keys } from '../store/keys.js';
import type { ForgeApi } from './api.js';
import { checkWebhooks, redeliverFailed, type HookCheckResult, type Redelivery } from './webhooks.js';

/** GitHub keeps deliveries for 3 days; a redelivery claim lasts as long, so each is asked for once. */
const REDELIVERY_CLAIM_SECONDS = 3 * 24 * 3600;

/** One repository's last webhook check as stored for the dashboard, the API and the metric. */
export interface StoredWebhookCheck {
  forge: ForgeId;
  repo: string;
  /** The apps deployed from this repository. */
  apps: string[];
  ok: boolean;
  checked: boolean;
  hookId?: string;
  problems: string[];
  /** Failed deliveries not recovered since, newest first (at most 20 kept). */
  failedDeliveries: { id: string; event: string; statusCode: number; at: number }[];
  /** Redeliveries this check asked for. */
  redelivered: Redelivery[];
  checkedAt: number;
}

const field = (forge: string, repo: string) => `${forge}|${repo.toLowerCase()}`;

/** Every stored webhook check. */
export async function readWebhookChecks(redis: Redis, keys: Keys): Promise<StoredWebhookCheck[]> {
  const all = await redis.hgetall(keys.webhooks());
  return Object.values(all)
    .map((v) => JSON.parse(v) as StoredWebhookCheck)
    .sort((a, b) => field(a.forge, a.repo).localeCompare(field(b.forge, b.repo)));
}

/** The stored webhook check of an app's repository, if one ran. */
export async function readWebhookCheck(redis: Redis, keys: Keys, app: AppConfig): Promise<StoredWebhookCheck | undefined> {
  const raw = await redis.hget(keys.webhooks(), field(app.forge, app.repo));
  return raw ? (JSON.parse(raw) as StoredWebhookCheck) : undefined;
}

/** Dependencies of {@link runWebhookCheck}. */
export interface WebhookMonitorDeps {
  config: Config;
  apis: Map<ForgeId, ForgeApi>;
  redis: Redis;
  keys: Keys;
  log: Logger;
  metrics?: Metrics;
}

/**
 * Checks every configured repository's webhook, asks GitHub and GitLab to send again the
 * deliveries that failed while Landfall could not take them (and that intake has not accepted
 * since), and stores what it found for the dashboard and `landfall_webhook_problems`. Runs at
 * worker start and every `worker.webhookCheckInterval`; safe to run from several workers at once.
 */
export async function runWebhookCheck(deps: WebhookMonitorDeps): Promise<{ checks: HookCheckResult[]; redelivered: Redelivery[] }> {
  const { config, apis, redis, keys, log } = deps;
  const accepted = async (forge: ForgeId, guid: string) => (await redis.exists(keys.delivery(forge, guid))) === 1;
  const checks = await checkWebhooks(config, apis, config.apps, { accepted });
  const redelivered = await redeliverFailed(apis, checks, {
    accepted,
    claim: async (forge, key) => (await redis.set(keys.redelivered(forge, key), String(Date.now()), 'EX', REDELIVERY_CLAIM_SECONDS, 'NX')) === 'OK',
    release: async (forge, key) => void (await redis.del(keys.redelivered(forge, key))),
  });
  for (const r of redelivered) {
    deps.metrics?.webhookRedeliveries.inc({ forge: r.forge, result: r.error ? 'failed' : 'requested' });
    if (r.error) log.warn({ forge: r.forge, repo: r.repo, delivery: r.deliveryId, err: r.error }, 'could not ask the forge to redeliver a failed webhook');
    else log.info({ forge: r.forge, repo: r.repo, delivery: r.deliveryId, guid: r.guid, event: r.event, statusCode: r.statusCode }, 'asked the forge to redeliver a failed webhook');
  }
  const stored: Record<string, string> = {};
  for (const check of checks) {
    const entry: StoredWebhookCheck = {
      forge: check.forge,
      repo: check.repo,
      apps: config.apps.filter((a) => a.forge === check.forge && a.repo.toLowerCase() === check.repo.toLowerCase()).map((a) => a.name),
      ok: check.ok,
      checked: check.checked,
      ...(check.hookId ? { hookId: check.hookId } : {}),
      problems: check.problems,
      failedDeliveries: check.failedDeliveries.slice(0, 20).map((d) => ({ id: d.id, event: d.event, statusCode: d.statusCode, at: d.at })),
      redelivered: redelivered.filter((r) => r.forge === check.forge && r.repo === check.repo),
      checkedAt: check.checkedAt,
    };
    stored[field(check.forge, check.repo)] = JSON.stringify(entry);
    if (!check.ok) log.warn({ forge: check.forge, repo: check.repo, problems: check.problems }, 'webhook check found problems');
  }
  // Replace the whole hash so repositories no longer configured disappear.
  const tx = redis.multi().del(keys.webhooks());
  if (Object.keys(stored).length > 0) tx.hset(keys.webhooks(), stored);
  await tx.exec();
  return { checks, redelivered };
}
