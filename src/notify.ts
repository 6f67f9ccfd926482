import { createHmac } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from './config/schema.js';
import { forgeHttpError, forgeNetworkError } from './forges/forge-api-error.js';
import { httpJson } from './forges/forge-api.js';

/** Something worth telling people about. */
export interface Notification {
  event: 'sync-failed' | 'drift-found' | 'drift-healed';
  app: string;
  /** One line for people. */
  message: string;
  sha?: string;
  /** The page with the details. */
  url: string;
  /** Drifted objects, for drift events: `Deployment/web/web spec.replicas`. */
  objects?: string[];
}

/**
 * Sends notifications through the status queue, so they are retried like statuses and never
 * hold up a sync: a generic JSON webhook (signed with HMAC-SHA256 in `X-Landfall-Signature`
 * when a secret is configured) and a Slack-compatible incoming webhook.
 */
export function createNotifier(config: Config, queue: Queue) {
  const settings = config.notifications;
  return {
    async notify(n: Notification): Promise<void> {
      if (!settings.events.includes(n.event)) return;
      const opts = { attempts: 8, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { count: 500 }, removeOnFail: { count: 500 } } as const;
      if (settings.webhook) await queue.add('notify', { target: 'webhook', notification: n }, opts);
      if (settings.slack) await queue.add('notify', { target: 'slack', notification: n }, opts);
    },
  };
}

/** The notifier's type. */
export type Notifier = ReturnType<typeof createNotifier>;

const ICONS: Record<Notification['event'], string> = { 'sync-failed': ':x:', 'drift-found': ':warning:', 'drift-healed': ':white_check_mark:' };

/** Delivers one notification (called by the status worker; throws classified errors so it retries). */
export async function deliverNotification(config: Config, target: 'webhook' | 'slack', n: Notification): Promise<void> {
  let url: string;
  let body: string;
  const headers: Record<string, string> = {};
  if (target === 'slack') {
    if (!config.notifications.slack) return;
    url = config.notifications.slack.url;
    const objects = n.objects?.length ? `\n${n.objects.slice(0, 10).map((o) => `• ${o}`).join('\n')}${n.objects.length > 10 ? `\n… and ${n.objects.length - 10} more` : ''}` : '';
    body = JSON.stringify({ text: `${ICONS[n.event]} *${n.app}*: ${n.message} (<${n.url}|details>)${objects}` });
  } else {
    if (!config.notifications.webhook) return;
    url = config.notifications.webhook.url;
    body = JSON.stringify({ ...n, sentAt: new Date().toISOString() });
    if (config.notifications.webhook.secret) headers['x-landfall-signature'] = `sha256=${createHmac('sha256', config.notifications.webhook.secret).update(body).digest('hex')}`;
  }
  let res;
  try {
    res = await httpJson('POST', url, { ...headers, 'x-landfall-event': n.event }, JSON.parse(body));
  } catch (err) {
    throw forgeNetworkError(`${target} notification`, err);
  }
  if (res.status < 200 || res.status >= 300) throw forgeHttpError(`${target} notification`, res.status, res.headers, res.text);
}
