import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { AppIndex } from '../apps/match.js';
import { clipName, MAX_NAME_CHARS } from '../clip.js';
import type { AppConfig, Config, ForgeId } from '../config/schema.js';
import { PREVIEW_APPROVE_WORD, type PreviewCause } from '../model/jobs.js';
import { FORGES } from '../forges/registry.js';
import { acceptsUnsigned } from '../forges/signature.js';
import { PayloadError, type CommentEvent, type ForgeEvent, type IgnoreReason, type PullRequestEvent } from '../forges/types.js';
import { IntakeUnavailableError, type AcceptedJob, type Intake, type IntakeItem } from '../queue/producer.js';
import type { Spool } from './spool.js';

/** An answer that refuses a delivery: `{error, message}`. */
export interface DeliveryRefusal extends DeliveryAnswer {
  body: { error: string; message: string };
}

/** The answer to one delivery, independent of the HTTP framework. */
export interface DeliveryAnswer {
  status: 200 | 202 | 400 | 401 | 404 | 415 | 503;
  body: { accepted: AcceptedJob[] } | { ignored: IgnoreReason; detail: string } | { error: string; message: string };
  /** For logs and metrics: accepted, ignored:<reason>, or the error code. */
  outcome: string;
}

/** Dependencies of {@link createDeliveryHandler}. */
export interface DeliveryHandlerDeps {
  config: Config;
  apps: AppIndex;
  intake: Intake;
  log: Logger;
  now?: () => number;
  /** Where deliveries wait while Redis is away; without one such deliveries are answered 503. */
  spool?: Spool;
}

/** What arrives before a webhook's body: the route's forge and the headers. */
export interface DeliveryHead {
  forge: ForgeId;
  headers: IncomingHttpHeaders;
  /** Header names as sent, in order, repeats included (Node's rawHeaders, names only). */
  headerNames?: string[];
}

/** A received webhook: which route it came in on, its headers and raw body. */
export interface Delivery extends DeliveryHead {
  body: Buffer;
}

/** Headers that decide what a delivery means; each must come at most once. */
const SINGLE = /^(x-|webhook-|idempotency-key$|content-type$|authorization$)/;

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Verifies, parses, matches and enqueues one delivery, in that order: nothing is parsed before
 * the signature over the raw bytes checks out, and nothing is acknowledged before it is in Redis.
 */
