/**
 * A pull request's preview, brought to what the pull request asks now: deployed at its head,
 * waiting (for a maintainer's approval, CI statuses or a free slot), or torn down. One job per
 * pull request runs at a time (src/queue/preview-jobs.ts); everything here reads the newest state
 * of the pull request, so the newest event wins.
 */
import type { Logger } from 'pino';
import type { AppConfig, Config, ForgeId, PreviewsConfig } from '../config/schema.js';
import type { ForgeApi } from '../forges/forge-api.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/refs.js';
import { PREVIEW_LABEL, PULL_REQUEST_LABEL } from '../model/labels.js';
import { PREVIEW_APPROVE_WORD, type PreviewJobData, type PullRequestSnapshot } from '../model/jobs.js';
import type { SyncRecord } from '../model/records.js';
import type { StatusReporter } from '../status/reporter.js';
import { failureReason, short } from '../status/wording.js';
import { formatDuration } from '../config/duration.js';
import { SyncError } from '../sync/errors.js';
import { createInventory } from '../sync/inventory.js';
import { FIELD_MANAGER } from '../sync/labels.js';
import { runSync, type SyncDeps } from '../sync/pipeline.js';
import { prune } from '../sync/prune.js';
import type { RenderedObject } from '../sync/render/types.js';
import { errorMessage } from '../unknown.js';
import { checkPreviewObjects } from './guard.js';
import { environmentName, previewAppName, previewNamespace, previewUrl } from './names.js';
import { previewScaffold, previewSelector, previewServiceAccountUser } from './scaffold.js';
import { sleepWorkloads, wakeWorkloads } from './sleep.js';
import type { PreviewState, PreviewStore } from './store.js';
import { substituteValues } from './substitute.js';

/** What a preview job needs. */
export interface PreviewDeps {
  config: Config;
  store: PreviewStore;
  apis: Map<ForgeId, ForgeApi>;
  /** The sync pipeline's dependencies (git, renderers, clusters, history, log). */
  sync: Omit<SyncDeps, 'listener'>;
  reporter: StatusReporter;
  log: Logger;
  /** Queues another look at a pull request after `delayMs` (waiting for CI statuses, a free slot). */
  requeue(data: Omit<PreviewJobData, 'seq'>, delayMs: number): Promise<void>;
  now?: () => number;
}

/** What a preview job came to, for logs and the job's return value. */
export type PreviewOutcome = 'deployed' | 'failed' | 'waiting' | 'removed' | 'not-requested' | 'unchanged' | 'slept';

/** How long CI statuses named in `waitFor` are waited for, and how often they are asked. */
const CHECKS_POLL_MS = 20_000;
const CHECKS_WAIT_MS = 2 * 60 * 60_000;

/** The status context of an app's previews. */
export function previewContext(app: string): string {
  return `landfall/${app}/preview`;
}

