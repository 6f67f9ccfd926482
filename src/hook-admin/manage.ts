import type { AppConfig, Config, ForgeId } from '../config/schema.js';
import type { ForgeApi, HookDelivery, HookDisabled, HookSpec, OpenPullRequest, RemoteHook } from '../forges/forge-api.js';

/** One repository's webhook, as `webhooks sync` found it and what it did (or would do). */
export interface HookSyncResult {
  forge: ForgeId;
  repo: string;
  action: 'created' | 'updated' | 'unchanged' | 'failed';
  hookId?: string;
  /** What differed: `events: +pull_request`, `url: a → b`, `active: false → true`. */
  changes: string[];
  /** What sync cannot fix and a person should know. */
  warnings?: string[];
  error?: string;
}

/** One repository's webhook health, as `webhooks check` found it. */
export interface HookCheckResult {
  forge: ForgeId;
  repo: string;
  ok: boolean;
  /** False when the forge could not be asked (no token, no rights, unreachable). */
  checked: boolean;
  hookId?: string;
  problems: string[];
  /** What a person may want to know but needs no fixing (a forge version without a delivery log). */
  notes?: string[];
  /** Set when the forge stopped sending to the hook after failed deliveries (GitLab). */
  disabled?: HookDisabled;
  /** Recent deliveries that did not get a 2xx from Landfall. */
  failedDeliveries: HookDelivery[];
  checkedAt: number;
}

/** The (forge, repository) pairs the selected apps use, each once. */
export function repositories(apps: readonly AppConfig[]): { forge: ForgeId; repo: string }[] {
  const seen = new Map<string, { forge: ForgeId; repo: string }>();
  for (const app of apps) seen.set(`${app.forge}|${app.repo.toLowerCase()}`, { forge: app.forge, repo: app.repo });
  return [...seen.values()];
}

/** The webhook Landfall wants on a repository of a forge. */
export function desiredHook(config: Config, forge: ForgeId, api: ForgeApi): HookSpec {
  const settings = config.forges[forge];
  const signing = settings && 'signingToken' in settings ? settings.signingToken?.[0] : undefined;
  return {
    url: `${config.server.publicUrl}/hooks/${forge}`,
    events: [...api.hookEvents].sort(),
    // The first secret is the current one (rotation lists the new secret first).
    secret: settings?.insecureNoSignature && !settings.webhookSecret ? undefined : settings?.webhookSecret?.[0],
    signingToken: signing,
  };
}

const normalize = (url: string) => url.replace(/\/+$/, '');

/** Landfall's hook among a repository's hooks: the one at our URL, else one at an older Landfall URL. */
function findOurs(hooks: RemoteHook[], spec: HookSpec, forge: ForgeId): RemoteHook | undefined {
  return hooks.find((h) => normalize(h.url) === normalize(spec.url)) ?? hooks.find((h) => normalize(h.url).endsWith(`/hooks/${forge}`));
}

/** The differences between a hook and what Landfall wants of it, in words. */
function differences(hook: RemoteHook, spec: HookSpec): string[] {
  const out: string[] = [];
  if (normalize(hook.url) !== normalize(spec.url)) out.push(`url: ${hook.url} → ${spec.url}`);
  // A hook the forge disabled itself (GitLab, after failures) is not re-enabled by an update.
  if (!hook.active && !hook.disabled) out.push('active: false → true');
  const want = new Set(spec.events);
  const have = new Set(hook.events);
  const added = [...want].filter((e) => !have.has(e));
  const removed = [...have].filter((e) => !want.has(e));
  if (added.length || removed.length) out.push(`events: ${[...added.map((e) => `+${e}`), ...removed.map((e) => `-${e}`)].join(' ')}`);
  if (hook.contentType && hook.contentType !== 'json') out.push(`content type: ${hook.contentType} → json`);
  if (spec.secret && hook.secretSet === false) out.push('secret: none → set');
  return out;
}

/**
 * Creates or updates each repository's webhook so it points at `server.publicUrl/hooks/<forge>`,
 * uses the configured secret, sends JSON and subscribes to exactly the events Landfall handles.
 * Idempotent: a hook that is right is left alone. Forges do not show secrets back, so a changed
 * secret is pushed only with `force` (or when the forge says none is set).
 */
