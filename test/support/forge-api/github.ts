/**
 * GitHub REST API stand-in (GitHub Enterprise layout: everything under `/api/v3`, which is what
 * `new Octokit({ baseUrl })` talks to). Commit statuses, issue comments, repository webhooks with
 * their deliveries and redeliveries; the GitHub App routes and check runs live in github-app.ts.
 * See README.md.
 */
import { randomUUID } from 'node:crypto';
import {
  checkInstallationToken,
  createAccessToken,
  createCheckRun,
  getRepoInstallation,
  ghTime,
  ghUser,
  installationOf,
  installationTokenOf,
  jwtCheck,
  repositoryId,
  updateCheckRun,
} from './github-app.js';
import {
  combinedStatus,
  createDeployment,
  createDeploymentStatus,
  getPermission,
  getPull,
  listCheckRunsForRef,
  listDeployments,
  listDeploymentStatuses,
  listPulls,
} from './github-previews.js';
import {
  checkFields,
  describeProblem,
  text,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type FieldProblem,
  type ForgeDefinition,
  type ForgeDelivery,
  type ForgeHook,
  type ForgeStore,
  type GitHubDelivery,
  type HookSeed,
  type RefusalKind,
  type RouteContext,
  type StoredComment,
} from './server.js';

const DOCS = 'https://docs.github.com/rest';
const STATUS_DOCS = 'https://docs.github.com/rest/commits/statuses#create-a-commit-status';
const CREATE_COMMENT_DOCS = 'https://docs.github.com/rest/issues/comments#create-an-issue-comment';
const UPDATE_COMMENT_DOCS = 'https://docs.github.com/rest/issues/comments#update-an-issue-comment';

/** GitHub's commit status states. */
export const GITHUB_STATES = ['error', 'failure', 'pending', 'success'] as const;
/** Longest status description GitHub accepts. */
export const GITHUB_DESCRIPTION_MAX = 140;
/** Longest issue comment body GitHub accepts. */
export const GITHUB_COMMENT_MAX = 65536;
/** Statuses GitHub keeps per sha and context before refusing more. */
export const GITHUB_STATUSES_PER_CONTEXT = 1000;

function error(status: number, message: string, documentationUrl = DOCS, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { message, ...extra, documentation_url: documentationUrl, status: String(status) } };
}

function commentJson(store: ForgeStore, c: StoredComment): Record<string, unknown> {
  return {
    id: c.id,
    node_id: `IC_kwDO${String(c.id)}`,
    url: `${store.origin}/api/v3/repos/${c.repo}/issues/comments/${String(c.id)}`,
    html_url: `${store.origin}/${c.repo}/pull/${String(c.pr)}#issuecomment-${String(c.id)}`,
    issue_url: `${store.origin}/api/v3/repos/${c.repo}/issues/${String(c.pr)}`,
    body: c.body,
    user: ghUser(store, c.author),
    created_at: ghTime(c.createdAt),
    updated_at: ghTime(c.updatedAt),
    author_association: 'NONE',
    performed_via_github_app: null,
    reactions: { url: `${store.origin}/api/v3/repos/${c.repo}/issues/comments/${String(c.id)}/reactions`, total_count: 0 },
  };
}

/** GitHub's answer to body problems: schema errors as "Invalid request.", value rules as "Validation Failed". */
function invalid(problems: FieldProblem[], resource: string, docs: string): Answer {
  const reason = problems.map(describeProblem).join('; ');
  const schema = problems.filter((p) => p.problem === 'missing' || p.problem === 'type' || p.problem === 'not-allowed-value');
  if (schema.length > 0) {
    const lines = schema.map((p) => {
      if (p.problem === 'missing') return `"${p.field}" wasn't supplied.`;
      if (p.problem === 'not-allowed-value') {
        return `No subschema in "anyOf" matched.\n${JSON.stringify(p.value)} is not a member of [${(p.rule?.oneOf ?? []).map((v) => `"${v}"`).join(', ')}].`;
      }
      return `For '${p.field}', ${JSON.stringify(p.value)} is not a ${p.rule?.type ?? 'value'}.`;
    });
    return { ...error(422, `Invalid request.\n\n${lines.join('\n')}`, docs), unexpected: reason };
  }
  const errors = problems.map((p) => {
    if (p.problem === 'too-long') {
      return { resource, code: 'custom', field: p.field, message: `${p.field} is too long (maximum is ${String(p.rule?.maxLength)} characters)` };
    }
    // Unknown fields: GitHub ignores them; the stand-in refuses so a misspelt field is caught.
    return { resource, code: 'invalid', field: p.field, message: `forge-api stand-in: ${describeProblem(p)}` };
  });
  return { ...error(422, 'Validation Failed', docs, { errors }), unexpected: reason };
}

