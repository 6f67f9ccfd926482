import { createHmac } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from './config/schema.js';
import { retryAfterMs } from './forges/forge-api-error.js';
import { httpJson } from './forges/forge-api.js';
import type { Notification, NotifyJobData } from './model/jobs.js';

/** Why a notification was not delivered: nothing answered, or the receiver refused it. */
export type NotifyErrorCode = 'NOTIFY_UNREACHABLE' | 'NOTIFY_REFUSED';

/**
 * A notification that could not be delivered. `retryable` says whether trying again can help:
 * no answer, 408, 429 and 5xx can; any other refusal (a wrong URL, a revoked Slack hook) cannot.
 */
export class NotifyError extends Error {
  constructor(
    message: string,
    readonly code: NotifyErrorCode,
    readonly retryable: boolean,
    /** The receiver's HTTP status; 0 when nothing answered. */
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NotifyError';
  }
}

/** The error for a receiver's non-2xx answer. */
function refused(target: string, status: number, headers: Headers, body: string): NotifyError {
  const rateLimited = status === 429 || (status === 403 && retryAfterMs(headers) !== undefined);
  const retryable = rateLimited || status >= 500 || status === 408;
  const detail = body.length > 300 ? `${body.slice(0, 300)}…` : body;
  return new NotifyError(`${target} notification answered ${status}${detail ? `: ${detail}` : ''}`, 'NOTIFY_REFUSED', retryable, status);
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

/** Delivers one notification (called by the status worker); throws a {@link NotifyError} that says whether to retry. */
export async function deliverNotification(config: Config, target: NotifyJobData['target'], n: Notification): Promise<void> {
  let url: string;
  let body: string;
  const headers: Record<string, string> = {};
  if (target === 'slack') {
    if (!config.notifications.slack) return;
    url = config.notifications.slack.url;
    const objects = n.objects?.length
      ? `\n${n.objects
          .slice(0, 10)
          .map((o) => `• ${o}`)
          .join('\n')}${n.objects.length > 10 ? `\n… and ${n.objects.length - 10} more` : ''}`
      : '';
    body = JSON.stringify({ text: `${ICONS[n.event]} *${n.app}*: ${n.message} (<${n.url}|details>)${objects}` });
  } else {
    if (!config.notifications.webhook) return;
    url = config.notifications.webhook.url;
    body = JSON.stringify({ ...n, sentAt: new Date().toISOString() });
    if (config.notifications.webhook.secret)
      headers['x-landfall-signature'] = `sha256=${createHmac('sha256', config.notifications.webhook.secret).update(body).digest('hex')}`;
  }
  let res;
  try {
    res = await httpJson('POST', url, { ...headers, 'x-landfall-event': n.event }, JSON.parse(body));
  } catch (err) {
    throw new NotifyError(`${target} notification failed: ${err instanceof Error ? err.message : String(err)}`, 'NOTIFY_UNREACHABLE', true, 0, { cause: err });
  }
  if (res.status < 200 || res.status >= 300) throw refused(target, res.status, res.headers, res.text);
}