export async function syncWebhooks(
  config: Config,
  apis: Map<ForgeId, ForgeApi>,
  apps: readonly AppConfig[],
  options: { dryRun?: boolean; force?: boolean } = {},
): Promise<HookSyncResult[]> {
  const results: HookSyncResult[] = [];
  for (const { forge, repo } of repositories(apps)) {
    const api = apis.get(forge);
    if (!api) {
      results.push({
        forge,
        repo,
        action: 'failed',
        changes: [],
        error: `no token for ${forge} (set forges.${forge}.token${forge === 'github' ? ' or forges.github.app' : ''})`,
      });
      continue;
    }
    const spec = desiredHook(config, forge, api);
    try {
      const ours = findOurs(await api.listHooks(repo), spec, forge);
      if (!ours) {
        const created = options.dryRun ? undefined : await api.createHook(repo, spec);
        const changes = [`url ${spec.url}`, `events ${spec.events.join(', ')}`, spec.secret ? 'with the secret' : 'without a secret'];
        const signing = created ? signingProblem(created, spec) : undefined;
        if (signing && !spec.secret) {
          results.push({ forge, repo, action: 'failed', hookId: created!.id, changes, error: signing });
          continue;
        }
        results.push({ forge, repo, action: 'created', ...(created ? { hookId: created.id } : {}), changes, ...(signing ? { warnings: [signing] } : {}) });
        continue;
      }
      const changes = differences(ours, spec);
      const warnings: string[] = [];
      const note = disabledNote(ours);
      if (note) warnings.push(note);
      if (options.force && changes.length === 0) {
        if (api.hookSecretEditable === false)
          warnings.push(SECRET_NOT_EDITABLE[forge] ?? "this forge cannot change a hook's secret through its API: set it by hand");
        else changes.push('secret: set again (--force)');
      }
      if (changes.length === 0) {
        results.push({ forge, repo, action: 'unchanged', hookId: ours.id, changes, ...(warnings.length ? { warnings } : {}) });
        continue;
      }
      // A hook moved from another address may carry another secret, and this forge cannot replace it.
      if (api.hookSecretEditable === false && spec.secret && changes.some((c) => c.startsWith('url:'))) {
        warnings.push(
          `the hook keeps the secret it had: if that is not forges.${forge}.webhookSecret, deliveries are refused (401). ${SECRET_NOT_EDITABLE[forge] ?? 'Set it by hand.'}`,
        );
      }
      if (!options.dryRun) await api.updateHook(repo, ours, spec);
      results.push({ forge, repo, action: 'updated', hookId: ours.id, changes, ...(warnings.length ? { warnings } : {}) });
    } catch (err) {
      results.push({ forge, repo, action: 'failed', changes: [], error: explain(err, forge) });
    }
  }
  return results;
}

/** Where a forge's API cannot change a hook's secret, how a person does it. */
const SECRET_NOT_EDITABLE: Partial<Record<ForgeId, string>> = {
  gitea:
    "Gitea's API does not change a hook's secret: enter it in the repository's Settings → Webhooks → the hook → Secret, or delete the hook and run `landfall webhooks sync` to create it with the secret",
};

/**
 * A GitLab hook created with a signing token that GitLab did not keep (GitLab before 19.0, or
 * signing tokens switched off, ignores `signing_token`). Deliveries then carry only the secret
 * token; without one they would carry nothing, be refused (401), and GitLab would disable the hook.
 */
function signingProblem(hook: RemoteHook, spec: HookSpec): string | undefined {
  if (!spec.signingToken || hook.signingSet === true) return undefined;
  const why = 'GitLab did not keep the signing token (signed deliveries need GitLab 19.0 or later with signing tokens enabled)';
  return spec.secret
    ? `${why}; deliveries carry the secret token (X-Gitlab-Token) instead, which Landfall accepts`
    : `${why}, and no secret token is configured, so every delivery would be refused (401) until GitLab disables the hook: set forges.gitlab.webhookSecret and run \`landfall webhooks sync\` again`;
}

/**
 * Reports, for each repository, whether Landfall's hook exists, is active, points at the right URL
 * with the right events, and (GitHub, GitLab) whether recent deliveries failed, with the code
 * Landfall answered.
 */