/** Runs one preview job: reads the pull request as it is now and makes the preview match. */
export async function runPreviewJob(
  deps: PreviewDeps,
  data: PreviewJobData,
  attempt: { number: number; final: boolean; signal?: AbortSignal },
): Promise<PreviewOutcome> {
  const app = deps.config.apps.find((a) => a.name === data.app);
  if (!app?.previews) throw new SyncError('APP_UNKNOWN', `app "${data.app}" has no previews in the configuration any more`);
  const settings = app.previews;
  const now = deps.now ?? Date.now;
  const api = deps.apis.get(app.forge);
  // A namespace on the cluster that no record knows (a record lost, a teardown cut short) is torn down like any other.
  const stored = (await deps.store.get(app.name, data.number)) ?? (await orphan(deps, app, data.number));
  const pr = await currentPullRequest(app, api, data);
  const log = deps.log.child({ app: app.name, pr: data.number, cause: data.cause });

  if (pr.baseBranch !== app.branch || pr.state !== 'open') {
    const why =
      pr.state === 'merged' ? 'the pull request was merged' : pr.state === 'closed' ? 'the pull request was closed' : `it now targets ${pr.baseBranch}`;
    return stored ? teardown(deps, app, stored, why) : 'not-requested';
  }
  if (!requested(settings, pr)) {
    if (!stored) return 'not-requested';
    return teardown(deps, app, stored, settings.trigger === 'label' ? `the label "${settings.label}" was removed` : 'previews are off');
  }
  // A new head is a push, whatever event brought the job (a newer job may have superseded the push's own).
  const pushed = ['opened', 'updated', 'reopened'].includes(data.cause) || (stored !== undefined && stored.sha !== pr.headSha);
  if (stored?.status === 'expired' && !pushed) return 'not-requested';
  if (stored && !pushed && now() - stored.lastPushAt > settings.ttl) {
    return teardown(deps, app, stored, `no push for ${formatDuration(settings.ttl)} (previews.ttl); the next push brings it back`, true);
  }
  if (data.cause === 'sleep') return sleep(deps, app, settings, stored);
  // A comment matters only to a fork waiting for its approval.
  if (data.cause === 'comment' && !(stored?.status === 'waiting' && stored.waitingFor === 'approval')) return 'unchanged';
  if (stored?.status === 'ready' && stored.sha === pr.headSha && !pushed && data.cause !== 'labeled') return 'unchanged';

  const namespace = previewNamespace(app, data.number);
  const base: PreviewState = {
    app: app.name,
    number: data.number,
    namespace,
    status: 'waiting',
    sha: pr.headSha,
    headBranch: pr.headBranch,
    fork: isFork(app, pr),
    ...(stored?.url ? { url: stored.url } : {}),
    ...(stored?.syncId ? { syncId: stored.syncId } : {}),
    ...(stored?.applied ? { applied: true } : {}),
    createdAt: stored?.createdAt ?? now(),
    updatedAt: now(),
    lastPushAt: pushed || !stored ? now() : stored.lastPushAt,
  };
  const wait = async (waitingFor: WaitKind, reason: string, retryInMs?: number): Promise<PreviewOutcome> => {
    // Waiting for the same thing on the same head keeps its start, so waits are bounded.
    const since = stored?.waitingFor === waitingFor && stored.sha === pr.headSha && stored.waitingSince ? stored.waitingSince : now();
    // A preview already running keeps running its older commit; the status on the new head says why it waits.
    const running = stored?.applied ? { status: stored.status, sha: stored.sha ?? pr.headSha } : {};
    await deps.store.put({ ...base, ...running, reason, waitingFor, waitingSince: since });
    report(deps, app, data.number, pr.headSha, 'queued', reason, stored?.url ?? pageUrl(deps.config, app, data.number));
    if (retryInMs !== undefined) await deps.requeue(omitSeq(data, waitingFor === 'slot' ? 'slot' : 'checks'), retryInMs);
    log.info({ reason }, 'preview waits');
    return 'waiting';
  };

  if (base.fork) {
    if (settings.forks === 'never') {
      if (stored) return teardown(deps, app, stored, 'previews of pull requests from forks are off (previews.forks: never)');
      return 'not-requested';
    }
    let approval: string | undefined;
    try {
      approval = await approvedBy(api, app, data.number, pr.headSha);
    } catch (err) {
      // A token that may not ask about permissions is not an approval: say so on the pull request.
      return wait('approval', `from a fork: approvals cannot be checked (${failureReason(errorMessage(err))})`);
    }
    if (!approval) {
      return wait('approval', `from a fork: waits for a maintainer to approve this exact commit (comment "${PREVIEW_APPROVE_WORD} ${pr.headSha}")`);
    }
    log.info({ approvedBy: approval }, 'fork commit approved for a preview');
  }
  if (settings.waitFor.length > 0) {
    const verdict = await checksVerdict(api, app, settings, pr.headSha);
    if (verdict.failed) {
      await deps.store.put({ ...base, status: 'failed', reason: verdict.failed });
      report(deps, app, data.number, pr.headSha, 'failed', verdict.failed, pageUrl(deps.config, app, data.number));
      return 'failed';
    }
    if (verdict.pending) {
      const since = stored?.waitingFor === 'checks' && stored.sha === pr.headSha ? (stored.waitingSince ?? now()) : now();
      const expired = now() - since >= CHECKS_WAIT_MS;
      const reason = expired ? `waited ${formatDuration(CHECKS_WAIT_MS)} for ${verdict.pending}; push again to try once more` : `waits for ${verdict.pending}`;
      return wait('checks', reason, expired ? undefined : CHECKS_POLL_MS);
    }
  }
  // A slot is taken atomically (several workers may start previews at once) and kept until teardown.
  if (!(await deps.store.takeSlot(app.name, data.number, settings.maxOpen))) {
    return wait('slot', `waits for a free slot: ${settings.maxOpen} of ${settings.maxOpen} previews are running (previews.maxOpen)`, SLOT_POLL_MS);
  }
  return deploy(deps, app, settings, data, pr, base, attempt, log, stored?.status === 'sleeping');
}