function createStatus(ctx: RouteContext): Answer {
  const { sha, owner, repo } = ctx.params as { sha: string; owner: string; repo: string };
  if (!isFullSha(sha)) {
    return { ...error(422, `No commit found for SHA: ${sha}`, STATUS_DOCS), unexpected: `sha ${JSON.stringify(sha)} is not a full 40-hex commit sha` };
  }
  const problems = checkFields(ctx.body, {
    state: { type: 'string', required: true, oneOf: GITHUB_STATES },
    target_url: { type: 'string', nullable: true },
    description: { type: 'string', nullable: true, maxLength: GITHUB_DESCRIPTION_MAX },
    context: { type: 'string' },
  });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', STATUS_DOCS), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'Status', STATUS_DOCS);
  const body = ctx.body as { state: string; target_url?: string | null; description?: string | null; context?: string };
  const context = body.context ?? 'default';
  if (ctx.store.statusHistory(sha, context).length >= GITHUB_STATUSES_PER_CONTEXT) {
    return {
      ...error(422, 'Validation Failed', STATUS_DOCS, {
        errors: [{ resource: 'Status', code: 'custom', message: 'This SHA and context has reached the maximum number of statuses.' }],
      }),
      unexpected: `more than ${String(GITHUB_STATUSES_PER_CONTEXT)} statuses for ${sha} ${context}`,
    };
  }
  const stored = ctx.store.addStatus({
    sha,
    context,
    state: body.state,
    description: body.description ?? null,
    targetUrl: body.target_url ?? null,
  });
  const url = `${ctx.store.origin}/api/v3/repos/${owner}/${repo}/statuses/${stored.sha}`;
  return {
    status: 201,
    headers: { Location: url },
    body: {
      url,
      avatar_url: null,
      id: stored.id,
      node_id: `SC_kwDO${String(stored.id)}`,
      state: stored.state,
      description: stored.description,
      target_url: stored.targetUrl,
      context: stored.context,
      created_at: ghTime(stored.createdAt),
      updated_at: ghTime(stored.createdAt),
      creator: ghUser(ctx.store, ctx.store.login),
    },
  };
}

