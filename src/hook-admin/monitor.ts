import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, ForgeId } from '../config/schema.js';
import type { Metrics } from '../metrics/families.js';
import type { Intake, IntakeItem } from '../queue/producer.js';
import type { Keys } from '../store/keys.js';
import type { ForgeApi } from '../forges/forge-api.js';
import { checkField, type StoredWebhookCheck } from './stored-checks.js';
import { checkWebhooks, recoverDisabledHooks, redeliverFailed, type HookCheckResult, type HookRecovery, type Redelivery } from './manage.js';

/** GitHub keeps deliveries for 3 days; a redelivery claim lasts as long, so each is asked for once. */
const REDELIVERY_CLAIM_SECONDS = 3 * 24 * 3600;

/** Dependencies of {@link runWebhookCheck}. */
export interface WebhookMonitorDeps {
  config: Config;
  apis: Map<ForgeId, ForgeApi>;
  redis: Redis;
  keys: Keys;
  log: Logger;
  metrics?: Metrics;
  /** Where plans of pull requests a disabled hook did not deliver are queued; without it none are. */
  intake?: Intake;
}

/**
 * Checks every configured repository's webhook, asks GitHub and GitLab to send again the
 * deliveries that failed while Landfall could not take them (and that intake has not accepted
 * since), re-enables hooks GitLab disabled with a test delivery and plans the open merge requests
 * whose events GitLab dropped meanwhile, and stores what it found for the dashboard and
 * `landfall_webhook_problems`. Runs at worker start and every `worker.webhookCheckInterval`; safe
 * to run from several workers at once.
 */
export async function runWebhookCheck(deps: WebhookMonitorDeps): Promise<{ checks: HookCheckResult[]; redelivered: Redelivery[]; recovered: HookRecovery[] }> {
  const { config, apis, redis, keys, log } = deps;
  const accepted = async (forge: ForgeId, guid: string) => (await redis.exists(keys.delivery(forge, guid))) === 1;
  const checks = await checkWebhooks(config, apis, config.apps, { accepted });
  // First bring disabled hooks back (GitLab), so the resends below reach a hook that sends again.
  const recovered = await recoverDisabledHooks(apis, checks, config.apps);
  const planned = new Map<string, number>();
  for (const r of recovered) {
    if (r.error) {
      log.warn({ forge: r.forge, repo: r.repo, hook: r.hookId, err: r.error }, 'could not re-enable a webhook the forge disabled');
      continue;
    }
    log.info(
      { forge: r.forge, repo: r.repo, hook: r.hookId, pullRequests: r.pullRequests.length },
      're-enabled a webhook the forge disabled; planning its open pull requests',
    );
    planned.set(checkField(r.forge, r.repo), deps.intake ? await planOpen(deps.intake, r, log) : 0);
  }
  const redelivered = await redeliverFailed(apis, checks, {
    accepted,
    claim: async (forge, key) => (await redis.set(keys.redelivered(forge, key), String(Date.now()), 'EX', REDELIVERY_CLAIM_SECONDS, 'NX')) === 'OK',
    release: async (forge, key) => void (await redis.del(keys.redelivered(forge, key))),
  });
  for (const r of redelivered) {
    deps.metrics?.webhookRedeliveries.inc({ forge: r.forge, result: r.error ? 'failed' : 'requested' });
    if (r.error) log.warn({ forge: r.forge, repo: r.repo, delivery: r.deliveryId, err: r.error }, 'could not ask the forge to redeliver a failed webhook');
    else
      log.info(
        { forge: r.forge, repo: r.repo, delivery: r.deliveryId, guid: r.guid, event: r.event, statusCode: r.statusCode },
        'asked the forge to redeliver a failed webhook',
      );
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
      ...(check.notes ? { notes: check.notes } : {}),
      checkedAt: check.checkedAt,
    };
    const recovery = recovered.find((r) => r.forge === check.forge && r.repo === check.repo);
    if (recovery) {
      entry.recovered = {
        reenabled: recovery.reenabled,
        planned: planned.get(checkField(check.forge, check.repo)) ?? 0,
        ...(recovery.error ? { error: recovery.error } : {}),
      };
      // The test delivery brought the hook back: what was wrong was only that it was off.
      if (recovery.reenabled) {
        entry.problems = entry.problems.filter((p) => !p.startsWith('the forge disabled the hook'));
        entry.ok = entry.problems.length === 0;
      }
    }
    stored[checkField(check.forge, check.repo)] = JSON.stringify(entry);
    if (!check.ok) log.warn({ forge: check.forge, repo: check.repo, problems: check.problems }, 'webhook check found problems');
  }
  // Replace the whole hash so repositories no longer configured disappear.
  const tx = redis.multi().del(keys.webhooks());
  if (Object.keys(stored).length > 0) tx.hset(keys.webhooks(), stored);
  await tx.exec();
  return { checks, redelivered, recovered };
}

/**
 * Queues a plan for each open pull request of a recovered hook, under a delivery id made of the
 * pull request and its head, so two workers recovering the same hook queue each plan once.
 */
async function planOpen(intake: Intake, recovery: HookRecovery, log: Logger): Promise<number> {
  let queued = 0;
  for (const { app, pullRequest: pr } of recovery.pullRequests) {
    const item: IntakeItem = {
      kind: 'plan',
      data: {
        app,
        forge: recovery.forge,
        repo: recovery.repo,
        number: pr.number,
        action: 'updated',
        headSha: pr.headSha,
        headBranch: pr.headBranch,
        headRepo: pr.headRepo,
        baseBranch: pr.baseBranch,
        receivedAt: Date.now(),
      },
    };
    try {
      const result = await intake.enqueue(recovery.forge, `recovered-${app}-${pr.number}-${pr.headSha}`, [item]);
      if (!result.duplicate) queued += 1;
    } catch (err) {
      log.warn({ app, number: pr.number, err: err instanceof Error ? err.message : String(err) }, 'could not queue the plan of an open pull request');
    }
  }
  return queued;
}
