/**
 * GitLab REST API v4 stand-in: commit statuses (with GitLab's external-job state machine),
 * merge-request notes, project webhooks and their events (hook logs) with resend, as
 * `@gitbeaker/rest` calls them. See README.md.
 */
import { randomUUID } from 'node:crypto';
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type ForgeDefinition,
  type ForgeDelivery,
  type ForgeHook,
  type ForgeStore,
  type GitLabHookEvent,
  type HookSeed,
  type FieldRule,
  type ForgeEnvironment,
  type ForgePullRequest,
  type ForgeStatus,
  type RefusalKind,
  type RouteContext,
  type StoredComment,
} from './server.js';

/** The states `POST /projects/:id/statuses/:sha` accepts. */
export const GITLAB_STATES = ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] as const;
/** Longest description, target_url and ref GitLab accepts. */
export const GITLAB_FIELD_MAX = 255;
/** Longest note body GitLab accepts. */
export const GITLAB_NOTE_MAX = 1_000_000;

/** The GitLab version the stand-in imitates unless `options.gitlab.version` says otherwise. */
export const GITLAB_DEFAULT_VERSION = '19.0';

/** True when the imitated GitLab is `version` or newer. */
function atLeast(store: ForgeStore, version: string): boolean {
  const [major = 0, minor = 0] = (store.options.gitlab?.version ?? GITLAB_DEFAULT_VERSION).split('.').map(Number);
  const [wantMajor = 0, wantMinor = 0] = version.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Whether this GitLab keeps a hook's signing token (19.0+, with the feature on). */
function keepsSigningTokens(store: ForgeStore): boolean {
  return atLeast(store, '19.0') && store.options.gitlab?.signingTokens !== false;
}

type JobStatus = 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';

interface Job {
  id: number;
  project: string;
  sha: string;
  ref: string;
  name: string;
  status: JobStatus;
  description: string | null;
  targetUrl: string | null;
  coverage: number | null;
  pipelineId: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Event GitLab fires for a requested state, and the states it may fire from (CommitStatus state machine). */
const EVENTS: Record<string, { event: string; from: JobStatus[]; to: JobStatus }> = {
  pending: { event: 'enqueue', from: ['created', 'skipped'], to: 'pending' },
  running: { event: 'run', from: ['pending'], to: 'running' },
  success: { event: 'success', from: ['created', 'pending', 'running'], to: 'success' },
  failed: { event: 'drop', from: ['created', 'pending', 'running'], to: 'failed' },
  canceled: { event: 'cancel', from: ['created', 'pending', 'running'], to: 'canceled' },
  skipped: { event: 'skip', from: ['created', 'pending'], to: 'skipped' },
};

function jobs(store: ForgeStore): Job[] {
  let list = store.scratch.get('gitlab:jobs') as Job[] | undefined;
  if (!list) {
    list = [];
    store.scratch.set('gitlab:jobs', list);
  }
  return list;
}

function author(store: ForgeStore, username: string): Record<string, unknown> {
  return {
    id: store.userId(username),
    username,
    name: username,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${store.origin}/${username}`,
  };
}

function jobJson(store: ForgeStore, job: Job): Record<string, unknown> {
  return {
    id: job.id,
    sha: job.sha,
    ref: job.ref,
    status: job.status,
    name: job.name,
    target_url: job.targetUrl,
    description: job.description,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    allow_failure: false,
    coverage: job.coverage,
    pipeline_id: job.pipelineId,
    author: author(store, store.login),
  };
}

function noteJson(store: ForgeStore, c: StoredComment): Record<string, unknown> {
  return {
    id: c.id,
    type: null,
    body: c.body,
    attachment: null,
    author: author(store, c.author),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    system: c.system === true,
    noteable_id: 10_000 + c.pr,
    noteable_type: 'MergeRequest',
    project_id: 1,
    resolvable: false,
    confidential: false,
    internal: false,
    imported: false,
    imported_from: 'none',
    noteable_iid: c.pr,
    commands_changes: {},
  };
}

/** Grape's answer for a missing / invalid declared parameter. */
function grapeError(message: string, reason: string): Answer {
  return { status: 400, body: { error: message }, unexpected: reason };
}

function projectCheck(ctx: RouteContext): Answer | undefined {
  const id = ctx.params['id'] ?? '';
  if (id.includes('%')) {
    return { status: 404, body: { message: '404 Project Not Found' }, unexpected: `project id ${JSON.stringify(id)} looks encoded twice` };
  }
  if (!/^\d+$/.test(id) && !id.includes('/')) {
    return {
      status: 404,
      body: { message: '404 Project Not Found' },
      unexpected: `project id ${JSON.stringify(id)} is neither a number nor a full namespace/project path`,
    };
  }
  return undefined;
}

function createStatus(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const rawSha = ctx.params['sha'] ?? '';
  const sha = isFullSha(rawSha) ? rawSha.toLowerCase() : ctx.store.resolveCommit(rawSha);
  if (sha === undefined) {
    return { status: 404, body: { message: '404 Commit Not Found' }, unexpected: `sha ${JSON.stringify(rawSha)} is neither a full sha nor a seeded short one` };
  }
  const problems = checkFields(ctx.body, {
    state: { type: 'string', required: true, oneOf: GITLAB_STATES },
    name: { type: 'string' },
    context: { type: 'string' },
    ref: { type: 'string', maxLength: GITLAB_FIELD_MAX },
    target_url: { type: 'string', maxLength: GITLAB_FIELD_MAX },
    description: { type: 'string', maxLength: GITLAB_FIELD_MAX },
    coverage: { type: 'number' },
    pipeline_id: { type: 'integer' },
  });
  if (problems === 'not-an-object') return grapeError('state is missing', 'body is not a JSON object');
  // Grape checks declared params first (missing, type, values), then the model validates lengths.
  for (const p of problems) {
    if (p.problem === 'missing') return grapeError(`${p.field} is missing`, describeProblem(p));
    if (p.problem === 'type') return grapeError(`${p.field} is invalid`, describeProblem(p));
    if (p.problem === 'not-allowed-value') return grapeError(`${p.field} does not have a valid value`, describeProblem(p));
    if (p.problem === 'unknown')
      return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
  }
  const tooLong = problems.filter((p) => p.problem === 'too-long');
  const body = ctx.body as {
    state: string;
    name?: string;
    context?: string;
    ref?: string;
    target_url?: string;
    description?: string;
    coverage?: number;
    pipeline_id?: number;
  };
  const messages: Record<string, string[]> = {};
  const reasons = tooLong.map(describeProblem);
  for (const p of tooLong) messages[p.field] = [`is too long (maximum is ${String(GITLAB_FIELD_MAX)} characters)`];
  if (body.target_url !== undefined && !messages['target_url']) {
    let url: URL | undefined;
    try {
      url = new URL(body.target_url);
    } catch {
      messages['target_url'] = ['must be a valid URL'];
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') messages['target_url'] = ['is blocked: Only allowed schemes are http, https'];
    if (messages['target_url']) reasons.push(`target_url ${JSON.stringify(body.target_url)} ${messages['target_url'].join(', ')}`);
  }
  if (Object.keys(messages).length > 0) return { status: 400, body: { message: messages }, unexpected: reasons.join('; ') };

  const project = ctx.params['id']!;
  const name = body.name ?? body.context ?? 'default';
  const all = jobs(ctx.store);
  const sameSha = all.filter((j) => j.project === project && j.sha === sha);
  // Real GitLab falls back to a branch containing the commit; the stand-in uses the last ref seen for the sha, else main.
  const ref = body.ref ?? sameSha[sameSha.length - 1]?.ref ?? 'main';
  // Ci::CreateCommitStatusService: the user must be allowed to push or merge to the ref.
  if (ctx.store.options.gitlab?.role === 'developer' && (ctx.store.options.gitlab.protectedBranches ?? []).includes(ref)) {
    return { status: 403, body: { message: '403 Forbidden' } };
  }
  // Only a pending or running job with the same name and ref is updated; otherwise a new job starts in `created`.
  const active = sameSha.find((j) => j.ref === ref && j.name === name && (j.status === 'pending' || j.status === 'running'));
  const now = ctx.store.now().toISOString();
  const job: Job = active ?? {
    id: ctx.store.nextId('gitlab:job', 1001),
    project,
    sha,
    ref,
    name,
    status: 'created',
    description: null,
    targetUrl: null,
    coverage: null,
    pipelineId: sameSha.find((j) => j.ref === ref)?.pipelineId ?? ctx.store.nextId('gitlab:pipeline', 501),
    createdAt: now,
    startedAt: null,
    finishedAt: null,
  };
  let from = job.status;
  // `running` fires a silent enqueue first (created/skipped → pending), then run!.
  if (body.state === 'running' && (from === 'created' || from === 'skipped')) from = 'pending';
  const rule = EVENTS[body.state]!;
  if (!rule.from.includes(from)) {
    // Expected GitLab behaviour (not recorded unexpected): callers treat it as "already in that state".
    return {
      status: 400,
      body: { message: `Cannot transition status via :${rule.event} from :${from} (Reason(s): Status cannot transition via "${rule.event}")` },
    };
  }
  job.status = rule.to;
  if (body.description !== undefined) job.description = body.description;
  if (body.target_url !== undefined) job.targetUrl = body.target_url;
  if (body.coverage !== undefined) job.coverage = body.coverage;
  if (rule.to === 'running' && job.startedAt === null) job.startedAt = now;
  if (['success', 'failed', 'canceled'].includes(rule.to)) job.finishedAt = now;
  if (!active) all.push(job);
  ctx.store.addStatus({ sha, context: name, state: job.status, description: job.description, targetUrl: job.targetUrl, ref });
  return { status: 201, body: jobJson(ctx.store, job) };
}

function listNotes(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const sort = ctx.query['sort'] ?? 'desc';
  const orderBy = ctx.query['order_by'] ?? 'created_at';
  if (sort !== 'asc' && sort !== 'desc') return grapeError('sort does not have a valid value', `sort=${sort}`);
  if (orderBy !== 'created_at' && orderBy !== 'updated_at') return grapeError('order_by does not have a valid value', `order_by=${orderBy}`);
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 20), 100);
  const page = intQuery(ctx.query, 'page', 1);
  const key = orderBy === 'created_at' ? 'createdAt' : 'updatedAt';
  const all = ctx.store
    .listComments(Number(ctx.params['iid']), ctx.repo)
    .filter((c) => !c.deleted)
    .sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id - b.id) * (sort === 'asc' ? 1 : -1));
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, page: p, per_page: perPage })}>; rel="${rel}"`;
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < totalPages) links.push(link(page + 1, 'next'));
  links.push(link(1, 'first'), link(totalPages, 'last'));
  return {
    status: 200,
    headers: {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(all.length),
      'x-total-pages': String(totalPages),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      link: links.join(', '),
    },
    body: slice.map((c) => noteJson(ctx.store, c)),
  };
}

function noteBodyProblems(ctx: RouteContext): Answer | undefined {
  const problems = checkFields(ctx.body, {
    body: { type: 'string', required: true, maxLength: GITLAB_NOTE_MAX },
    internal: { type: 'boolean' },
    created_at: { type: 'string' },
    merge_request_diff_head_sha: { type: 'string' },
  });
  if (problems === 'not-an-object') return grapeError('body is missing', 'body is not a JSON object');
  for (const p of problems) {
    if (p.problem === 'missing') return grapeError(`${p.field} is missing`, describeProblem(p));
    if (p.problem === 'type') return grapeError(`${p.field} is invalid`, describeProblem(p));
    if (p.problem === 'unknown')
      return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
    if (p.problem === 'too-long') {
      return { status: 400, body: { message: { note: [`is too long (maximum is ${String(GITLAB_NOTE_MAX)} characters)`] } }, unexpected: describeProblem(p) };
    }
  }
  if ((ctx.body as { body: string }).body.trim() === '') {
    return { status: 400, body: { message: { note: ["can't be blank"] } }, unexpected: 'note body is blank' };
  }
  return undefined;
}

function createNote(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx) ?? noteBodyProblems(ctx);
  if (bad) return bad;
  const c = ctx.store.addComment(Number(ctx.params['iid']), ctx.repo, (ctx.body as { body: string }).body);
  return { status: 201, body: noteJson(ctx.store, c) };
}

function updateNote(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const id = Number(ctx.params['note_id']);
  const c = ctx.store.findComment(id);
  if (!c || c.deleted || c.repo !== ctx.repo || c.pr !== Number(ctx.params['iid'])) {
    const answer: Answer = { status: 404, body: { message: '404 Not found' } };
    if (c?.deleted === true) return answer;
    return { ...answer, unexpected: c ? `note ${String(id)} belongs to ${c.repo} !${String(c.pr)}` : `note ${String(id)} was never created` };
  }
  const problems = noteBodyProblems(ctx);
  if (problems) return problems;
  ctx.store.updateComment(c, (ctx.body as { body: string }).body);
  return { status: 200, body: noteJson(ctx.store, c) };
}

// ---------------------------------------------------------------------------------------------
// Project webhooks

/** The event flags of a project hook (`ForgeHook.events` holds the ones that are true). */
export const GITLAB_HOOK_EVENT_FLAGS = [
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'deployment_events',
  'releases_events',
  'milestone_events',
  'feature_flag_events',
  'emoji_events',
  'resource_access_token_events',
  'resource_deploy_token_events',
  'vulnerability_events',
] as const;
/** How long GitLab lists hook events. */
export const GITLAB_HOOK_EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Resends allowed per hook per minute. */
export const GITLAB_RESEND_PER_MINUTE = 5;

const HOOK_SETTINGS_DEFAULTS: Record<string, unknown> = {
  name: null,
  description: null,
  push_events_branch_filter: '',
  branch_filter_strategy: 'wildcard',
  enable_ssl_verification: true,
  signing_token: null,
  alert_status: 'executable',
  disabled_until: null,
  custom_webhook_template: null,
  custom_headers: [],
};

const TRIGGER_HEADERS: Record<string, string> = {
  push_hooks: 'Push Hook',
  tag_push_hooks: 'Tag Push Hook',
  merge_request_hooks: 'Merge Request Hook',
  note_hooks: 'Note Hook',
  pipeline_hooks: 'Pipeline Hook',
  job_hooks: 'Job Hook',
  issue_hooks: 'Issue Hook',
  wiki_page_hooks: 'Wiki Page Hook',
  deployment_hooks: 'Deployment Hook',
  release_hooks: 'Release Hook',
};

function projectId(store: ForgeStore, project: string): number {
  if (/^\d+$/.test(project)) return Number(project);
  let ids = store.scratch.get('gitlab:project-ids') as Map<string, number> | undefined;
  if (!ids) {
    ids = new Map();
    store.scratch.set('gitlab:project-ids', ids);
  }
  let id = ids.get(project.toLowerCase());
  if (id === undefined) {
    id = 100 + ids.size;
    ids.set(project.toLowerCase(), id);
  }
  return id;
}

function hookJson(store: ForgeStore, h: ForgeHook): Record<string, unknown> {
  const s = h.settings;
  const flags = Object.fromEntries(GITLAB_HOOK_EVENT_FLAGS.map((f) => [f, h.events.includes(f)]));
  const disabledUntil = s['disabled_until'] as string | null;
  // A temporary disabling ends by itself once disabled_until has passed.
  const lapsed = s['alert_status'] === 'temporarily_disabled' && disabledUntil !== null && Date.parse(disabledUntil) <= store.now().getTime();
  // GitLab never returns the token itself: lib/api/entities/{hook,project_hook}.rb.
  return {
    id: h.id,
    url: h.url,
    name: s['name'],
    description: s['description'],
    created_at: h.createdAt,
    push_events: flags['push_events'],
    tag_push_events: flags['tag_push_events'],
    merge_requests_events: flags['merge_requests_events'],
    repository_update_events: false,
    enable_ssl_verification: s['enable_ssl_verification'],
    alert_status: lapsed ? 'executable' : s['alert_status'],
    disabled_until: lapsed ? null : disabledUntil,
    url_variables: [],
    push_events_branch_filter: s['push_events_branch_filter'],
    branch_filter_strategy: s['branch_filter_strategy'],
    custom_webhook_template: s['custom_webhook_template'],
    custom_headers: ((s['custom_headers'] ?? []) as { key: string }[]).map((c) => ({ key: c.key })),
    project_id: projectId(store, h.repo),
    // GitLab 19.0+ says whether a token is set, never the token itself.
    ...(atLeast(store, '19.0') ? { token_present: h.secret !== null, signing_token_present: s['signing_token'] !== null } : {}),
    ...Object.fromEntries(
      GITLAB_HOOK_EVENT_FLAGS.filter((f) => !['push_events', 'tag_push_events', 'merge_requests_events'].includes(f)).map((f) => [f, flags[f]]),
    ),
  };
}

function hookRules(): Record<string, FieldRule> {
  return {
    url: { type: 'string', required: true },
    name: { type: 'string' },
    description: { type: 'string' },
    token: { type: 'string' },
    signing_token: { type: 'string' },
    push_events_branch_filter: { type: 'string' },
    branch_filter_strategy: { type: 'string', oneOf: ['wildcard', 'regex', 'all_branches'] },
    enable_ssl_verification: { type: 'boolean' },
    custom_webhook_template: { type: 'string' },
    custom_headers: { type: 'array' },
    ...Object.fromEntries(GITLAB_HOOK_EVENT_FLAGS.map((f) => [f, { type: 'boolean' }])),
  };
}

function validUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Grape param checks, then the model's url check ("Invalid url given", 422). */
function hookBodyProblems(ctx: RouteContext): Answer | undefined {
  const problems = checkFields(ctx.body, hookRules());
  if (problems === 'not-an-object') return grapeError('url is missing', 'body is not a JSON object');
  for (const p of problems) {
    if (p.problem === 'missing') return grapeError(`${p.field} is missing`, describeProblem(p));
    if (p.problem === 'type') return grapeError(`${p.field} is invalid`, describeProblem(p));
    if (p.problem === 'not-allowed-value') return grapeError(`${p.field} does not have a valid value`, describeProblem(p));
    if (p.problem === 'unknown')
      return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
  }
  const body = ctx.body as { url: string; custom_headers?: unknown[] };
  for (const h of body.custom_headers ?? []) {
    const bad = checkFields(h, { key: { type: 'string', required: true, nonBlank: true }, value: { type: 'string', required: true } });
    if (bad === 'not-an-object' || bad.length > 0)
      return grapeError('custom_headers is invalid', `custom_headers entry ${JSON.stringify(h)} is not {key, value}`);
  }
  if (!validUrl(body.url)) return { status: 422, body: { message: 'Invalid url given' }, unexpected: `url ${JSON.stringify(body.url)} is not an http(s) URL` };
  return undefined;
}

function applyHookBody(store: ForgeStore, hook: ForgeHook, body: Record<string, unknown>): void {
  for (const f of GITLAB_HOOK_EVENT_FLAGS) {
    const v = body[f];
    if (v === true && !hook.events.includes(f)) hook.events.push(f);
    if (v === false) hook.events = hook.events.filter((e) => e !== f);
  }
  for (const k of [
    'name',
    'description',
    'push_events_branch_filter',
    'branch_filter_strategy',
    'enable_ssl_verification',
    'custom_webhook_template',
    'custom_headers',
  ]) {
    if (body[k] !== undefined) hook.settings[k] = structuredClone(body[k]);
  }
  // Before 19.0 (or with the feature off) GitLab drops the parameter without a word.
  if (typeof body['signing_token'] === 'string' && keepsSigningTokens(store))
    hook.settings['signing_token'] = body['signing_token'] === '' ? null : body['signing_token'];
  if (typeof body['token'] === 'string') hook.secret = body['token'] === '' ? null : body['token'];
}

/** Offset pagination with GitLab's x-* and link headers. */
function page<T>(ctx: RouteContext, all: T[]): { slice: T[]; headers: Record<string, string> } {
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 20), 100);
  const pageNo = intQuery(ctx.query, 'page', 1);
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, page: p, per_page: perPage })}>; rel="${rel}"`;
  const links: string[] = [];
  if (pageNo > 1) links.push(link(pageNo - 1, 'prev'));
  if (pageNo < totalPages) links.push(link(pageNo + 1, 'next'));
  links.push(link(1, 'first'), link(totalPages, 'last'));
  return {
    slice: all.slice((pageNo - 1) * perPage, pageNo * perPage),
    headers: {
      'x-page': String(pageNo),
      'x-per-page': String(perPage),
      'x-total': String(all.length),
      'x-total-pages': String(totalPages),
      'x-next-page': pageNo < totalPages ? String(pageNo + 1) : '',
      'x-prev-page': pageNo > 1 ? String(pageNo - 1) : '',
      link: links.join(', '),
    },
  };
}

function listHooks(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const { slice, headers } = page(ctx, ctx.store.hooksOf(ctx.repo));
  return { status: 200, headers, body: slice.map((h) => hookJson(ctx.store, h)) };
}

function createHook(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx) ?? hookBodyProblems(ctx);
  if (bad) return bad;
  const body = ctx.body as Record<string, unknown>;
  const now = ctx.store.now().toISOString();
  const hook: ForgeHook = {
    id: ctx.store.nextId('gitlab:hook', 1),
    repo: ctx.repo,
    url: body['url'] as string,
    active: true,
    // The model's default: push events on, everything else off.
    events: ['push_events'],
    secret: null,
    settings: structuredClone(HOOK_SETTINGS_DEFAULTS),
    createdAt: now,
    updatedAt: now,
    edits: 0,
  };
  applyHookBody(ctx.store, hook, body);
  ctx.store.hooks.push(hook);
  return { status: 201, body: hookJson(ctx.store, hook) };
}

function hookOr404(ctx: RouteContext): ForgeHook | Answer {
  const id = Number(ctx.params['hook_id']);
  const hook = ctx.store.findHook(ctx.repo, id);
  if (!hook) return { status: 404, body: { message: '404 Not found' }, unexpected: `project ${ctx.repo} has no hook ${String(id)}` };
  return hook;
}

function updateHook(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const found = hookOr404(ctx);
  if (!('repo' in found)) return found;
  const invalid = hookBodyProblems(ctx);
  if (invalid) return invalid;
  const body = ctx.body as Record<string, unknown>;
  // "When you change the webhook URL, the secret token is reset and not retained."
  if (body['url'] !== found.url && body['token'] === undefined) found.secret = null;
  found.url = body['url'] as string;
  applyHookBody(ctx.store, found, body);
  ctx.store.touchHook(found);
  return { status: 200, body: hookJson(ctx.store, found) };
}

function statusMatches(filter: string, responseStatus: string): boolean {
  if (!/^\d+$/.test(responseStatus)) return false;
  const code = Number(responseStatus);
  switch (filter) {
    case 'successful':
      return code >= 200 && code < 300;
    case 'client_failure':
      return code >= 400 && code < 500;
    case 'server_failure':
      return code >= 500 && code < 600;
    default:
      return code === Number(filter);
  }
}

function listHookEvents(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  // The route came in 17.3; before it, Grape answers as for any unknown path (the caller did nothing wrong).
  if (!atLeast(ctx.store, '17.3')) return { status: 404, body: { error: '404 Not Found' } };
  const found = hookOr404(ctx);
  if (!('repo' in found)) return found;
  const filter = ctx.query['status'];
  if (filter !== undefined && !/^\d{3}$/.test(filter) && !['successful', 'client_failure', 'server_failure'].includes(filter)) {
    return grapeError('status does not have a valid value', `status=${filter} is neither a status code nor successful|client_failure|server_failure`);
  }
  const now = ctx.store.now().getTime();
  const all = (ctx.store.listDeliveries(found.repo, Number(found.id)) as GitLabHookEvent[])
    .filter((e) => now - Date.parse(e.created_at) <= GITLAB_HOOK_EVENT_RETENTION_MS)
    .filter((e) => filter === undefined || statusMatches(filter, e.response_status))
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
  const { slice, headers } = page(ctx, all);
  return { status: 200, headers, body: slice.map((e) => structuredClone(e)) };
}

function newHookEvent(store: ForgeStore, hook: ForgeHook, seed: Partial<GitLabHookEvent>): GitLabHookEvent {
  const trigger = seed.trigger ?? 'push_hooks';
  const requestHeaders: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'GitLab/17.4.0',
    'Idempotency-Key': randomUUID(),
    'X-Gitlab-Event': TRIGGER_HEADERS[trigger] ?? 'Push Hook',
    'X-Gitlab-Webhook-UUID': randomUUID(),
    'X-Gitlab-Instance': store.origin,
    'X-Gitlab-Event-UUID': randomUUID(),
  };
  if (hook.secret !== null) requestHeaders['X-Gitlab-Token'] = '[REDACTED]';
  return {
    id: seed.id ?? store.nextId('gitlab:hook-event', 1),
    url: seed.url ?? hook.url,
    trigger,
    request_headers: seed.request_headers ?? requestHeaders,
    request_data: seed.request_data ?? { object_kind: trigger === 'merge_request_hooks' ? 'merge_request' : trigger.replace(/_hooks$/, '') },
    response_headers: seed.response_headers ?? {},
    response_body: seed.response_body ?? '',
    execution_duration: seed.execution_duration ?? 0.05,
    response_status: seed.response_status ?? '200',
    created_at: seed.created_at ?? store.now().toISOString(),
  };
}

function resendHookEvent(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const found = hookOr404(ctx);
  if (!('repo' in found)) return found;
  const eventId = Number(ctx.params['hook_event_id']);
  const now = ctx.store.now();
  const original = (ctx.store.listDeliveries(found.repo, Number(found.id)) as GitLabHookEvent[]).find((e) => e.id === eventId);
  if (!original) return { status: 404, body: { message: '404 Not found' }, unexpected: `hook ${String(found.id)} has no event ${String(eventId)}` };
  const recent = ctx.store.redeliveries.filter(
    (r) => r.hookId === Number(found.id) && r.repo.toLowerCase() === found.repo.toLowerCase() && now.getTime() - Date.parse(r.at) < 60_000,
  );
  if (recent.length >= GITLAB_RESEND_PER_MINUTE) {
    // GitLab's rate limiter (not unexpected: the forge's normal answer).
    return { status: 429, headers: { 'Retry-After': '60' }, body: { message: { error: 'This endpoint has been requested too many times. Try again later.' } } };
  }
  // Idempotency-Key "remains consistent across webhook retries"; the event UUID is new.
  const headers = { ...original.request_headers, 'X-Gitlab-Event-UUID': randomUUID() };
  const again = ctx.store.addDelivery(
    found.repo,
    Number(found.id),
    newHookEvent(ctx.store, found, { trigger: original.trigger, request_data: structuredClone(original.request_data), request_headers: headers }),
  ) as GitLabHookEvent;
  ctx.store.redeliveries.push({ repo: found.repo, hookId: Number(found.id), deliveryId: eventId, newDeliveryId: again.id, at: now.toISOString() });
  return { status: 201, body: { response_status: 200 } };
}

/** Triggers `POST …/hooks/{hook_id}/test/{trigger}` accepts (TestHooks::ProjectService). */
export const GITLAB_TEST_TRIGGERS = [
  'push_events',
  'tag_push_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'merge_requests_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'releases_events',
  'emoji_events',
  'resource_access_token_events',
] as const;

/** Hook log triggers of the test triggers (what the event is logged as). */
const TEST_TRIGGER_LOGGED: Record<string, string> = {
  push_events: 'push_hooks',
  tag_push_events: 'tag_push_hooks',
  merge_requests_events: 'merge_request_hooks',
  note_events: 'note_hooks',
  pipeline_events: 'pipeline_hooks',
  job_events: 'job_hooks',
  issues_events: 'issue_hooks',
};

interface FailureState {
  /** Failed deliveries in a row. */
  recent: number;
  /** How often the hook was disabled for a while in this run of failures. */
  backoffs: number;
}

function failureState(store: ForgeStore, hook: ForgeHook): FailureState {
  let all = store.scratch.get('gitlab:hook-failures') as Map<string, FailureState> | undefined;
  if (!all) {
    all = new Map();
    store.scratch.set('gitlab:hook-failures', all);
  }
  const key = `${hook.repo.toLowerCase()}|${String(hook.id)}`;
  let state = all.get(key);
  if (!state) {
    state = { recent: 0, backoffs: 0 };
    all.set(key, state);
  }
  return state;
}

/** True while GitLab would not send to the hook. */
function isDisabled(store: ForgeStore, hook: ForgeHook): boolean {
  const status = hook.settings['alert_status'];
  if (status === 'disabled') return true;
  if (status !== 'temporarily_disabled') return false;
  const until = hook.settings['disabled_until'] as string | null;
  return until === null || Date.parse(until) > store.now().getTime();
}

/**
 * WebHooks::AutoDisabling after a delivery: a 2xx re-enables the hook; the 4th failure in a row
 * disables it for a minute, each later one doubles that (at most a day), and the 40th for good.
 */
function recordOutcome(store: ForgeStore, hook: ForgeHook, responseStatus: string): void {
  const state = failureState(store, hook);
  const code = /^\d+$/.test(responseStatus) ? Number(responseStatus) : 0;
  if (code >= 200 && code < 300) {
    state.recent = 0;
    state.backoffs = 0;
    hook.settings['alert_status'] = 'executable';
    hook.settings['disabled_until'] = null;
    return;
  }
  state.recent += 1;
  if (state.recent >= 40) {
    hook.settings['alert_status'] = 'disabled';
    hook.settings['disabled_until'] = null;
  } else if (state.recent >= 4) {
    const minutes = Math.min(2 ** state.backoffs, 24 * 60);
    state.backoffs += 1;
    hook.settings['alert_status'] = 'temporarily_disabled';
    hook.settings['disabled_until'] = new Date(store.now().getTime() + minutes * 60_000).toISOString();
  }
}

function sendHookEvent(store: ForgeStore, hook: ForgeHook, seed: Partial<GitLabHookEvent>): GitLabHookEvent | undefined {
  // A disabled hook is skipped before anything is sent or logged.
  if (isDisabled(store, hook)) return undefined;
  const event = newHookEvent(store, hook, seed);
  recordOutcome(store, hook, event.response_status);
  return event;
}

function testHook(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const found = hookOr404(ctx);
  if (!('repo' in found)) return found;
  const trigger = ctx.params['trigger'] ?? '';
  if (!(GITLAB_TEST_TRIGGERS as readonly string[]).includes(trigger))
    return grapeError('trigger does not have a valid value', `trigger ${JSON.stringify(trigger)} is not one of ${GITLAB_TEST_TRIGGERS.join(', ')}`);
  // A test is sent even to a disabled hook; the stand-in's receiver always answers 200.
  const event = newHookEvent(ctx.store, found, { trigger: TEST_TRIGGER_LOGGED[trigger] ?? 'push_hooks' });
  ctx.store.addDelivery(found.repo, Number(found.id), event);
  recordOutcome(ctx.store, found, event.response_status);
  ctx.store.hookTests.push({ repo: found.repo, hookId: Number(found.id), trigger, at: ctx.store.now().toISOString() });
  return { status: 201, body: { message: '201 Created' } };
}

// ---------------------------------------------------------------------------------------------
// Merge requests, users and members, commit statuses, environments (the preview calls)

/** GitLab's word for a pull request's state. */
function mrState(pr: ForgePullRequest): string {
  return pr.state === 'open' ? 'opened' : pr.state;
}

function mergeRequestJson(ctx: RouteContext, pr: ForgePullRequest): Record<string, unknown> {
  const id = projectId(ctx.store, ctx.repo);
  return {
    id: 50_000 + pr.number,
    iid: pr.number,
    project_id: id,
    title: pr.title,
    state: mrState(pr),
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    merged_at: pr.state === 'merged' ? pr.updatedAt : null,
    closed_at: pr.state === 'closed' ? pr.updatedAt : null,
    target_branch: pr.baseBranch,
    source_branch: pr.headBranch,
    source_project_id: pr.fork ? id + 1000 : id,
    target_project_id: id,
    labels: [...pr.labels],
    author: author(ctx.store, pr.author),
    sha: pr.headSha,
    merge_commit_sha: null,
    draft: false,
    web_url: `${ctx.store.origin}/${ctx.repo}/-/merge_requests/${String(pr.number)}`,
    references: { full: `${ctx.repo}!${String(pr.number)}` },
  };
}

function listMergeRequests(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const state = ctx.query['state'] ?? 'all';
  if (!['opened', 'closed', 'locked', 'merged', 'all'].includes(state)) return grapeError('state does not have a valid value', `state=${state}`);
  const target = ctx.query['target_branch'];
  const all = ctx.store.previews.pullRequests
    .filter(
      (pr) =>
        pr.repo.toLowerCase() === ctx.repo.toLowerCase() && (state === 'all' || mrState(pr) === state) && (target === undefined || pr.baseBranch === target),
    )
    .sort((a, b) => b.number - a.number);
  const { slice, headers } = page(ctx, all);
  return { status: 200, headers, body: slice.map((pr) => mergeRequestJson(ctx, pr)) };
}

function getMergeRequest(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const pr = ctx.store.findPullRequest(ctx.repo, Number(ctx.params['iid']));
  // Not unexpected: asking about a merge request that is not there is a fair question.
  if (!pr) return { status: 404, body: { message: '404 Not found' } };
  return { status: 200, body: mergeRequestJson(ctx, pr) };
}

/** `GET /users?username=…`: an exact, case-insensitive match, as an array (empty for nobody). */
function listUsers(ctx: RouteContext): Answer {
  const username = ctx.query['username'];
  if (username === undefined)
    return {
      status: 400,
      body: { error: 'forge-api stand-in: username is required here' },
      unexpected: 'GET /users without username: Landfall looks one user up, it never lists every user',
    };
  if (!ctx.store.userExists(username)) return { status: 200, body: [] };
  const login = ctx.store.previews.permissions.find((p) => p.user.toLowerCase() === username.toLowerCase())?.user ?? ctx.store.login;
  return { status: 200, body: [author(ctx.store, login)] };
}

/** GitLab access levels of the common permission words (`none`: not a member). */
const ACCESS_LEVELS: Record<string, number> = { triage: 15, read: 20, write: 30, maintain: 40, admin: 50 };

/** `GET /projects/:id/members/all/:user_id`: direct, inherited or invited members alike. */
function getMember(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const userId = Number(ctx.params['user_id']);
  const grant = ctx.store.previews.permissions.find((p) => p.repo.toLowerCase() === ctx.repo.toLowerCase() && ctx.store.userId(p.user) === userId);
  const level = grant ? ACCESS_LEVELS[grant.level] : undefined;
  if (!grant || level === undefined) return { status: 404, body: { message: '404 Not found' } };
  return {
    status: 200,
    body: { ...author(ctx.store, grant.user), access_level: level, created_at: '2026-01-01T00:00:00.000Z', expires_at: null, membership_state: 'active' },
  };
}

/** `GET /projects/:id/repository/commits/:sha/statuses`: the latest status per name unless `all=true`. */
function listCommitStatuses(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const rawSha = ctx.params['sha'] ?? '';
  const sha = isFullSha(rawSha) ? rawSha.toLowerCase() : ctx.store.resolveCommit(rawSha);
  if (sha === undefined)
    return { status: 404, body: { message: '404 Commit Not Found' }, unexpected: `sha ${JSON.stringify(rawSha)} is neither full nor a seeded short one` };
  const all = ctx.query['all'] === 'true';
  const name = ctx.query['name'];
  const ref = ctx.query['ref'];
  let statuses = ctx.store.allStatuses().filter((st) => st.sha === sha && (name === undefined || st.context === name) && (ref === undefined || st.ref === ref));
  if (!all) {
    const latest = new Map<string, ForgeStatus>();
    for (const st of statuses) latest.set(st.context, st);
    statuses = [...latest.values()];
  }
  const { slice, headers } = page(
    ctx,
    [...statuses].sort((a, b) => b.id - a.id),
  );
  return {
    status: 200,
    headers,
    body: slice.map((st) => ({
      id: st.id,
      sha: st.sha,
      ref: st.ref ?? 'main',
      status: st.state,
      name: st.context,
      target_url: st.targetUrl,
      description: st.description,
      created_at: st.createdAt,
      started_at: null,
      finished_at: ['success', 'failed', 'canceled'].includes(st.state) ? st.createdAt : null,
      allow_failure: false,
      coverage: null,
      author: author(ctx.store, ctx.store.login),
    })),
  };
}

/** Environment tiers GitLab accepts. */
export const GITLAB_ENVIRONMENT_TIERS = ['production', 'staging', 'testing', 'development', 'other'] as const;

function environmentJson(e: ForgeEnvironment): Record<string, unknown> {
  return {
    id: e.id,
    name: e.name,
    slug: `${e.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 24)}-${e.id.toString(36).padStart(6, '0')}`,
    description: null,
    external_url: e.externalUrl,
    state: e.state,
    tier: e.tier,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    auto_stop_at: null,
    auto_stop_setting: 'always',
  };
}

function environmentsOf(ctx: RouteContext): ForgeEnvironment[] {
  return ctx.store.previews.environments.filter((e) => e.repo.toLowerCase() === ctx.repo.toLowerCase());
}

/** Ids of environments deleted through the API (a later call about one is a fair 404, not a bug). */
function deletedEnvironments(store: ForgeStore): Set<number> {
  let ids = store.scratch.get('gitlab:deleted-environments') as Set<number> | undefined;
  if (!ids) {
    ids = new Set();
    store.scratch.set('gitlab:deleted-environments', ids);
  }
  return ids;
}

function environmentOr404(ctx: RouteContext): ForgeEnvironment | Answer {
  const id = Number(ctx.params['environment_id']);
  const env = environmentsOf(ctx).find((e) => e.id === id);
  if (env) return env;
  const answer: Answer = { status: 404, body: { message: '404 Not found' } };
  return deletedEnvironments(ctx.store).has(id) ? answer : { ...answer, unexpected: `project ${ctx.repo} never had environment ${String(id)}` };
}

/** Environment names GitLab accepts: letters, digits, `-`, `_`, `/`, `$`, `{`, `}`, `.` and spaces, not starting or ending with `/`. */
function environmentNameProblem(name: string): string | undefined {
  if (name.trim() === '') return "can't be blank";
  if (!/^[a-zA-Z0-9 _\-/${}.]+$/.test(name) || name.startsWith('/') || name.endsWith('/'))
    return "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'";
  if (name.length > 255) return 'is too long (maximum is 255 characters)';
  return undefined;
}

function environmentBodyProblems(ctx: RouteContext, isCreate: boolean): Answer | undefined {
  const problems = checkFields(ctx.body, {
    ...(isCreate ? { name: { type: 'string', required: true } } : {}),
    external_url: { type: 'string', nullable: true },
    tier: { type: 'string', oneOf: GITLAB_ENVIRONMENT_TIERS },
    description: { type: 'string' },
  });
  if (problems === 'not-an-object') return grapeError(isCreate ? 'name is missing' : 'environment_id is missing', 'body is not a JSON object');
  for (const p of problems) {
    if (p.problem === 'missing') return grapeError(`${p.field} is missing`, describeProblem(p));
    if (p.problem === 'type') return grapeError(`${p.field} is invalid`, describeProblem(p));
    if (p.problem === 'not-allowed-value') return grapeError(`${p.field} does not have a valid value`, describeProblem(p));
    if (p.problem === 'unknown')
      return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
  }
  const body = ctx.body as { name?: string; external_url?: string | null };
  const messages: Record<string, string[]> = {};
  if (body.name !== undefined) {
    const bad = environmentNameProblem(body.name);
    if (bad) messages['name'] = [bad];
    else if (environmentsOf(ctx).some((e) => e.name === body.name)) messages['name'] = ['has already been taken'];
  }
  if (typeof body.external_url === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(body.external_url);
    } catch {
      messages['external_url'] = ['is blocked: URI is invalid'];
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') messages['external_url'] = ['is blocked: Only allowed schemes are http, https'];
  }
  if (Object.keys(messages).length === 0) return undefined;
  // A name taken meanwhile (another worker created it) is GitLab's normal answer, not a bug.
  const taken = messages['name']?.[0] === 'has already been taken' && Object.keys(messages).length === 1;
  return {
    status: 400,
    body: { message: messages },
    ...(taken
      ? {}
      : {
          unexpected: Object.entries(messages)
            .map(([k, v]) => `${k} ${v.join(', ')}`)
            .join('; '),
        }),
  };
}

function listEnvironments(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const name = ctx.query['name'];
  const search = ctx.query['search'];
  const states = ctx.query['states'];
  if (name !== undefined && search !== undefined) return grapeError('name, search are mutually exclusive', 'name and search both given');
  if (states !== undefined && !['available', 'stopping', 'stopped'].includes(states))
    return grapeError('states does not have a valid value', `states=${states}`);
  const all = environmentsOf(ctx).filter(
    (e) => (name === undefined || e.name === name) && (search === undefined || e.name.includes(search)) && (states === undefined || e.state === states),
  );
  const { slice, headers } = page(ctx, all);
  return { status: 200, headers, body: slice.map(environmentJson) };
}

function createEnvironment(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx) ?? environmentBodyProblems(ctx, true);
  if (bad) return bad;
  const body = ctx.body as { name: string; external_url?: string | null; tier?: string };
  const at = ctx.store.now().toISOString();
  const env: ForgeEnvironment = {
    id: ctx.store.nextId('gitlab:environment'),
    repo: ctx.repo,
    name: body.name,
    externalUrl: body.external_url ?? null,
    state: 'available',
    tier: body.tier ?? 'other',
    createdAt: at,
    updatedAt: at,
  };
  ctx.store.previews.environments.push(env);
  return { status: 201, body: environmentJson(env) };
}

function updateEnvironment(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const env = environmentOr404(ctx);
  if (!('repo' in env)) return env;
  const invalid = environmentBodyProblems(ctx, false);
  if (invalid) return invalid;
  const body = ctx.body as { external_url?: string | null; tier?: string };
  if (body.external_url !== undefined) env.externalUrl = body.external_url;
  if (body.tier !== undefined) env.tier = body.tier;
  env.updatedAt = ctx.store.now().toISOString();
  return { status: 200, body: environmentJson(env) };
}

function deleteEnvironment(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const env = environmentOr404(ctx);
  if (!('repo' in env)) return env;
  // Only a stopped environment can be deleted.
  if (env.state !== 'stopped')
    return { status: 403, body: { message: '403 Forbidden' }, unexpected: `environment ${String(env.id)} is ${env.state}: stop it first` };
  const list = ctx.store.previews.environments;
  list.splice(list.indexOf(env), 1);
  deletedEnvironments(ctx.store).add(env.id);
  return { status: 204 };
}

function stopEnvironment(ctx: RouteContext): Answer {
  const bad = projectCheck(ctx);
  if (bad) return bad;
  const env = environmentOr404(ctx);
  if (!('repo' in env)) return env;
  const problems = ctx.body === undefined ? [] : checkFields(ctx.body, { force: { type: 'boolean' } });
  if (problems === 'not-an-object' || problems.length > 0) return grapeError('force is invalid', 'the stop body is not {force?: boolean}');
  // No on_stop action: the environment stops at once.
  env.state = 'stopped';
  env.updatedAt = ctx.store.now().toISOString();
  return { status: 200, body: environmentJson(env) };
}

function seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook {
  const events = seed.events ?? ['push_events'];
  const bad = events.filter((e) => !(GITLAB_HOOK_EVENT_FLAGS as readonly string[]).includes(e));
  if (bad.length > 0) throw new Error(`seedHook (gitlab): ${bad.join(', ')} not among ${GITLAB_HOOK_EVENT_FLAGS.join(', ')}`);
  if (!validUrl(seed.url)) throw new Error(`seedHook (gitlab): ${JSON.stringify(seed.url)} is not an http(s) URL`);
  const settings = { ...structuredClone(HOOK_SETTINGS_DEFAULTS), ...(seed.settings ?? {}) };
  if (!['executable', 'temporarily_disabled', 'disabled'].includes(String(settings['alert_status']))) {
    throw new Error(`seedHook (gitlab): alert_status ${JSON.stringify(settings['alert_status'])} is not executable|temporarily_disabled|disabled`);
  }
  const createdAt = seed.createdAt ?? store.now().toISOString();
  return {
    id: seed.id ?? store.nextId('gitlab:hook', 1),
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

function seedDelivery(store: ForgeStore, hook: ForgeHook, seed: Partial<GitLabHookEvent>): ForgeDelivery {
  return newHookEvent(store, hook, seed);
}

function refuse(kind: RefusalKind, detail: string): Answer {
  switch (kind) {
    case 'unauthorized':
      return { status: 401, body: { message: '401 Unauthorized' } };
    case 'no-route':
      return { status: 404, body: { error: '404 Not Found' } };
    case 'method-not-allowed':
      return { status: 405, body: { error: '405 Not Allowed' } };
    case 'no-repo':
      return { status: 404, body: { message: '404 Project Not Found' } };
    case 'bad-json':
      return { status: 400, body: { error: detail } };
    case 'media-type':
      return { status: 415, body: { error: `The provided content-type is not supported.` } };
  }
}

function errorBody(status: number): unknown {
  if (status === 429) return 'Retry later\n';
  const reasons: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Unprocessable Entity',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  return { message: `${String(status)} ${reasons[status] ?? 'Error'}` };
}

/** The GitLab stand-in's definition. */
export function gitlabForge(): ForgeDefinition {
  const repo = (p: Record<string, string>): string => p['id'] ?? '';
  return {
    id: 'gitlab',
    mount: '/api/v4',
    urlPath: '',
    requireJsonContentType: true,
    contextKey: (context) => context,
    authenticate(headers, options) {
      const privateToken = headers['private-token'];
      if (privateToken !== undefined) return privateToken === options.token ? undefined : { missing: false, reason: 'wrong PRIVATE-TOKEN' };
      const header = headers['authorization'];
      if (header === undefined) return { missing: true, reason: 'neither PRIVATE-TOKEN nor Authorization header' };
      const m = /^bearer\s+(.+)$/i.exec(header.trim());
      if (!m) return { missing: false, reason: `Authorization header ${JSON.stringify(header)} is not "Bearer <t>"` };
      return m[1] === options.token ? undefined : { missing: false, reason: 'wrong bearer token' };
    },
    refuse,
    errorBody,
    hookDenied: () => ({ status: 403, body: { message: '403 Forbidden' } }),
    // Project hooks are Maintainer-only.
    deniesHooks: (options) => options.gitlab?.role === 'developer',
    seedHook,
    seedDelivery,
    sendHookEvent,
    routes: [
      { method: 'POST', pattern: '/projects/{id}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/projects/{id}/hooks', repo, handle: listHooks, hook: true },
      { method: 'POST', pattern: '/projects/{id}/hooks', repo, handle: createHook, hook: true },
      { method: 'PUT', pattern: '/projects/{id}/hooks/{hook_id:int}', repo, handle: updateHook, hook: true },
      { method: 'GET', pattern: '/projects/{id}/hooks/{hook_id:int}/events', repo, handle: listHookEvents, hook: true },
      { method: 'POST', pattern: '/projects/{id}/hooks/{hook_id:int}/events/{hook_event_id:int}/resend', repo, handle: resendHookEvent, hook: true },
      { method: 'POST', pattern: '/projects/{id}/hooks/{hook_id:int}/test/{trigger}', repo, handle: testHook, hook: true },
      { method: 'GET', pattern: '/projects/{id}/merge_requests', repo, handle: listMergeRequests },
      { method: 'GET', pattern: '/projects/{id}/merge_requests/{iid:int}', repo, handle: getMergeRequest },
      { method: 'GET', pattern: '/users', repo: () => '', handle: listUsers },
      { method: 'GET', pattern: '/projects/{id}/members/all/{user_id:int}', repo, handle: getMember },
      { method: 'GET', pattern: '/projects/{id}/repository/commits/{sha}/statuses', repo, handle: listCommitStatuses },
      { method: 'GET', pattern: '/projects/{id}/environments', repo, handle: listEnvironments },
      { method: 'POST', pattern: '/projects/{id}/environments', repo, handle: createEnvironment },
      { method: 'PUT', pattern: '/projects/{id}/environments/{environment_id:int}', repo, handle: updateEnvironment },
      { method: 'DELETE', pattern: '/projects/{id}/environments/{environment_id:int}', repo, handle: deleteEnvironment },
      { method: 'POST', pattern: '/projects/{id}/environments/{environment_id:int}/stop', repo, handle: stopEnvironment },
      { method: 'GET', pattern: '/projects/{id}/merge_requests/{iid:int}/notes', repo, handle: listNotes },
      { method: 'POST', pattern: '/projects/{id}/merge_requests/{iid:int}/notes', repo, handle: createNote },
      { method: 'PUT', pattern: '/projects/{id}/merge_requests/{iid:int}/notes/{note_id:int}', repo, handle: updateNote },
    ],
  };
}