function listComments(ctx: RouteContext): Answer {
  const pr = Number(ctx.params['number']);
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 30), 100);
  const page = intQuery(ctx.query, 'page', 1);
  let all = ctx.store.listComments(pr, ctx.repo).filter((c) => !c.deleted);
  const since = ctx.query['since'];
  if (since !== undefined) {
    const at = Date.parse(since);
    if (Number.isNaN(at))
      return {
        ...error(422, `Invalid value for parameter 'since': ${JSON.stringify(since)}`, DOCS),
        unexpected: `since=${since} is not an ISO 8601 timestamp`,
      };
    all = all.filter((c) => Date.parse(c.updatedAt) >= at);
  }
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const links: string[] = [];
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, per_page: perPage, page: p })}>; rel="${rel}"`;
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return { status: 200, headers: links.length > 0 ? { Link: links.join(', ') } : {}, body: slice.map((c) => commentJson(ctx.store, c)) };
}

function commentBodyProblems(ctx: RouteContext, docs: string): Answer | undefined {
  const problems = checkFields(ctx.body, { body: { type: 'string', required: true, maxLength: GITHUB_COMMENT_MAX } });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', docs), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'IssueComment', docs);
  return undefined;
}

function createComment(ctx: RouteContext): Answer {
  const bad = commentBodyProblems(ctx, CREATE_COMMENT_DOCS);
  if (bad) return bad;
  const c = ctx.store.addComment(Number(ctx.params['number']), ctx.repo, (ctx.body as { body: string }).body);
  return { status: 201, headers: { Location: `${ctx.store.origin}/api/v3/repos/${c.repo}/issues/comments/${String(c.id)}` }, body: commentJson(ctx.store, c) };
}

function updateComment(ctx: RouteContext): Answer {
  const id = Number(ctx.params['comment_id']);
  const c = ctx.store.findComment(id);
  if (!c || c.deleted || c.repo.toLowerCase() !== ctx.repo.toLowerCase()) {
    const a = error(404, 'Not Found', UPDATE_COMMENT_DOCS);
    // Updating a comment a human deleted is a legitimate race; an id this server never issued is a bug.
    if (c?.deleted === true) return a;
    return { ...a, unexpected: c ? `comment ${String(id)} belongs to ${c.repo}, not ${ctx.repo}` : `comment ${String(id)} was never created` };
  }
  const bad = commentBodyProblems(ctx, UPDATE_COMMENT_DOCS);
  if (bad) return bad;
  ctx.store.updateComment(c, (ctx.body as { body: string }).body);
  return { status: 200, body: commentJson(ctx.store, c) };
}

// ---------------------------------------------------------------------------------------------
// Repository webhooks

const HOOKS_DOCS = 'https://docs.github.com/rest/repos/webhooks';
const CREATE_HOOK_DOCS = 'https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook';
const UPDATE_HOOK_DOCS = 'https://docs.github.com/rest/repos/webhooks#update-a-repository-webhook';
const DELIVERIES_DOCS = 'https://docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook';
const REDELIVER_DOCS = 'https://docs.github.com/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook';

/** Events a repository webhook can subscribe to (plus `*`). App-, organization- and enterprise-only events are refused. */
export const GITHUB_HOOK_EVENTS = [
  '*',
  'branch_protection_configuration',
  'branch_protection_rule',
  'check_run',
  'check_suite',
  'code_scanning_alert',
  'commit_comment',
  'create',
  'custom_property_values',
  'delete',
  'dependabot_alert',
  'deploy_key',
  'deployment',
  'deployment_protection_rule',
  'deployment_review',
  'deployment_status',
  'discussion',
  'discussion_comment',
  'fork',
  'gollum',
  'issue_comment',
  'issue_dependencies',
  'issues',
  'label',
  'member',
  'merge_group',
  'meta',
  'milestone',
  'package',
  'page_build',
  'project',
  'project_card',
  'project_column',
  'public',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_review_thread',
  'push',
  'registry_package',
  'release',
  'repository',
  'repository_advisory',
  'repository_import',
  'repository_ruleset',
  'repository_vulnerability_alert',
  'secret_scanning_alert',
  'secret_scanning_alert_location',
  'secret_scanning_scan',
  'security_and_analysis',
  'star',
  'status',
  'sub_issues',
  'team_add',
  'watch',
  'workflow_job',
  'workflow_run',
] as const;
/** Most hooks one event may have on a repository. */
export const GITHUB_HOOKS_PER_EVENT_MAX = 20;
/** How long GitHub keeps delivery logs (listing shows no older ones). */
export const GITHUB_DELIVERY_RETENTION_MS = 3 * 24 * 60 * 60 * 1000;

const NEVER_ANSWERED = { code: null, status: 'unused', message: null };

function hookJson(store: ForgeStore, h: ForgeHook): Record<string, unknown> {
  const base = `${store.origin}/api/v3/repos/${h.repo}/hooks/${String(h.id)}`;
  const config: Record<string, unknown> = { content_type: h.settings['content_type'], insecure_ssl: h.settings['insecure_ssl'] };
  // GitHub never returns the secret; it shows that one is set.
  if (h.secret !== null) config['secret'] = '********';
  config['url'] = h.url;
  return {
    type: 'Repository',
    id: h.id,
    name: 'web',
    active: h.active,
    events: [...h.events],
    config,
    updated_at: ghTime(h.updatedAt),
    created_at: ghTime(h.createdAt),
    url: base,
    test_url: `${base}/test`,
    ping_url: `${base}/pings`,
    deliveries_url: `${base}/deliveries`,
    last_response: h.settings['last_response'] ?? NEVER_ANSWERED,
  };
}

function hookValidation(message: string, reason: string, docs: string, field?: string): Answer {
  const e: Record<string, unknown> = { resource: 'Hook', code: 'custom', message };
  if (field !== undefined) e['field'] = field;
  return { ...error(422, 'Validation Failed', docs, { errors: [e] }), unexpected: reason };
}

/** Problems with an events list, or undefined. */
function eventProblem(events: readonly unknown[]): string | undefined {
  if (events.length === 0) return 'events may not be empty';
  const bad = events.filter((e) => typeof e !== 'string' || !(GITHUB_HOOK_EVENTS as readonly string[]).includes(e));
  if (bad.length > 0)
    return `${bad.map((e) => JSON.stringify(e)).join(', ')} ${bad.length === 1 ? 'is not a' : 'are not'} repository webhook event${bad.length === 1 ? '' : 's'}`;
  return undefined;
}

function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not an absolute URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${JSON.stringify(url)} is not http(s)`;
  return undefined;
}

