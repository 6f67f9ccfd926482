/**
 * Gitea / Forgejo REST API v1 stand-in: commit statuses, issue (pull-request) comments and
 * repository webhooks. See README.md.
 */
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type ForgePullRequest,
  type ForgeStatus,
  type FieldProblem,
  type ForgeDefinition,
  type ForgeHook,
  type ForgeStore,
  type HookSeed,
  type RefusalKind,
  type RouteContext,
  type StoredComment,
} from './server.js';

/** Gitea commit status states (`warning` since Gitea 1.x; Forgejo too). */
export const GITEA_STATES = ['pending', 'success', 'error', 'failure', 'warning'] as const;

function giteaError(store: ForgeStore, status: number, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { message, url: `${store.origin}/api/swagger`, ...extra } };
}

/** Gitea 1.26's 404 for an unknown repository, hook or comment. */
function notFound(store: ForgeStore): Answer {
  return giteaError(store, 404, 'not found', { errors: null });
}

function giteaTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

function userJson(store: ForgeStore, login: string): Record<string, unknown> {
  const id = store.userId(login);
  return { id, login, login_name: '', full_name: '', email: `${login}@noreply.localhost`, avatar_url: '', username: login };
}

function commentJson(store: ForgeStore, c: StoredComment): Record<string, unknown> {
  return {
    id: c.id,
    html_url: `${store.origin}/${c.repo}/pulls/${String(c.pr)}#issuecomment-${String(c.id)}`,
    pull_request_url: `${store.origin}/${c.repo}/pulls/${String(c.pr)}`,
    issue_url: '',
    user: userJson(store, c.author),
    original_author: '',
    original_author_id: 0,
    body: c.body,
    assets: [],
    created_at: giteaTime(c.createdAt),
    updated_at: giteaTime(c.updatedAt),
  };
}

/** Gitea's binding errors are 422 with the field named in the message. */
function bindingError(store: ForgeStore, problems: FieldProblem[]): Answer {
  const first = problems[0]!;
  const field = first.field.charAt(0).toUpperCase() + first.field.slice(1);
  const kind =
    first.problem === 'missing' || first.problem === 'blank'
      ? 'Required'
      : first.problem === 'unknown'
        ? 'forge-api stand-in: undocumented field (Gitea would ignore it)'
        : 'Invalid';
  return { ...giteaError(store, 422, `[${field}]: ${kind}`), unexpected: problems.map(describeProblem).join('; ') };
}