export function createDeliveryHandler(deps: DeliveryHandlerDeps) {
  const now = deps.now ?? Date.now;

  return async function handleDelivery(delivery: Delivery): Promise<DeliveryAnswer> {
    const refused = checkDeliveryHead(deps.config, delivery);
    if (refused) return refused;
    const adapter = FORGES.get(delivery.forge);
    const settings = deps.config.forges[delivery.forge];
    // checkDeliveryHead refused a forge without both; this only tells the compiler.
    if (!adapter || !settings) return error(404, 'forge-not-configured', `no forges.${delivery.forge} section in the configuration`);
    const verdict = adapter.verify({ headers: delivery.headers, body: delivery.body, now: now() }, settings);
    if (!verdict.ok) return error(401, 'signature-invalid', verdict.reason);

    const eventName = adapter.eventName(delivery.headers);
    if (!eventName) return error(400, 'event-missing', `the delivery has no event header; is this really a ${adapter.displayName} webhook?`);
    // Without a delivery id, identical bodies are the same delivery.
    // Forges send short ids; a longer one is cut like any other echoed name (it is stored and echoed too).
    const sent = adapter.deliveryId(delivery.headers);
    const deliveryId = sent !== undefined ? clipName(sent) : `body-${createHash('sha256').update(delivery.body).digest('hex').slice(0, 32)}`;

    let payload: unknown;
    try {
      // fatal: invalid UTF-8 is refused rather than silently turned into replacement characters.
      payload = JSON.parse(UTF8.decode(delivery.body));
    } catch (err) {
      if (err instanceof TypeError) return error(400, 'encoding-invalid', 'body is not valid UTF-8');
      return error(400, 'json-invalid', `body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    let parsed;
    try {
      parsed = adapter.parse(eventName, payload, deliveryId);
    } catch (err) {
      if (err instanceof PayloadError) return error(400, 'payload-invalid', err.message);
      throw err;
    }
    if ('ignored' in parsed) return ignored(parsed.ignored, parsed.detail);

    const items: IntakeItem[] = [];
    const skipped: { reason: IgnoreReason; detail: string }[] = [];
    for (const event of parsed.events) {
      const routed = route(event);
      if ('reason' in routed) skipped.push(routed);
      else items.push(...routed.items);
    }
    if (items.length === 0) {
      const first = skipped[0] ?? { reason: 'unhandled-event' as const, detail: 'nothing to do' };
      return ignored(first.reason, skipped.map((s) => s.detail).join('; '));
    }
    // While older deliveries wait in the spool, newer ones queue behind them, to keep the order.
    if (!deps.spool || (await deps.spool.size()) === 0) {
      try {
        const result = await deps.intake.enqueue(delivery.forge, deliveryId, items);
        if (result.duplicate) return ignored('duplicate', `delivery ${deliveryId} was already accepted`);
        return { status: 202, body: { accepted: result.accepted }, outcome: 'accepted' };
      } catch (err) {
        if (!(err instanceof IntakeUnavailableError)) throw err;
        deps.log.error({ err: err.cause, forge: delivery.forge, deliveryId }, 'redis refused the event');
      }
    }
    if (deps.spool) {
      try {
        await deps.spool.write({ forge: delivery.forge, deliveryId, items });
        return {
          status: 202,
          body: {
            accepted: items.map((i) => ({
              app: i.data.app,
              sha: i.kind === 'sync' ? i.data.sha : i.kind === 'plan' ? i.data.headSha : (i.data.pullRequest?.headSha ?? ''),
              jobId: 'spooled',
            })),
          },
          outcome: 'spooled',
        };
      } catch (err) {
        deps.log.error({ err, forge: delivery.forge, deliveryId }, 'event could not be spooled either');
      }
    }
    return error(503, 'unavailable', 'the event could not be stored; the forge should redeliver it');
  };

  function route(event: ForgeEvent): { items: IntakeItem[] } | { reason: IgnoreReason; detail: string } {
    if (event.kind === 'ping') return { reason: 'ping', detail: 'pong' };
    const tracking = deps.apps.forRepo(event.forge, event.repo);
    if (tracking.length === 0) return { reason: 'unknown-repo', detail: `no app tracks ${event.forge} repository ${clipName(event.repo)}` };
    const receivedAt = now();
    if (event.kind === 'push') {
      if (event.refType === 'tag') return { reason: 'tag', detail: `tag ${clipName(event.refName)}: apps deploy branches` };
      const apps = deps.apps.forBranch(event.forge, event.repo, event.refName);
      if (apps.length === 0) return { reason: 'untracked-branch', detail: `no app tracks branch ${clipName(event.refName)} of ${clipName(event.repo)}` };
      if (event.deleted) return { reason: 'branch-deleted', detail: `branch ${clipName(event.refName)} was deleted; nothing is deployed or pruned` };
      return {
        items: apps.map((app) => ({
          kind: 'sync' as const,
          data: {
            app: app.name,
            trigger: 'push' as const,
            forge: event.forge,
            repo: app.repo,
            branch: event.refName,
            sha: clipName(event.after),
            before: clipName(event.before),
            deliveryId: event.deliveryId,
            receivedAt,
          },
        })),
      };
    }
    if (event.kind === 'comment') {
      // A comment may approve a fork's commit for a preview; which app's, the worker asks the forge.
      const previewing = tracking.filter((app) => app.previews);
      if (previewing.length === 0 || !event.body.includes(PREVIEW_APPROVE_WORD))
        return { reason: 'unhandled-event', detail: `a comment on pull request #${event.number} asks nothing of Landfall` };
      return { items: previewing.map((app) => previewItem(app, event, 'comment', receivedAt)) };
    }
    const apps = deps.apps.forBranch(event.forge, event.repo, event.baseBranch);
    if (apps.length === 0)
      return { reason: 'untracked-branch', detail: `pull request #${event.number} targets ${clipName(event.baseBranch)}, which no app tracks` };
    const previews = apps.filter((app) => app.previews).map((app) => previewItem(app, event, event.action, receivedAt));
    if (event.action === 'closed' || event.action === 'merged' || event.action === 'labeled') {
      if (previews.length > 0) return { items: previews };
      if (event.action === 'closed') return { reason: 'pr-closed', detail: `pull request #${event.number} was closed without merging` };
      if (event.action === 'merged') return { reason: 'pr-merged', detail: `pull request #${event.number} was merged; the push it made deploys it` };
      return { reason: 'unhandled-action', detail: `pull request #${event.number} changed labels, not commits; nothing to plan` };
    }
    const action = event.action;
    return {
      items: [
        ...apps.map((app) => ({
          kind: 'plan' as const,
          data: {
            app: app.name,
            forge: event.forge,
            repo: app.repo,
            number: event.number,
            action,
            headSha: clipName(event.headSha),
            headBranch: clipName(event.headBranch),
            headRepo: clipName(event.headRepo),
            baseBranch: event.baseBranch,
            deliveryId: event.deliveryId,
            receivedAt,
          },
        })),
        ...previews,
      ],
    };
  }
}

/** A preview job for an app with previews: the pull request as the event shows it (a comment shows none). */
function previewItem(app: AppConfig, event: PullRequestEvent | CommentEvent, cause: PreviewCause, receivedAt: number): IntakeItem {
  return {
    kind: 'preview',
    data: {
      app: app.name,
      forge: event.forge,
      repo: app.repo,
      number: event.number,
      cause,
      ...(event.kind === 'pull_request'
        ? {
            pullRequest: {
              state: event.action === 'merged' ? ('merged' as const) : event.action === 'closed' ? ('closed' as const) : ('open' as const),
              headSha: clipName(event.headSha),
              headBranch: clipName(event.headBranch),
              headRepo: clipName(event.headRepo),
              baseBranch: clipName(event.baseBranch),
              ...(event.labels ? { labels: event.labels.slice(0, 100).map((l) => clipName(l)) } : {}),
              ...(event.author ? { author: clipName(event.author) } : {}),
            },
          }
        : {}),
      deliveryId: event.deliveryId,
      receivedAt,
    },
  };
}

/**
 * Everything about a delivery that its headers decide: the forge is configured, no meaningful
 * header is repeated, a credential header is there (unless the forge accepts unsigned
 * deliveries), and the body is JSON in UTF-8. The HTTP layer asks before it reads a byte of the
 * body; the handler asks again, so it is whole on its own. Undefined: go on.
 */
export function checkDeliveryHead(config: Config, head: DeliveryHead): DeliveryRefusal | undefined {
  const adapter = FORGES.get(head.forge);
  const settings = config.forges[head.forge];
  if (!adapter || !settings) {
    return error(404, 'forge-not-configured', `no forges.${head.forge} section in the configuration; add one to accept these webhooks`);
  }
  // Node joins repeated headers into one value; an event, delivery or signature header sent twice is ambiguous.
  const seen = new Set<string>();
  for (const name of head.headerNames ?? []) {
    const lower = name.toLowerCase();
    if (!SINGLE.test(lower)) continue;
    if (seen.has(lower)) return error(400, 'header-repeated', `header ${clipName(name)} was sent more than once`);
    seen.add(lower);
  }
  if (!acceptsUnsigned(settings) && !adapter.signatureHeaders.some((name) => head.headers[name.toLowerCase()] !== undefined)) {
    return error(401, 'signature-invalid', `missing ${adapter.signatureHeaders.join(' or ')} header; set the webhook's secret`);
  }
  const contentType = head.headers['content-type'] ?? '';
  if (!JSON_TYPE.test(contentType)) {
    return error(
      415,
      'unsupported-media-type',
      `content type must be application/json, got "${clipName(contentType) || 'none'}"; set the webhook's content type to application/json`,
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    return error(415, 'unsupported-media-type', `charset ${clipName(charset)} is not supported; webhooks are JSON in UTF-8`);
  }
  return undefined;
}

/** The delivery handler's function type. */
export type DeliveryHandler = ReturnType<typeof createDeliveryHandler>;

function error(status: DeliveryAnswer['status'], code: string, message: string): DeliveryRefusal {
  return { status, body: { error: code, message }, outcome: code };
}

function ignored(reason: IgnoreReason, detail: string): DeliveryAnswer {
  // Details from the forge adapters quote refs, events and actions from the payload; bound them as a whole.
  return { status: 200, body: { ignored: reason, detail: clipName(detail, 4 * MAX_NAME_CHARS) }, outcome: `ignored:${reason}` };
}