export async function checkWebhooks(
  config: Config,
  apis: Map<ForgeId, ForgeApi>,
  apps: readonly AppConfig[],
  options: { sinceMs?: number; accepted?: RedeliveryGuard['accepted'] } = {},
): Promise<HookCheckResult[]> {
  const since = options.sinceMs ?? Date.now() - 24 * 3_600_000;
  const results: HookCheckResult[] = [];
  for (const { forge, repo } of repositories(apps)) {
    const noDeliveries: HookDelivery[] = [];
    const base = { forge, repo, checkedAt: Date.now(), failedDeliveries: noDeliveries };
    const api = apis.get(forge);
    if (!api) {
      results.push({ ...base, ok: false, checked: false, problems: [`cannot check: no token for ${forge}`] });
      continue;
    }
    const spec = desiredHook(config, forge, api);
    try {
      const ours = findOurs(await api.listHooks(repo), spec, forge);
      if (!ours) {
        results.push({ ...base, ok: false, checked: true, problems: [`no webhook points at ${spec.url}; run \`landfall webhooks sync\``] });
        continue;
      }
      const problems = differences(ours, spec);
      const notes: string[] = [];
      const note = disabledNote(ours);
      if (note) problems.push(note);
      // Only GitLab 19.0+ says whether the signing token is set; older versions leave it unknown.
      const signing = ours.signingSet === false ? signingProblem(ours, spec) : undefined;
      if (signing) {
        if (spec.secret && ours.secretSet !== false) notes.push(signing);
        else problems.push(signing);
      }
      let failedDeliveries: HookDelivery[] = [];
      if (api.hookDeliveries) {
        const log = await api.hookDeliveries(repo, ours.id, since);
        const deliveries = Array.isArray(log) ? log : [];
        if (!Array.isArray(log)) notes.push(`delivery log not available: ${log.unavailable}`);
        failedDeliveries = unrecovered(deliveries);
        // A delivery intake accepted after all (a retry that reached another replica) is no failure.
        if (options.accepted) {
          const accepted = options.accepted;
          const taken = await Promise.all(failedDeliveries.map((d) => (d.guid ? accepted(forge, d.guid) : Promise.resolve(false))));
          failedDeliveries = failedDeliveries.filter((_, i) => !taken[i]);
        }
        if (failedDeliveries.length > 0) {
          const codes = new Map<number, number>();
          for (const d of failedDeliveries) codes.set(d.statusCode, (codes.get(d.statusCode) ?? 0) + 1);
          const summary = [...codes].map(([code, n]) => `${n}× ${code === 0 ? 'no answer' : code}`).join(', ');
          const hint = codes.has(401) ? ' (401: the secret differs; run `landfall webhooks sync --force`)' : '';
          problems.push(`${failedDeliveries.length} of ${deliveries.length} recent deliveries failed: ${summary}${hint}`);
        }
      }
      results.push({
        ...base,
        ok: problems.length === 0,
        checked: true,
        hookId: ours.id,
        problems,
        ...(notes.length ? { notes } : {}),
        ...(ours.disabled ? { disabled: ours.disabled } : {}),
        failedDeliveries,
      });
    } catch (err) {
      results.push({ ...base, ok: false, checked: false, problems: [explain(err, forge)] });
    }
  }
  return results;
}

const ok = (d: HookDelivery) => d.statusCode >= 200 && d.statusCode < 300;

/**
 * Failed deliveries that no later attempt recovered: a redelivery keeps the delivery's guid, so a
 * guid with any 2xx attempt is done. Newest attempt per guid, newest first.
 */