const CONFIG_RULES = {
  url: { type: 'string' },
  content_type: { type: 'string', oneOf: ['json', 'form'] },
  secret: { type: 'string' },
  insecure_ssl: { type: 'string' },
} as const;

/** Validates a `config` object; `insecure_ssl` may be "0"/"1" or 0/1. */
function configProblem(config: unknown, docs: string): Answer | undefined {
  const c = isPlainConfig(config) ? { ...config } : config;
  if (isPlainConfig(c) && typeof c['insecure_ssl'] === 'number') c['insecure_ssl'] = String(c['insecure_ssl']);
  const problems = checkFields(c, CONFIG_RULES);
  if (problems === 'not-an-object') return invalid([{ field: 'config', problem: 'type', rule: { type: 'object' }, value: config }], 'Hook', docs);
  if (problems.length > 0)
    return invalid(
      problems.map((p) => ({ ...p, field: `config.${p.field}` })),
      'Hook',
      docs,
    );
  const ssl = (c as Record<string, unknown>)['insecure_ssl'];
  if (ssl !== undefined && ssl !== '0' && ssl !== '1')
    return hookValidation('insecure_ssl must be "0" or "1"', `config.insecure_ssl ${JSON.stringify(ssl)} is not "0" or "1"`, docs, 'insecure_ssl');
  const url = (c as Record<string, unknown>)['url'];
  if (typeof url === 'string') {
    const bad = urlProblem(url);
    if (bad) return hookValidation(`url is not a valid URL`, `config.url ${bad}`, docs, 'url');
  }
  return undefined;
}