function createStatus(ctx: RouteContext): Answer {
  const sha = ctx.params['sha'] ?? '';
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(sha)) {
    return { ...notFound(ctx.store), unexpected: `sha ${JSON.stringify(sha)} is not a full commit id` };
  }
  const problems = checkFields(ctx.body, {
    state: { type: 'string', required: true, oneOf: GITEA_STATES },
    target_url: { type: 'string' },
    description: { type: 'string' },
    context: { type: 'string' },
  });
  if (problems === 'not-an-object') return { ...giteaError(ctx.store, 422, '[State]: Required'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return bindingError(ctx.store, problems);
  const body = ctx.body as { state: string; target_url?: string; description?: string; context?: string };
  const stored = ctx.store.addStatus({
    sha,
    context: body.context === undefined || body.context === '' ? 'default' : body.context,
    state: body.state,
    description: body.description ?? null,
    targetUrl: body.target_url ?? null,
  });
  return {
    status: 201,
    body: {
      id: stored.id,
      status: stored.state,
      target_url: stored.targetUrl ?? '',
      description: stored.description ?? '',
      url: `${ctx.store.origin}/api/v1/repos/${ctx.repo}/statuses/${stored.sha}`,
      context: stored.context,
      creator: userJson(ctx.store, ctx.store.login),
      created_at: giteaTime(stored.createdAt),
      updated_at: giteaTime(stored.createdAt),
    },
  };
}

function listComments(ctx: RouteContext): Answer {
  // Gitea does not paginate this endpoint (only since/before filters).
  let all = ctx.store.listComments(Number(ctx.params['index']), ctx.repo).filter((c) => !c.deleted);
  for (const name of ['since', 'before'] as const) {
    const raw = ctx.query[name];
    if (raw === undefined) continue;
    const at = Date.parse(raw);
    if (Number.isNaN(at)) return { ...giteaError(ctx.store, 422, `invalid ${name}: ${raw}`), unexpected: `${name}=${raw} is not an RFC 3339 timestamp` };
    all = all.filter((c) => (name === 'since' ? Date.parse(c.updatedAt) >= at : Date.parse(c.updatedAt) < at));
  }
  return { status: 200, headers: { 'X-Total-Count': String(all.length) }, body: all.map((c) => commentJson(ctx.store, c)) };
}

function bodyProblems(ctx: RouteContext): Answer | undefined {
  const problems = checkFields(ctx.body, { body: { type: 'string', required: true, nonBlank: true } });
  if (problems === 'not-an-object') return { ...giteaError(ctx.store, 422, '[Body]: Required'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return bindingError(ctx.store, problems);
  return undefined;
}

function createComment(ctx: RouteContext): Answer {
  const bad = bodyProblems(ctx);
  if (bad) return bad;
  const c = ctx.store.addComment(Number(ctx.params['index']), ctx.repo, (ctx.body as { body: string }).body);
  return { status: 201, body: commentJson(ctx.store, c) };
}

function updateComment(ctx: RouteContext): Answer {
  const id = Number(ctx.params['id']);
  const c = ctx.store.findComment(id);
  if (!c || c.deleted || c.repo.toLowerCase() !== ctx.repo.toLowerCase()) {
    const answer = notFound(ctx.store);
    if (c?.deleted === true) return answer;
    return { ...answer, unexpected: c ? `comment ${String(id)} belongs to ${c.repo}` : `comment ${String(id)} was never created` };
  }
  const bad = bodyProblems(ctx);
  if (bad) return bad;
  ctx.store.updateComment(c, (ctx.body as { body: string }).body);
  return { status: 200, body: commentJson(ctx.store, c) };
}

// ---------------------------------------------------------------------------------------------
// Pull requests, collaborator permissions, the combined status (the preview calls)

/** One page (`page`, `limit` 30 by default, at most 50) with `X-Total-Count` and a `Link` header, as Gitea pages lists. */
function paged<T>(ctx: RouteContext, all: readonly T[]): { slice: T[]; headers: Record<string, string> } {
  const limit = Math.min(intQuery(ctx.query, 'limit', 30), 50);
  const page = intQuery(ctx.query, 'page', 1);
  const last = Math.max(1, Math.ceil(all.length / limit));
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, limit, page: p })}>; rel="${rel}"`;
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return {
    slice: all.slice((page - 1) * limit, page * limit),
    headers: { 'X-Total-Count': String(all.length), ...(links.length > 0 ? { Link: links.join(',') } : {}) },
  };
}

function repoJson(store: ForgeStore, fullName: string, fork: boolean): Record<string, unknown> {
  const [owner = '', name = ''] = fullName.split('/');
  return { id: fork ? 2 : 1, owner: userJson(store, owner), name, full_name: fullName, fork, private: false };
}

function pullJson(ctx: RouteContext, pr: ForgePullRequest): Record<string, unknown> {
  const html = `${ctx.store.origin}/${pr.repo}/pulls/${String(pr.number)}`;
  const headOwner = pr.headRepo.split('/')[0] ?? '';
  return {
    id: 700_000 + pr.number,
    url: html,
    number: pr.number,
    user: userJson(ctx.store, pr.author),
    title: pr.title,
    body: '',
    labels: pr.labels.map((name, i) => ({ id: 1 + i, name, exclusive: false, is_archived: false, color: 'ededed', description: '', url: '' })),
    milestone: null,
    assignee: null,
    assignees: null,
    requested_reviewers: null,
    state: pr.state === 'open' ? 'open' : 'closed',
    draft: false,
    is_locked: false,
    comments: 0,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    mergeable: pr.state === 'open',
    merged: pr.state === 'merged',
    merged_at: pr.state === 'merged' ? giteaTime(pr.updatedAt) : null,
    merge_commit_sha: null,
    merged_by: null,
    allow_maintainer_edit: false,
    base: { label: pr.baseBranch, ref: pr.baseBranch, sha: '0'.repeat(40), repo_id: 1, repo: repoJson(ctx.store, pr.repo, false) },
    head: {
      label: pr.fork ? `${headOwner}:${pr.headBranch}` : pr.headBranch,
      ref: pr.headBranch,
      sha: pr.headSha,
      repo_id: 2,
      repo: repoJson(ctx.store, pr.headRepo, pr.fork),
    },
    merge_base: '0'.repeat(40),
    due_date: null,
    created_at: giteaTime(pr.createdAt),
    updated_at: giteaTime(pr.updatedAt),
    closed_at: pr.state === 'open' ? null : giteaTime(pr.updatedAt),
    pin_order: 0,
  };
}

/** `GET /repos/{owner}/{repo}/pulls`: `state` open (default), closed or all; newest first; paged. */
function listPulls(ctx: RouteContext): Answer {
  const state = ctx.query['state'] ?? 'open';
  if (!['open', 'closed', 'all'].includes(state)) return { ...giteaError(ctx.store, 422, `invalid state: ${state}`), unexpected: `state=${state}` };
  const all = ctx.store.previews.pullRequests
    .filter((pr) => pr.repo.toLowerCase() === ctx.repo.toLowerCase() && (state === 'all' || (state === 'open') === (pr.state === 'open')))
    .sort((a, b) => b.number - a.number);
  const { slice, headers } = paged(ctx, all);
  return { status: 200, headers, body: slice.map((pr) => pullJson(ctx, pr)) };
}

/** `GET /repos/{owner}/{repo}/pulls/{index}`; an unknown index is Gitea's 404 (not unexpected). */
function getPull(ctx: RouteContext): Answer {
  const pr = ctx.store.findPullRequest(ctx.repo, Number(ctx.params['index']));
  if (!pr) return notFound(ctx.store);
  return { status: 200, body: pullJson(ctx, pr) };
}

const ACCESS_MODES: Record<string, string> = { none: 'none', read: 'read', triage: 'read', write: 'write', maintain: 'write', admin: 'admin' };

/**
 * `GET /repos/{owner}/{repo}/collaborators/{collaborator}/permission`: the access mode's name
 * (none, read, write, admin; owner for the repository's owner). A user never seeded does not
 * exist: 404. Gitea answers another user's permission only to a site or repository admin (a
 * `failNext` 403 on this path gets that message); the stand-in's token always is one.
 */
function getPermission(ctx: RouteContext): Answer {
  const name = ctx.params['collaborator'] ?? '';
  const owner = (ctx.params['owner'] ?? '').toLowerCase() === name.toLowerCase();
  if (!owner && !ctx.store.userExists(name)) return giteaError(ctx.store, 404, `user does not exist [uid: 0, name: ${name}]`);
  const permission = owner ? 'owner' : (ACCESS_MODES[ctx.store.permissionOf(ctx.repo, name) ?? 'none'] ?? 'none');
  const login = ctx.store.previews.permissions.find((p) => p.user.toLowerCase() === name.toLowerCase())?.user ?? name;
  return { status: 200, body: { permission, role_name: permission, user: userJson(ctx.store, login) } };
}

function statusJson(ctx: RouteContext, st: ForgeStatus): Record<string, unknown> {
  return {
    id: st.id,
    status: st.state,
    target_url: st.targetUrl ?? '',
    description: st.description ?? '',
    url: `${ctx.store.origin}/api/v1/repos/${ctx.repo}/statuses/${st.sha}`,
    context: st.context,
    creator: userJson(ctx.store, ctx.store.login),
    created_at: giteaTime(st.createdAt),
    updated_at: giteaTime(st.createdAt),
  };
}

/** Gitea's combined state: failure if any error or failure, pending if any pending, warning if any warning, else success. */
function combinedState(states: string[]): string {
  if (states.some((s) => s === 'error' || s === 'failure')) return 'failure';
  if (states.length === 0 || states.some((s) => s === 'pending')) return 'pending';
  return states.some((s) => s === 'warning') ? 'warning' : 'success';
}

/** `GET /repos/{owner}/{repo}/commits/{ref}/status`: the latest status per context, paged (`X-Total-Count`). */
function combinedStatus(ctx: RouteContext): Answer {
  const ref = ctx.params['ref'] ?? '';
  // Gitea resolves branches and tags too; the stand-in wants the sha Landfall knows.
  if (!isFullSha(ref)) return { ...notFound(ctx.store), unexpected: `ref ${JSON.stringify(ref)} is not a full sha` };
  const sha = ref.toLowerCase();
  const latest = new Map<string, ForgeStatus>();
  for (const st of ctx.store.allStatuses()) if (st.sha === sha) latest.set(st.context, st);
  const statuses = [...latest.values()].sort((a, b) => b.id - a.id);
  const { slice, headers } = paged(ctx, statuses);
  return {
    status: 200,
    headers,
    body: {
      state: combinedState(statuses.map((st) => st.state)),
      sha,
      total_count: slice.length,
      statuses: slice.map((st) => statusJson(ctx, st)),
      repository: repoJson(ctx.store, ctx.repo, false),
      commit_url: `${ctx.store.origin}/api/v1/repos/${ctx.repo}/git/commits/${sha}`,
      url: `${ctx.store.origin}/api/v1/repos/${ctx.repo}/commits/${sha}/status`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Repository webhooks

/**
 * The events a Gitea hook stores and lists back (`HookEvents` keys set by the API; the
 * `pull_request_review_*` events are stored as `pull_request_review`). Gitea 1.26,
 * `routers/api/v1/utils/hook.go` `updateHookEvents` and `models/webhook` `EventsArray`.
 */
export const GITEA_HOOK_EVENTS = [
  'create',
  'delete',
  'fork',
  'push',
  'issues',
  'issue_assign',
  'issue_label',
  'issue_milestone',
  'issue_comment',
  'pull_request',
  'pull_request_assign',
  'pull_request_label',
  'pull_request_milestone',
  'pull_request_comment',
  'pull_request_review',
  'pull_request_sync',
  'pull_request_review_request',
  'wiki',
  'repository',
  'release',
  'package',
  'status',
  'workflow_run',
  'workflow_job',
] as const;

/** Sub-events a group name stands for when sent in `events`: `issues` and `pull_request` switch on the whole group. */
const GROUPS: Record<string, { only: string; members: string[] }> = {
  issues: { only: 'issues_only', members: ['issues', 'issue_assign', 'issue_label', 'issue_milestone', 'issue_comment'] },
  pull_request: {
    only: 'pull_request_only',
    members: [
      'pull_request',
      'pull_request_assign',
      'pull_request_label',
      'pull_request_milestone',
      'pull_request_comment',
      'pull_request_review',
      'pull_request_review_request',
      'pull_request_sync',
    ],
  },
};

/** Every name Gitea reads in a create's or edit's `events` (others it ignores; the stand-in refuses them). */
export const GITEA_HOOK_EVENT_NAMES: readonly string[] = [...GITEA_HOOK_EVENTS, 'issues_only', 'pull_request_only'];

/**
 * What Gitea stores for the `events` of a create or edit: nothing or an empty list means push
 * only; `issues` / `pull_request` switch on their whole group; `issues_only` /
 * `pull_request_only` the plain event; names compare case-insensitively.
 */
export function giteaStoredEvents(sent: readonly string[] | undefined): string[] {
  const names = new Set((sent === undefined || sent.length === 0 ? ['push'] : sent).map((e) => e.toLowerCase()));
  const on = new Set<string>();
  for (const event of GITEA_HOOK_EVENTS) {
    const group = Object.entries(GROUPS).find(([, g]) => g.members.includes(event));
    if (group) {
      const [name, g] = group;
      const own = event === name ? g.only : event;
      if (names.has(own) || names.has(name)) on.add(event);
    } else if (names.has(event)) {
      on.add(event);
    }
  }
  return GITEA_HOOK_EVENTS.filter((e) => on.has(e));
}

/** Hook types the stand-in accepts (the ones that post Gitea's own JSON). */
export const GITEA_HOOK_TYPES = ['gitea', 'forgejo', 'gogs'] as const;

const HOOK_DENIED_MESSAGE = 'user should be an owner or a collaborator with admin write of a repository';

function hookJson(h: ForgeHook): Record<string, unknown> {
  return {
    id: h.id,
    name: h.settings['name'] ?? '',
    type: h.settings['type'],
    branch_filter: h.settings['branch_filter'],
    // Gitea never returns the secret; the authorization header it does (decrypted).
    config: { content_type: h.settings['content_type'], url: h.url },
    events: [...h.events],
    authorization_header: h.settings['authorization_header'],
    active: h.active,
    updated_at: giteaTime(h.updatedAt),
    created_at: giteaTime(h.createdAt),
  };
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function hookBodyProblems(ctx: RouteContext, isCreate: boolean): Answer | undefined {
  const problems = checkFields(ctx.body, {
    ...(isCreate ? { type: { type: 'string', required: true, oneOf: GITEA_HOOK_TYPES } } : {}),
    config: { type: 'object', required: isCreate },
    events: { type: 'array' },
    branch_filter: { type: 'string' },
    authorization_header: { type: 'string' },
    active: { type: 'boolean' },
    name: { type: 'string' },
  });
  if (problems === 'not-an-object') return { ...giteaError(ctx.store, 422, '[Type]: Required'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return bindingError(ctx.store, problems);
  const body = ctx.body as { config?: Record<string, unknown>; events?: unknown[] };
  if (body.config) {
    const c = checkFields(body.config, {
      url: { type: 'string', required: isCreate },
      content_type: { type: 'string', required: isCreate },
      secret: { type: 'string' },
      http_method: { type: 'string', oneOf: ['POST', 'GET'] },
    });
    if (c !== 'not-an-object' && c.length > 0) {
      const missing = c.find((p) => p.problem === 'missing');
      if (missing) return { ...giteaError(ctx.store, 422, `Missing config option: ${missing.field}`), unexpected: `config.${missing.field} is required` };
      return {
        ...giteaError(ctx.store, 422, `forge-api stand-in: invalid config (${c.map(describeProblem).join('; ')})`),
        unexpected: c.map(describeProblem).join('; '),
      };
    }
    const ct = body.config['content_type'];
    if (ct !== undefined && ct !== 'json' && ct !== 'form')
      return { ...giteaError(ctx.store, 422, 'Invalid content type'), unexpected: `config.content_type ${JSON.stringify(ct)} is not json|form` };
    const url = body.config['url'];
    if (typeof url === 'string' && !isHttpUrl(url))
      return { ...giteaError(ctx.store, 422, 'Invalid url'), unexpected: `config.url ${JSON.stringify(url)} is not an http(s) URL` };
  }
  const bad = (body.events ?? []).find((e) => typeof e !== 'string' || !GITEA_HOOK_EVENT_NAMES.includes(e.toLowerCase()));
  if (bad !== undefined) {
    return {
      ...giteaError(ctx.store, 422, `forge-api stand-in: ${JSON.stringify(bad)} is not a Gitea webhook event (Gitea would ignore it)`),
      unexpected: `event ${JSON.stringify(bad)} is not a Gitea webhook event`,
    };
  }
  return undefined;
}

/**
 * Gitea's create and edit alike (`addHook`, `editHook`): `events`, `branch_filter` and
 * `authorization_header` are set to what is sent, absent meaning none (events: push only);
 * `config.url` and `config.content_type` only when sent; `active` and `name` only when sent. The
 * secret is read on create only: an edit ignores `config.secret`.
 */
function applyHookBody(hook: ForgeHook, body: Record<string, unknown>, isCreate: boolean): void {
  const c = body['config'] as Record<string, string> | undefined;
  if (c) {
    if (c['url'] !== undefined) hook.url = c['url'];
    if (c['content_type'] !== undefined) hook.settings['content_type'] = c['content_type'];
    if (isCreate && c['secret'] !== undefined) hook.secret = c['secret'] === '' ? null : c['secret'];
  }
  hook.events = giteaStoredEvents(body['events'] as string[] | undefined);
  hook.settings['branch_filter'] = typeof body['branch_filter'] === 'string' ? body['branch_filter'] : '';
  hook.settings['authorization_header'] = typeof body['authorization_header'] === 'string' ? body['authorization_header'] : '';
  if (typeof body['active'] === 'boolean') hook.active = body['active'];
  if (typeof body['name'] === 'string') hook.settings['name'] = body['name'].trim();
}

function listHooks(ctx: RouteContext): Answer {
  const limit = Math.min(intQuery(ctx.query, 'limit', 30), 50);
  const page = intQuery(ctx.query, 'page', 1);
  const all = ctx.store.hooksOf(ctx.repo);
  return { status: 200, headers: { 'X-Total-Count': String(all.length) }, body: all.slice((page - 1) * limit, page * limit).map(hookJson) };
}

function createHook(ctx: RouteContext): Answer {
  const bad = hookBodyProblems(ctx, true);
  if (bad) return bad;
  const body = ctx.body as Record<string, unknown>;
  const now = ctx.store.now().toISOString();
  const hook: ForgeHook = {
    id: ctx.store.nextId('gitea:hook'),
    repo: ctx.repo,
    url: '',
    // Gitea's CreateHookOption: `active` defaults to false.
    active: false,
    events: ['push'],
    secret: null,
    settings: { type: body['type'], name: '', content_type: 'json', http_method: 'POST', branch_filter: '', authorization_header: '' },
    createdAt: now,
    updatedAt: now,
    edits: 0,
  };
  applyHookBody(hook, body, true);
  ctx.store.hooks.push(hook);
  return { status: 201, body: hookJson(hook) };
}

function updateHook(ctx: RouteContext): Answer {
  const id = Number(ctx.params['id']);
  const hook = ctx.store.findHook(ctx.repo, id);
  if (!hook) return { ...notFound(ctx.store), unexpected: `${ctx.repo} has no hook ${String(id)}` };
  const bad = hookBodyProblems(ctx, false);
  if (bad) return bad;
  applyHookBody(hook, ctx.body as Record<string, unknown>, false);
  ctx.store.touchHook(hook);
  return { status: 200, body: hookJson(hook) };
}

/** `POST …/hooks/{id}/tests`: Gitea queues a push delivery of the default branch's head and answers 204 (the stand-in sends nothing). */
function testHook(ctx: RouteContext): Answer {
  const id = Number(ctx.params['id']);
  const hook = ctx.store.findHook(ctx.repo, id);
  if (!hook) return { ...notFound(ctx.store), unexpected: `${ctx.repo} has no hook ${String(id)}` };
  if (ctx.body !== undefined)
    return { ...giteaError(ctx.store, 422, 'forge-api stand-in: the test endpoint takes no body'), unexpected: 'a body was sent to the hook test endpoint' };
  ctx.store.hookTests.push({ repo: hook.repo, hookId: Number(hook.id), at: ctx.store.now().toISOString() });
  return { status: 204 };
}

function seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook {
  const events = seed.events ?? ['push'];
  const bad = events.filter((e) => !(GITEA_HOOK_EVENTS as readonly string[]).includes(e));
  if (bad.length > 0 || events.length === 0)
    throw new Error(`seedHook (gitea): events ${JSON.stringify(events)} are not all events Gitea stores (${GITEA_HOOK_EVENTS.join(', ')})`);
  if (!isHttpUrl(seed.url)) throw new Error(`seedHook (gitea): ${JSON.stringify(seed.url)} is not an http(s) URL`);
  const createdAt = seed.createdAt ?? store.now().toISOString();
  return {
    id: seed.id ?? store.nextId('gitea:hook'),
    repo,
    url: seed.url,
    active: seed.active ?? true,
    events: [...events],
    secret: seed.secret ?? null,
    settings: { type: 'gitea', name: '', content_type: 'json', http_method: 'POST', branch_filter: '', authorization_header: '', ...(seed.settings ?? {}) },
    createdAt,
    updatedAt: createdAt,
    edits: 0,
  };
}

function refuse(kind: RefusalKind, detail: string, store: ForgeStore): Answer {
  switch (kind) {
    case 'unauthorized':
      return giteaError(store, 401, detail === 'no Authorization header' ? 'token is required' : 'invalid username, password or token');
    case 'no-route':
      // Gitea's router answers an unknown path in plain text.
      return { status: 404, body: '404 page not found\n' };
    case 'no-repo':
      return notFound(store);
    case 'method-not-allowed':
      return giteaError(store, 405, 'Method Not Allowed');
    case 'bad-json':
    case 'media-type':
      return giteaError(store, 422, `[Body]: ${detail}`);
  }
}

/** Gitea's refusal of another user's permission to a token that is not a repository admin. */
const PERMISSION_DENIED_MESSAGE = 'Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own';

function errorBody(status: number, _headers: Record<string, string>, store: ForgeStore, path?: string): unknown {
  if (status === 403 && path !== undefined && /\/hooks(\/|$)/.test(path)) return { message: HOOK_DENIED_MESSAGE, url: `${store.origin}/api/swagger` };
  if (status === 403 && path !== undefined && /\/permission$/.test(path)) return { message: PERMISSION_DENIED_MESSAGE, url: `${store.origin}/api/swagger` };
  const messages: Record<number, string> = { 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  return { message: messages[status] ?? `HTTP ${String(status)}`, url: `${store.origin}/api/swagger` };
}

/** The Gitea stand-in's definition. */
export function giteaForge(): ForgeDefinition {
  const repo = (p: Record<string, string>): string => `${p['owner'] ?? ''}/${p['repo'] ?? ''}`;
  return {
    id: 'gitea',
    mount: '/api/v1',
    urlPath: '',
    requireJsonContentType: true,
    contextKey: (context) => context,
    authenticate(headers, options) {
      const header = headers['authorization'];
      if (header === undefined) return { missing: true, reason: 'no Authorization header' };
      const m = /^token\s+(.+)$/i.exec(header.trim());
      if (!m) return { missing: false, reason: `expected "token <token>", got ${JSON.stringify(header.split(' ')[0])}` };
      return m[1] === options.token ? undefined : { missing: false, reason: 'wrong token' };
    },
    refuse,
    errorBody,
    hookDenied: (store) => giteaError(store, 403, HOOK_DENIED_MESSAGE),
    seedHook,
    routes: [
      { method: 'GET', pattern: '/repos/{owner}/{repo}/hooks', repo, handle: listHooks, hook: true },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/hooks', repo, handle: createHook, hook: true },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/hooks/{id:int}', repo, handle: updateHook, hook: true },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/hooks/{id:int}/tests', repo, handle: testHook, hook: true },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/issues/{index:int}/comments', repo, handle: listComments },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/issues/{index:int}/comments', repo, handle: createComment },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/issues/comments/{id:int}', repo, handle: updateComment },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/pulls', repo, handle: listPulls },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/pulls/{index:int}', repo, handle: getPull },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/collaborators/{collaborator}/permission', repo, handle: getPermission },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/commits/{ref}/status', repo, handle: combinedStatus },
    ],
  };
}