/** What a waiting preview waits for. */
type WaitKind = NonNullable<PreviewState['waitingFor']>;

/** How often a preview waiting for a slot looks again (a teardown also wakes the longest waiting at once). */
const SLOT_POLL_MS = 5 * 60_000;

/**
 * A preview namespace of this pull request on the cluster that no record knows: a record lost
 * with Redis, or a teardown cut short. Read back into a record so it can be torn down.
 */
async function orphan(deps: PreviewDeps, app: AppConfig, number: number): Promise<PreviewState | undefined> {
  const client = await deps.sync.kube(app.cluster);
  const [ns] = await client.list('v1', 'Namespace', { labelSelector: previewSelector(app, number) });
  if (!ns) return undefined;
  const at = Date.parse(String(ns.metadata.creationTimestamp ?? '')) || Date.now();
  return {
    app: app.name,
    number,
    namespace: ns.metadata.name,
    status: 'failed',
    reason: 'found on the cluster without a record',
    applied: true,
    createdAt: at,
    updatedAt: at,
    lastPushAt: at,
  };
}

/** `sleepAfter`: scales the workloads of an idle, ready preview to zero (the sweep asks; this runs under the preview's lock). */
async function sleep(deps: PreviewDeps, app: AppConfig, settings: PreviewsConfig, stored: PreviewState | undefined): Promise<PreviewOutcome> {
  const now = deps.now ?? Date.now;
  if (!stored || stored.status !== 'ready' || settings.sleepAfter === undefined || now() - stored.lastPushAt <= settings.sleepAfter) return 'unchanged';
  await sleepWorkloads(await deps.sync.kube(app.cluster), stored.namespace);
  await deps.store.put({ ...stored, status: 'sleeping', reason: 'no push for a while (previews.sleepAfter); the next push wakes it', updatedAt: now() });
  return 'slept';
}