function isPlainConfig(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A hook with the same URL on the repository (GitHub refuses duplicates). */
function duplicateOf(store: ForgeStore, repo: string, url: string, except?: ForgeHook): ForgeHook | undefined {
  return store.hooksOf(repo).find((h) => h !== except && h.url === url);
}

/** The event that would get more than 20 hooks, if any. */
function overfullEvent(store: ForgeStore, repo: string, events: readonly string[], except?: ForgeHook): string | undefined {
  const others = store.hooksOf(repo).filter((h) => h !== except);
  return events.find((e) => others.filter((h) => h.events.includes(e)).length >= GITHUB_HOOKS_PER_EVENT_MAX);
}

function listHooks(ctx: RouteContext): Answer {
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 30), 100);
  const page = intQuery(ctx.query, 'page', 1);
  const all = ctx.store.hooksOf(ctx.repo);
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const links: string[] = [];
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, per_page: perPage, page: p })}>; rel="${rel}"`;
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return { status: 200, headers: links.length > 0 ? { Link: links.join(', ') } : {}, body: slice.map((h) => hookJson(ctx.store, h)) };
}

function createHook(ctx: RouteContext): Answer {
  const problems = checkFields(ctx.body ?? {}, {
    name: { type: 'string', oneOf: ['web'] },
    config: { type: 'object' },
    events: { type: 'array' },
    active: { type: 'boolean' },
  });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', CREATE_HOOK_DOCS), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'Hook', CREATE_HOOK_DOCS);
  const body = (ctx.body ?? {}) as { config?: Record<string, unknown>; events?: unknown[]; active?: boolean };
  const config = body.config ?? {};
  const bad = configProblem(config, CREATE_HOOK_DOCS);
  if (bad) return bad;
  const url = config['url'];
  if (typeof url !== 'string' || url === '') return hookValidation('Config must contain URL for webhooks', 'config.url is missing', CREATE_HOOK_DOCS);
  const events = (body.events ?? ['push']) as string[];
  const eventBad = eventProblem(events);
  if (eventBad) return hookValidation(`Invalid events: ${eventBad}`, eventBad, CREATE_HOOK_DOCS, 'events');
  if (duplicateOf(ctx.store, ctx.repo, url))
    return hookValidation('Hook already exists on this repository', `a hook for ${url} already exists on ${ctx.repo} (update it instead)`, CREATE_HOOK_DOCS);
  const full = overfullEvent(ctx.store, ctx.repo, events);
  if (full !== undefined)
    return hookValidation(
      `The "${full}" event cannot have more than ${String(GITHUB_HOOKS_PER_EVENT_MAX)} hooks`,
      `more than ${String(GITHUB_HOOKS_PER_EVENT_MAX)} hooks for ${full}`,
      CREATE_HOOK_DOCS,
    );
  const now = ctx.store.now().toISOString();
  const hook: ForgeHook = {
    id: ctx.store.nextId('github:hook', 400_000_001),
    repo: ctx.repo,
    url,
    active: body.active ?? true,
    events: [...new Set(events)],
    secret: typeof config['secret'] === 'string' && config['secret'] !== '' ? config['secret'] : null,
    settings: {
      // GitHub's default content type is form, not json.
      content_type: config['content_type'] ?? 'form',
      insecure_ssl: config['insecure_ssl'] === undefined ? '0' : text(config['insecure_ssl']),
      last_response: { ...NEVER_ANSWERED },
    },
    createdAt: now,
    updatedAt: now,
    edits: 0,
  };
  ctx.store.hooks.push(hook);
  return { status: 201, headers: { Location: `${ctx.store.origin}/api/v3/repos/${ctx.repo}/hooks/${String(hook.id)}` }, body: hookJson(ctx.store, hook) };
}

function hookOr404(ctx: RouteContext, docs: string): ForgeHook | Answer {
  const id = Number(ctx.params['hook_id']);
  const hook = ctx.store.findHook(ctx.repo, id);
  if (!hook) return { ...error(404, 'Not Found', docs), unexpected: `${ctx.repo} has no hook ${String(id)}` };
  return hook;
}

function updateHook(ctx: RouteContext): Answer {
  const found = hookOr404(ctx, UPDATE_HOOK_DOCS);
  if (!('repo' in found)) return found;
  const hook = found;
  const problems = checkFields(ctx.body, {
    config: { type: 'object' },
    events: { type: 'array' },
    add_events: { type: 'array' },
    remove_events: { type: 'array' },
    active: { type: 'boolean' },
  });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', UPDATE_HOOK_DOCS), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'Hook', UPDATE_HOOK_DOCS);
  const body = ctx.body as { config?: Record<string, unknown>; events?: unknown[]; add_events?: unknown[]; remove_events?: unknown[]; active?: boolean };
  if (body.config) {
    const bad = configProblem(body.config, UPDATE_HOOK_DOCS);
    if (bad) return bad;
  }
  let events = body.events !== undefined ? (body.events as string[]) : [...hook.events];
  for (const list of [body.events, body.add_events, body.remove_events]) {
    if (list === undefined) continue;
    const bad = list.length === 0 && list !== body.events ? undefined : eventProblem(list);
    if (bad) return hookValidation(`Invalid events: ${bad}`, bad, UPDATE_HOOK_DOCS, 'events');
  }
  for (const e of (body.add_events ?? []) as string[]) if (!events.includes(e)) events.push(e);
  events = events.filter((e) => !((body.remove_events ?? []) as string[]).includes(e));
  if (events.length === 0)
    return hookValidation('Invalid events: events may not be empty', 'the update leaves the hook without events', UPDATE_HOOK_DOCS, 'events');
  const url = typeof body.config?.['url'] === 'string' ? body.config['url'] : hook.url;
  if (url === '') return hookValidation('Config must contain URL for webhooks', 'config.url is empty', UPDATE_HOOK_DOCS);
  if (duplicateOf(ctx.store, ctx.repo, url, hook))
    return hookValidation('Hook already exists on this repository', `another hook of ${ctx.repo} already posts to ${url}`, UPDATE_HOOK_DOCS);
  const full = overfullEvent(ctx.store, ctx.repo, events, hook);
  if (full !== undefined)
    return hookValidation(
      `The "${full}" event cannot have more than ${String(GITHUB_HOOKS_PER_EVENT_MAX)} hooks`,
      `more than ${String(GITHUB_HOOKS_PER_EVENT_MAX)} hooks for ${full}`,
      UPDATE_HOOK_DOCS,
    );
  if (body.config) {
    const c = body.config;
    hook.url = url;
    if (c['content_type'] !== undefined) hook.settings['content_type'] = c['content_type'];
    if (c['insecure_ssl'] !== undefined) hook.settings['insecure_ssl'] = text(c['insecure_ssl']);
    // GitHub: "If you previously had a secret set, you must provide the same secret or set a new
    // secret or the secret will be removed." A config without secret removes it.
    hook.secret = typeof c['secret'] === 'string' && c['secret'] !== '' ? c['secret'] : null;
  }
  hook.events = [...new Set(events)];
  if (body.active !== undefined) hook.active = body.active;
  ctx.store.touchHook(hook);
  return { status: 200, body: hookJson(ctx.store, hook) };
}

function listDeliveries(ctx: RouteContext): Answer {
  const found = hookOr404(ctx, DELIVERIES_DOCS);
  if (!('repo' in found)) return found;
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 30), 100);
  const status = ctx.query['status'];
  if (status !== undefined && status !== 'success' && status !== 'failure') {
    return {
      ...error(422, 'Validation Failed', DELIVERIES_DOCS, { errors: [{ resource: 'HookDelivery', code: 'invalid', field: 'status' }] }),
      unexpected: `status=${status} is not success|failure`,
    };
  }
  const now = ctx.store.now().getTime();
  let all = (ctx.store.listDeliveries(found.repo, Number(found.id)) as GitHubDelivery[])
    .filter((d) => now - Date.parse(d.delivered_at) <= GITHUB_DELIVERY_RETENTION_MS)
    // GitHub documents no order; the stand-in lists by id, newest first, which its cursor pages
    // by. `delivered_at` is then not monotonic when deliveries were delayed or seeded out of order.
    .sort((a, b) => b.id - a.id);
  if (status !== undefined) all = all.filter((d) => (d.status_code >= 200 && d.status_code < 300) === (status === 'success'));
  let start = 0;
  const cursor = ctx.query['cursor'];
  if (cursor !== undefined) {
    const m = /^v1_(\d+)$/.exec(cursor);
    const at = m ? all.findIndex((d) => d.id === Number(m[1])) : -1;
    if (at < 0)
      return {
        ...error(400, 'Invalid cursor', DELIVERIES_DOCS),
        unexpected: `cursor ${JSON.stringify(cursor)} was not issued by this server (use the Link header's)`,
      };
    start = at + 1;
  }
  const slice = all.slice(start, start + perPage);
  const headers: Record<string, string> = {};
  if (start + perPage < all.length && slice.length > 0) {
    const last = slice[slice.length - 1]!;
    headers['Link'] = `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, per_page: perPage, cursor: `v1_${String(last.id)}` })}>; rel="next"`;
  }
  return { status: 200, headers, body: slice.map((d) => ({ ...d })) };
}