export function unrecovered(deliveries: readonly HookDelivery[]): HookDelivery[] {
  const delivered = new Set(deliveries.filter((d) => ok(d) && d.guid).map((d) => d.guid));
  const seen = new Set<string>();
  const out: HookDelivery[] = [];
  for (const d of [...deliveries].sort((a, b) => b.at - a.at)) {
    if (ok(d)) continue;
    const key = d.guid ?? `id:${d.id}`;
    if (delivered.has(d.guid) || seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

/**
 * Whether asking for a delivery again can help: nothing answered (Landfall was down), or Landfall
 * answered 5xx/429 (Redis and the spool both unavailable, or rate limited). A 4xx other than 429
 * (bad signature, unknown payload) would fail the same way again.
 */
export function worthRedelivering(d: HookDelivery): boolean {
  return d.statusCode === 0 || d.statusCode === 429 || d.statusCode >= 500;
}

/** What {@link redeliverFailed} needs to avoid asking twice or for what already arrived. */
export interface RedeliveryGuard {
  /** Whether intake already accepted a delivery with this id (its de-duplication marker exists). */
  accepted(forge: ForgeId, guid: string): Promise<boolean>;
  /** Claims a delivery for redelivery; false when it was claimed before (by any process). */
  claim(forge: ForgeId, deliveryKey: string): Promise<boolean>;
  /** Gives a claim back after the forge refused the request, so a later run asks again. */
  release(forge: ForgeId, deliveryKey: string): Promise<void>;
}

/** One redelivery request Landfall made, or could not. */
export interface Redelivery {
  forge: ForgeId;
  repo: string;
  deliveryId: string;
  guid?: string;
  event: string;
  statusCode: number;
  error?: string;
}

/**
 * Asks the forge (GitHub, GitLab) to send again each failed delivery of the checked hooks that
 * can succeed now and that intake has not accepted since, at most `limit` per run, each once.
 * The redelivered events go through intake like any other: a push older than what is deployed ends
 * superseded, a plan for a moved pull request is skipped.
 */
export async function redeliverFailed(
  apis: Map<ForgeId, ForgeApi>,
  checks: readonly HookCheckResult[],
  guard: RedeliveryGuard,
  options: { limit?: number } = {},
): Promise<Redelivery[]> {
  let budget = options.limit ?? 100;
  const out: Redelivery[] = [];
  for (const check of checks) {
    const api = apis.get(check.forge);
    if (!api?.redeliver || !check.hookId) continue;
    for (const d of check.failedDeliveries) {
      if (budget <= 0) return out;
      if (!worthRedelivering(d)) continue;
      if (d.guid && (await guard.accepted(check.forge, d.guid))) continue;
      const key = `${check.repo}|${d.guid ?? d.id}`;
      if (!(await guard.claim(check.forge, key))) continue;
      budget -= 1;
      const record: Redelivery = {
        forge: check.forge,
        repo: check.repo,
        deliveryId: d.id,
        ...(d.guid ? { guid: d.guid } : {}),
        event: d.event,
        statusCode: d.statusCode,
      };
      try {
        await api.redeliver(check.repo, check.hookId, d.id);
      } catch (err) {
        record.error = explain(err, check.forge);
        await guard.release(check.forge, key);
      }
      out.push(record);
    }
  }
  return out;
}

/**
 * The forge's own disabling of a hook, in words with the way out. GitLab drops, and does not log,
 * every event while a hook is disabled, so there is nothing to resend afterwards.
 */
function disabledNote(hook: RemoteHook): string | undefined {
  if (!hook.disabled) return undefined;
  const after =
    "events meanwhile are dropped, not logged; Landfall's workers send a test delivery at their next webhook check, which re-enables it once Landfall answers, and plan the open merge requests (or test it in project Settings → Webhooks)";
  return hook.disabled.permanent
    ? `the forge disabled the hook for good after failed deliveries (40 in a row on GitLab); it stays off until a test delivery succeeds: ${after}`
    : `the forge disabled the hook for a while after failed deliveries (4 in a row on GitLab)${hook.disabled.until ? ` until ${hook.disabled.until}` : ''}; it resumes by itself, but ${after}`;
}

/** What {@link recoverDisabledHooks} did for one repository whose hook the forge had disabled. */
export interface HookRecovery {
  forge: ForgeId;
  repo: string;
  hookId: string;
  /** True when the test delivery went through (GitLab re-enables the hook). */
  reenabled: boolean;
  /** Open pull requests into the branches of the repository's apps, per app, to plan. */
  pullRequests: { app: string; pullRequest: OpenPullRequest }[];
  error?: string;
}

/**
 * For each checked hook the forge disabled (GitLab), sends a test delivery, which re-enables it
 * when Landfall answers, and lists the open pull requests into the branches of the repository's
 * apps: the forge dropped their events while the hook was off, so the caller plans them.
 */
export async function recoverDisabledHooks(
  apis: Map<ForgeId, ForgeApi>,
  checks: readonly HookCheckResult[],
  apps: readonly AppConfig[],
): Promise<HookRecovery[]> {
  const out: HookRecovery[] = [];
  for (const check of checks) {
    const api = apis.get(check.forge);
    if (!check.disabled || !check.hookId || !api?.testHook) continue;
    const record: HookRecovery = { forge: check.forge, repo: check.repo, hookId: check.hookId, reenabled: false, pullRequests: [] };
    out.push(record);
    try {
      await api.testHook(check.repo, check.hookId);
      record.reenabled = true;
      if (!api.openPullRequests) continue;
      for (const app of apps.filter((a) => a.forge === check.forge && a.repo.toLowerCase() === check.repo.toLowerCase())) {
        for (const pullRequest of await api.openPullRequests(check.repo, app.branch)) record.pullRequests.push({ app: app.name, pullRequest });
      }
    } catch (err) {
      record.error = explain(err, check.forge);
    }
  }
  return out;
}

/** Words for a forge API failure, with the fix for the usual one (a token without hook rights). */
function explain(err: unknown, forge: ForgeId): string {
  const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if ((status === 403 || status === 401 || status === 404) && !/is not installed on/.test(message)) {
    const rights: Record<ForgeId, string> = {
      github: 'a token with "Webhooks: Read and write" on the repository (classic: admin:repo_hook), or a GitHub App with the Webhooks permission',
      gitlab: 'a token of a Maintainer with the api scope',
      bitbucket: 'an access token with "Webhooks: Read and write"',
      'bitbucket-server': 'a token with repository admin rights',
      gitea: 'a token of a repository admin with write:repository',
    };
    return `${message} — managing webhooks needs ${rights[forge]}`;
  }
  return message;
}