/** Deploys the head into the preview namespace, through the same pipeline as a deploy. */
async function deploy(
  deps: PreviewDeps,
  app: AppConfig,
  settings: PreviewsConfig,
  data: PreviewJobData,
  pr: PullRequestSnapshot,
  base: PreviewState,
  attempt: { number: number; final: boolean; signal?: AbortSignal },
  log: Logger,
  waking: boolean,
): Promise<PreviewOutcome> {
  const vars = { app: app.name, number: String(data.number), namespace: base.namespace, sha: pr.headSha, shortSha: short(pr.headSha) };
  const url = previewUrl(app, data.number, pr.headSha);
  const state: PreviewState = { ...base, status: 'deploying', applied: true, ...(url ? { url } : {}) };
  delete state.reason;
  await deps.store.put(state);
  const syncId = `preview-${app.name}-${data.number}-${data.seq}`;
  const page = `${deps.config.server.publicUrl}/syncs/${encodeURIComponent(syncId)}`;

  const api = deps.apis.get(app.forge);
  const env = { repo: app.repo, environment: environmentName(app, data.number), sha: pr.headSha, ref: pr.headBranch, url: url ?? page, logUrl: page };
  await api
    ?.reportEnvironment?.({ ...env, description: `Deploying ${short(pr.headSha)}` }, 'in_progress')
    .catch((err: unknown) => log.warn({ err }, 'environment not reported'));

  const admin = await deps.sync.kube(app.cluster);
  let record: SyncRecord | undefined;
  let failure: string | undefined;
  try {
    await applyScaffold(admin, app, settings, data.number, !base.fork);
    if (waking) await wakeWorkloads(admin, base.namespace);
    const { previews: _previews, ...rest } = app;
    const previewApp: AppConfig = {
      ...rest,
      // The app's own namespace too, so its Namespace object reaches the guard (which leaves it
      // out); objects in it were moved into the preview's namespace before validation.
      allowedNamespaces: [base.namespace, app.namespace],
      name: previewAppName(app, data.number),
      namespace: base.namespace,
      createNamespace: false,
      // Validation lets cluster-scoped kinds through: the preview guard refuses them, with the
      // reason in a preview's words.
      allowClusterScoped: true,
      selfHeal: false,
      prComments: false,
    };
    // A preview never decrypts the repository's SOPS files: its commit is unreviewed (a fork's, or
    // a branch's), and its pods could read what was decrypted. Its Secrets come from secretsFrom.
    const { decryption: _decryption, ...withoutKeys } = deps.sync;
    // The status links to the sync page once the sync has a record to show there.
    const listener = {
      started: () => report(deps, app, data.number, pr.headSha, 'running', `Deploying ${short(pr.headSha)} to preview ${base.namespace}`, page),
    };
    record = await runSync(
      { ...withoutKeys, listener },
      {
        app: previewApp,
        data: {
          app: previewApp.name,
          trigger: 'preview',
          forge: app.forge,
          repo: app.repo,
          branch: pr.headBranch,
          sha: pr.headSha,
          ...(data.deliveryId ? { deliveryId: data.deliveryId } : {}),
          generation: 0,
          receivedAt: data.receivedAt,
        },
        jobId: syncId,
        covered: [],
        attempt: attempt.number,
        finalAttempt: attempt.final,
        ...(attempt.signal ? { signal: attempt.signal } : {}),
        preview: {
          sha: pr.headSha,
          overrides: {
            rewrite: (objects) => rewriteForPreview(objects, app, base.namespace, settings, vars),
            check: (objects, note) => {
              const checked = checkPreviewObjects(objects, base.namespace, app.namespace);
              const [first, ...more] = checked.problems;
              if (first) {
                const also = more.length > 0 ? ` (and ${more.length} more)` : '';
                throw new SyncError('PREVIEW_REFUSED', `a preview may not apply ${first}${also}\n${checked.problems.join('\n')}`);
              }
              for (const line of checked.skipped) note('info', line);
              for (const line of checked.warnings) note('warn', line);
              return checked.objects;
            },
            client: admin.impersonating(previewServiceAccountUser(base.namespace)),
          },
        },
      },
    );
  } catch (err) {
    failure = errorMessage(err);
    const transient = err instanceof SyncError ? err.transient : true;
    if (transient && !attempt.final) {
      await deps.store.put({ ...state, reason: `retrying: ${failureReason(failure)}` });
      throw err;
    }
  }
  const done: PreviewState = { ...state, syncId, updatedAt: (deps.now ?? Date.now)(), status: failure ? 'failed' : 'ready' };
  if (failure) done.reason = failureReason(failure);
  await deps.store.put(done);
  const where = url ?? page;
  if (failure) {
    report(deps, app, data.number, pr.headSha, 'failed', `Preview failed: ${failureReason(failure)}`, page);
    await api?.reportEnvironment?.({ ...env, description: failureReason(failure) }, 'failure').catch(() => undefined);
  } else {
    report(deps, app, data.number, pr.headSha, 'succeeded', url ? `Preview ready: ${url}` : `Preview ready in ${base.namespace}`, where);
    await api?.reportEnvironment?.({ ...env, description: `Preview of ${short(pr.headSha)}` }, 'success').catch(() => undefined);
  }
  await comment(deps, app, data.number, previewComment(done, settings, page, record));
  log.info({ result: done.status, sha: pr.headSha, namespace: base.namespace }, 'preview synced');
  return failure ? 'failed' : 'deployed';
}