function newDelivery(store: ForgeStore, hook: ForgeHook, seed: Partial<GitHubDelivery>): GitHubDelivery {
  const a = store.options.app;
  const installation = a ? (installationOf(a, hook.repo) ?? null) : null;
  return {
    id: seed.id ?? store.nextId('github:delivery', 10_000_000_001),
    guid: seed.guid ?? randomUUID(),
    delivered_at: ghTime(seed.delivered_at ?? store.now().toISOString()),
    redelivery: seed.redelivery ?? false,
    duration: seed.duration ?? 0.05,
    status:
      seed.status ??
      (seed.status_code === undefined || (seed.status_code >= 200 && seed.status_code < 300) ? 'OK' : `Invalid HTTP Response: ${String(seed.status_code)}`),
    status_code: seed.status_code ?? 200,
    event: seed.event ?? 'push',
    action: seed.action ?? null,
    installation_id: seed.installation_id !== undefined ? seed.installation_id : installation,
    repository_id: seed.repository_id !== undefined ? seed.repository_id : repositoryId(store, hook.repo),
    ...(seed.throttled_at !== undefined ? { throttled_at: seed.throttled_at } : {}),
  };
}

function redeliver(ctx: RouteContext): Answer {
  const found = hookOr404(ctx, REDELIVER_DOCS);
  if (!('repo' in found)) return found;
  const id = Number(ctx.params['delivery_id']);
  const now = ctx.store.now();
  const original = (ctx.store.listDeliveries(found.repo, Number(found.id)) as GitHubDelivery[]).find((d) => d.id === id);
  if (!original || now.getTime() - Date.parse(original.delivered_at) > GITHUB_DELIVERY_RETENTION_MS) {
    return {
      ...error(404, 'Not Found', REDELIVER_DOCS),
      unexpected: original ? `delivery ${String(id)} is older than GitHub keeps deliveries (3 days)` : `hook ${String(found.id)} has no delivery ${String(id)}`,
    };
  }
  // The attempt is logged as a new delivery with the same guid (the stand-in sends nothing; it reports success).
  const again = ctx.store.addDelivery(
    found.repo,
    Number(found.id),
    newDelivery(ctx.store, found, {
      guid: original.guid,
      redelivery: true,
      event: original.event,
      action: original.action,
      installation_id: original.installation_id,
      repository_id: original.repository_id,
    }),
  ) as GitHubDelivery;
  ctx.store.redeliveries.push({ repo: found.repo, hookId: Number(found.id), deliveryId: id, newDeliveryId: again.id, at: now.toISOString() });
  return { status: 202, body: {} };
}

function seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook {
  const events = seed.events ?? ['push'];
  const bad = eventProblem(events) ?? urlProblem(seed.url);
  if (bad) throw new Error(`seedHook (github): ${bad}`);
  const settings = { content_type: 'form', insecure_ssl: '0', last_response: { ...NEVER_ANSWERED }, ...(seed.settings ?? {}) };
  if (!['json', 'form'].includes(String(settings.content_type)))
    throw new Error(`seedHook (github): content_type ${JSON.stringify(settings.content_type)} is not json|form`);
  const createdAt = seed.createdAt ?? store.now().toISOString();
  return {
    id: seed.id ?? store.nextId('github:hook', 400_000_001),
    repo,
    url: seed.url,
    active: seed.active ?? true,
    events: [...events],
    secret: seed.secret ?? null,
    settings,
    createdAt,
    updatedAt: createdAt,
    edits: 0,
  };
}

function seedDelivery(store: ForgeStore, hook: ForgeHook, seed: Partial<GitHubDelivery>): ForgeDelivery {
  return newDelivery(store, hook, seed);
}

function refuse(kind: RefusalKind): Answer {
  switch (kind) {
    case 'unauthorized':
      return error(401, 'Bad credentials');
    case 'bad-json':
      return error(400, 'Problems parsing JSON');
    case 'media-type':
      return error(415, 'Unsupported Media Type');
    default:
      // GitHub answers 404 for unknown paths, unsupported methods and repositories you cannot see.
      return error(404, 'Not Found');
  }
}

function errorBody(status: number, headers: Record<string, string>, _store: ForgeStore, path?: string): unknown {
  if (status === 403 && headers['x-ratelimit-remaining'] === '0') {
    return {
      message:
        'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      status: '403',
    };
  }
  if ((status === 403 || status === 429) && headers['retry-after'] !== undefined) {
    return {
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url: 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: String(status),
    };
  }
  if (status === 403 && path !== undefined && /\/hooks(\/|$)/.test(path)) {
    return { message: 'Resource not accessible by personal access token', documentation_url: `${HOOKS_DOCS}#list-repository-webhooks`, status: '403' };
  }
  const messages: Record<number, string> = {
    400: 'Bad Request',
    401: 'Bad credentials',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Validation Failed',
    429: 'Too Many Requests',
    500: 'Server Error',
    502: 'Server Error',
    503: 'Service Unavailable',
  };
  return { message: messages[status] ?? 'Error', documentation_url: DOCS, status: String(status) };
}