/**
 * Removes a preview: first every object it applied (its inventory), then its namespace, then the
 * forge's environment. Stops at the first error and keeps the record, so the sweep or the next
 * event tries again: a preview is never forgotten while something of it may still run.
 */
export async function teardown(deps: PreviewDeps, app: AppConfig, stored: PreviewState, why: string, expired = false): Promise<PreviewOutcome> {
  const log = deps.log.child({ app: app.name, pr: stored.number });
  if (stored.applied) {
    const client = await deps.sync.kube(app.cluster);
    const name = previewAppName(app, stored.number);
    const inventory = createInventory(client, { app: name, namespace: stored.namespace });
    const entries = (await inventory.read()).entries;
    const pruned = await prune(client, name, entries);
    if (pruned.errors.length > 0) {
      throw new SyncError('PREVIEW_TEARDOWN_FAILED', `preview ${stored.namespace} not removed yet: ${pruned.errors.map((e) => e.message).join('; ')}`, true);
    }
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: stored.namespace });
  }
  await deps.apis
    .get(app.forge)
    ?.retireEnvironment?.(app.repo, environmentName(app, stored.number))
    .catch((err: unknown) => log.warn({ err }, 'environment not retired'));
  if (stored.sha) {
    report(deps, app, stored.number, stored.sha, 'succeeded', `Preview removed: ${why}`, pageUrl(deps.config, app, stored.number));
  }
  if (stored.applied) await comment(deps, app, stored.number, `### Preview of \`${app.name}\`\n\nRemoved: ${why}. Namespace \`${stored.namespace}\` is gone.`);
  // An expired preview is remembered, so the sweep does not bring it back before a push does.
  if (expired) await deps.store.put({ ...stored, status: 'expired', applied: false, reason: why, updatedAt: Date.now() });
  else await deps.store.remove(app.name, stored.number);
  log.info({ why, namespace: stored.namespace }, 'preview removed');
  // A slot is free: the longest-waiting pull request gets another look.
  await deps.store.freeSlot(app.name, stored.number);
  const waiting = (await deps.store.list(app.name))
    .filter((s) => s.waitingFor === 'slot' && !s.applied)
    .sort((a, b) => (a.waitingSince ?? a.updatedAt) - (b.waitingSince ?? b.updatedAt))[0];
  if (waiting) {
    await deps.requeue({ app: app.name, forge: app.forge, repo: app.repo, number: waiting.number, cause: 'slot', receivedAt: Date.now() }, 0);
  }
  return 'removed';
}

/** Whether the pull request asks for a preview: the label, or every pull request. */
function requested(settings: PreviewsConfig, pr: PullRequestSnapshot): boolean {
  if (settings.trigger === 'all') return true;
  const wanted = settings.label.toLowerCase();
  return (pr.labels ?? []).some((l) => l.toLowerCase() === wanted);
}

function isFork(app: AppConfig, pr: PullRequestSnapshot): boolean {
  return pr.headRepo.toLowerCase() !== app.repo.toLowerCase();
}

/**
 * The pull request as it is now. With an API token the forge is asked every time (an event may be
 * late, redelivered or spooled, and a label event does not say whether the pull request is still
 * open); without one the event's view is all there is. When the forge cannot say, or says it does
 * not know the pull request (a token that lost the repository looks the same), the job fails and
 * is retried: nothing is removed on a guess.
 */