/** The GitHub stand-in's definition. */
export function githubForge(): ForgeDefinition {
  const repo = (p: Record<string, string>): string => `${p['owner'] ?? ''}/${p['repo'] ?? ''}`;
  return {
    id: 'github',
    mount: '/api/v3',
    urlPath: '/api/v3',
    requireJsonContentType: false,
    contextKey: (context) => context.toLowerCase(),
    authenticate(headers, options, ctx) {
      const header = headers['authorization'];
      if (header === undefined) return { missing: true, reason: 'no Authorization header' };
      const m = /^(token|bearer)\s+(.+)$/i.exec(header.trim());
      if (!m) return { missing: false, reason: `Authorization header ${JSON.stringify(header)} is neither "token <t>" nor "Bearer <t>"` };
      if (m[2] === options.token) return undefined;
      const installationToken = installationTokenOf(ctx.store, headers);
      if (installationToken) return checkInstallationToken(installationToken, options, ctx);
      if (options.app !== undefined && m[2]!.split('.').length === 3) {
        return { missing: false, reason: 'a GitHub App JWT was sent to a route that needs an installation token (exchange it first)' };
      }
      return { missing: false, reason: 'wrong token' };
    },
    refuse(kind, detail) {
      if (kind === 'unauthorized' && detail === 'no Authorization header') return error(401, 'Requires authentication');
      return refuse(kind);
    },
    errorBody,
    hookDenied: () => error(403, 'Resource not accessible by personal access token', `${HOOKS_DOCS}#list-repository-webhooks`),
    seedHook,
    seedDelivery,
    decorate(answer, store) {
      const used = Number(store.scratch.get('github:used') ?? 0) + 1;
      store.scratch.set('github:used', used);
      const reset = Number(store.scratch.get('github:reset') ?? Math.floor(store.now().getTime() / 1000) + 3600);
      store.scratch.set('github:reset', reset);
      const headers = answer.headers ?? {};
      const has = (name: string): boolean => Object.keys(headers).some((h) => h.toLowerCase() === name);
      const defaults: Record<string, string> = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(Math.max(0, 5000 - used)),
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-used': String(used),
        'x-ratelimit-resource': 'core',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': `0000:0000:${used.toString(16).padStart(6, '0')}`,
        // GitHub's own clock (the stand-in's `now`): @octokit/auth-app corrects JWT clock skew with it.
        date: store.now().toUTCString(),
      };
      for (const [k, v] of Object.entries(defaults)) if (!has(k)) headers[k] = v;
      answer.headers = headers;
    },
    routes: [
      { method: 'POST', pattern: '/repos/{owner}/{repo}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/issues/{number:int}/comments', repo, handle: listComments },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/issues/{number:int}/comments', repo, handle: createComment },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/issues/comments/{comment_id:int}', repo, handle: updateComment },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/hooks', repo, handle: listHooks, hook: true },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/hooks', repo, handle: createHook, hook: true },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/hooks/{hook_id:int}', repo, handle: updateHook, hook: true },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/hooks/{hook_id:int}/deliveries', repo, handle: listDeliveries, hook: true },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts', repo, handle: redeliver, hook: true },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/installation', repo, handle: getRepoInstallation, authenticate: jwtCheck },
      { method: 'POST', pattern: '/app/installations/{installation_id:int}/access_tokens', repo: () => '', handle: createAccessToken, authenticate: jwtCheck },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/check-runs', repo, handle: createCheckRun },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/check-runs/{check_run_id:int}', repo, handle: updateCheckRun },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/pulls', repo, handle: listPulls },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/pulls/{number:int}', repo, handle: getPull },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/collaborators/{username}/permission', repo, handle: getPermission },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/commits/{ref}/status', repo, handle: combinedStatus },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/commits/{ref}/check-runs', repo, handle: listCheckRunsForRef },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/deployments', repo, handle: listDeployments },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/deployments', repo, handle: createDeployment },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/deployments/{deployment_id:int}/statuses', repo, handle: listDeploymentStatuses },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/deployments/{deployment_id:int}/statuses', repo, handle: createDeploymentStatus },
    ],
  };
}