async function currentPullRequest(app: AppConfig, api: ForgeApi | undefined, data: PreviewJobData): Promise<PullRequestSnapshot> {
  if (!api?.pullRequest) {
    if (data.pullRequest) return data.pullRequest;
    throw new SyncError('FORGE_UNAVAILABLE', `forges.${app.forge} has no API token, so pull request #${data.number} cannot be looked up`);
  }
  let found;
  try {
    found = await api.pullRequest(app.repo, data.number);
  } catch (err) {
    throw new SyncError('FORGE_UNAVAILABLE', `could not read pull request #${data.number} from ${app.forge}: ${errorMessage(err)}`, true, { cause: err });
  }
  if (!found) {
    throw new SyncError(
      'PULL_REQUEST_UNKNOWN',
      `${app.forge} says ${app.repo} has no pull request #${data.number} (or the token can no longer see the repository); nothing of its preview is removed`,
      true,
    );
  }
  return {
    state: found.state,
    headSha: found.headSha,
    headBranch: found.headBranch,
    headRepo: found.headRepo,
    baseBranch: found.baseBranch,
    ...(found.labels ? { labels: found.labels } : {}),
    ...(found.author ? { author: found.author } : {}),
  };
}

/**
 * Who approved `sha` for a preview: the first commenter with push access whose comment names the
 * full sha after {@link PREVIEW_APPROVE_WORD}. An approval names one commit, so a later push needs another.
 */
async function approvedBy(api: ForgeApi | undefined, app: AppConfig, number: number, sha: string): Promise<string | undefined> {
  if (!api?.listComments || !api.canPush) return undefined;
  const line = new RegExp(`(^|\\n)\\s*${PREVIEW_APPROVE_WORD.replace('/', '\\/')}\\s+${sha}\\s*($|\\n)`, 'i');
  for (const c of await api.listComments(app.repo, number)) {
    if (!line.test(c.body)) continue;
    if (await api.canPush(app.repo, c.author)) return c.author;
  }
  return undefined;
}

/** What the commit's CI statuses named in `waitFor` say: a failure, what is still pending, or nothing (go). */
async function checksVerdict(api: ForgeApi | undefined, app: AppConfig, settings: PreviewsConfig, sha: string): Promise<{ failed?: string; pending?: string }> {
  if (!api?.commitChecks) return { failed: `previews.waitFor needs an API token for ${app.forge} to read commit statuses` };
  const checks = await api.commitChecks(app.repo, sha);
  const byContext = new Map(checks.map((c) => [c.context.toLowerCase(), c.state]));
  const failed = settings.waitFor.filter((w) => byContext.get(w.toLowerCase()) === 'failure');
  if (failed.length > 0) return { failed: `${failed.join(', ')} failed for ${short(sha)}; no preview of this commit` };
  const pending = settings.waitFor.filter((w) => byContext.get(w.toLowerCase()) !== 'success');
  return pending.length > 0 ? { pending: pending.join(', ') } : {};
}

/**
 * The rendered objects as a preview applies them: values substituted, and every object that
 * names the app's own namespace moved into the preview's (objects naming no namespace get it from
 * validation; any other namespace is refused there).
 */
function rewriteForPreview(
  objects: RenderedObject[],
  app: AppConfig,
  namespace: string,
  settings: PreviewsConfig,
  vars: Record<string, string>,
): RenderedObject[] {
  return substituteValues(objects, settings.values, vars).objects.map((o) =>
    o.obj.metadata.namespace === app.namespace ? { ...o, obj: { ...o.obj, metadata: { ...o.obj.metadata, namespace } } } : o,
  );
}

/** Applies the preview namespace and what guards it, as Landfall itself (the preview's identity cannot). */
async function applyScaffold(client: KubeClient, app: AppConfig, settings: PreviewsConfig, number: number, sameRepo: boolean): Promise<void> {
  const namespace = previewNamespace(app, number);
  const live = await untilNotTerminating(client, namespace);
  const labels = live?.metadata.labels ?? {};
  if (live && (labels[PREVIEW_LABEL] !== app.name || labels[PULL_REQUEST_LABEL] !== String(number))) {
    throw new SyncError(
      'NAMESPACE_TAKEN',
      `namespace ${namespace} exists and is not the preview of ${app.name} #${number}; Landfall takes no namespace it did not create (make previews.namespace unique, e.g. with {app})`,
    );
  }
  for (const obj of previewScaffold(app, number)) {
    await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  }
  if (settings.secretsFrom && sameRepo) {
    for (const secret of await client.list('v1', 'Secret', { namespace: settings.secretsFrom })) {
      if (secret.type === 'kubernetes.io/service-account-token') continue;
      await client.apply(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secret.metadata.name, namespace, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
          ...(secret.type ? { type: secret.type } : {}),
          ...(secret.data ? { data: secret.data } : {}),
        },
        { fieldManager: FIELD_MANAGER, force: true },
      );
    }
  }
}

/** How long a deploy waits for the namespace of a torn-down preview to finish terminating. */
const TERMINATING_WAIT_MS = 90_000;

/**
 * A preview torn down a moment ago (closed and reopened, expired and pushed) leaves its namespace
 * terminating, and nothing can be created in it: wait until it is gone, or fail for a retry.
 */
async function untilNotTerminating(client: KubeClient, namespace: string): Promise<KubeObject | undefined> {
  const deadline = Date.now() + TERMINATING_WAIT_MS;
  for (;;) {
    const live = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    if (!live?.metadata.deletionTimestamp) return live;
    if (Date.now() > deadline) {
      throw new SyncError('NAMESPACE_TERMINATING', `namespace ${namespace} of the previous preview is still being deleted; trying again later`, true);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

function report(
  deps: PreviewDeps,
  app: AppConfig,
  number: number,
  sha: string,
  state: 'queued' | 'running' | 'succeeded' | 'failed',
  description: string,
  targetUrl: string,
): void {
  deps.reporter
    .report({
      forge: app.forge,
      repo: app.repo,
      sha,
      context: previewContext(app.name),
      state,
      description,
      targetUrl,
      recordId: `preview-${app.name}-${number}`,
      at: Date.now(),
    })
    .catch((err: unknown) => deps.log.warn({ err, app: app.name, pr: number }, 'preview status not recorded'));
}

/**
 * The pull-request comment, edited in place, on forges without a deployments view (GitHub has
 * Deployments, GitLab environments).
 */
async function comment(deps: PreviewDeps, app: AppConfig, number: number, body: string): Promise<void> {
  if (app.forge === 'github' || app.forge === 'gitlab') return;
  await deps.reporter
    .reportComment({ forge: app.forge, repo: app.repo, app: `${app.name}/preview`, number, body, recordId: `preview-${app.name}-${number}` })
    .catch((err: unknown) => deps.log.warn({ err, app: app.name, pr: number }, 'preview comment not recorded'));
}

function previewComment(state: PreviewState, settings: PreviewsConfig, page: string, record: SyncRecord | undefined): string {
  const lines = [`### Preview of \`${state.app}\``, ''];
  if (state.status === 'ready') lines.push(`Ready${state.url ? `: ${state.url}` : ''}`);
  else lines.push(`Failed: ${state.reason ?? 'see the sync page'}`);
  lines.push(
    '',
    `- Commit: \`${short(state.sha ?? '')}\``,
    `- Namespace: \`${state.namespace}\``,
    `- Sync: ${page}${record ? ` (${record.result})` : ''}`,
    `- Removed when the pull request closes, or after ${formatDuration(settings.ttl)} without a push.`,
  );
  return lines.join('\n');
}

function pageUrl(config: Config, app: AppConfig, number: number): string {
  return `${config.server.publicUrl}/apps/${encodeURIComponent(app.name)}#pr-${number}`;
}

function omitSeq(data: PreviewJobData, cause: PreviewJobData['cause']): Omit<PreviewJobData, 'seq'> {
  const { seq: _seq, ...rest } = data;
  return { ...rest, cause };
}
