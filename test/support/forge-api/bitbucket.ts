/**
 * Bitbucket Cloud REST API 2.0 stand-in: build statuses (overwritten per key), the commit lookup
 * Landfall uses to expand short hashes, pull-request comments and repository webhooks. See README.md.
 */
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type FieldProblem,
  type ForgeApiOptions,
  type ForgePullRequest,
  type ForgeStatus,
  type ForgeDefinition,
  type ForgeHook,
  type ForgeStore,
  type HookSeed,
  type RefusalKind,
  type RouteContext,
  type StoredComment,
} from './server.js';

/** Bitbucket Cloud build states. */
export const BITBUCKET_STATES = ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'STOPPED'] as const;
/** Longest build status key Bitbucket Cloud accepts. */
export const BITBUCKET_KEY_MAX = 40;

interface StoredBuild {
  uuid: string;
  sha: string;
  key: string;
  state: string;
  url: string;
  name: string | null;
  description: string | null;
  refname: string | null;
  createdOn: string;
  updatedOn: string;
}

/** Bitbucket Cloud timestamps carry microseconds and an explicit offset. */
function bbTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

function bbError(status: number, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { type: 'error', error: { message, ...extra } } };
}

function uuidFor(kind: string, id: number): string {
  const hex = id.toString(16).padStart(12, '0');
  return `{${kind === 'user' ? '00000000' : 'b0b0b0b0'}-0000-4000-8000-${hex}}`;
}

/** An account `{uuid}` (what Landfall names Bitbucket Cloud users by). */
const ACCOUNT_UUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

/**
 * A user as Bitbucket shows one. A login that is an account `{uuid}` is that account (its
 * nickname made up from it); any other login is a nickname with a uuid of its own.
 */
function userJson(store: ForgeStore, login: string): Record<string, unknown> {
  const id = store.userId(login);
  const isUuid = ACCOUNT_UUID.test(login);
  const nickname = isUuid ? `user-${login.slice(1, 9)}` : login;
  return {
    type: 'user',
    display_name: nickname,
    nickname,
    uuid: isUuid ? login.toLowerCase() : uuidFor('user', id),
    account_id: `5f00000000000000000${String(id).padStart(5, '0')}`,
    links: {},
  };
}

function commentJson(store: ForgeStore, c: StoredComment, workspaceRepo: string): Record<string, unknown> {
  const self = `${store.origin}/2.0/repositories/${workspaceRepo}/pullrequests/${String(c.pr)}/comments/${String(c.id)}`;
  return {
    id: c.id,
    type: 'pullrequest_comment',
    created_on: bbTime(c.createdAt),
    updated_on: bbTime(c.updatedAt),
    content: c.deleted
      ? { type: 'rendered', raw: '', markup: 'markdown', html: '' }
      : { type: 'rendered', raw: c.body, markup: 'markdown', html: `<p>${c.body}</p>` },
    user: userJson(store, c.author),
    deleted: c.deleted,
    pending: false,
    links: { self: { href: self }, html: { href: `${store.origin}/${workspaceRepo}/pull-requests/${String(c.pr)}/_/diff#comment-${String(c.id)}` } },
    pullrequest: { type: 'pullrequest', id: c.pr, title: `Pull request ${String(c.pr)}`, links: {} },
  };
}

/** Bitbucket's (Django REST framework) validation error: one message plus per-field lists. */
function fieldErrors(problems: FieldProblem[]): Answer {
  const fields: Record<string, string[]> = {};
  for (const p of problems) {
    let message: string;
    switch (p.problem) {
      case 'missing':
        message = 'This field is required.';
        break;
      case 'blank':
        message = 'This field may not be blank.';
        break;
      case 'too-long':
        message = `Ensure this value has at most ${String(p.rule?.maxLength)} characters (it has ${String((p.value as string).length)}).`;
        break;
      case 'not-allowed-value':
        message = `"${String(p.value)}" is not a valid choice.`;
        break;
      case 'type':
        message = 'Not a valid string.';
        break;
      case 'unknown':
        message = 'forge-api stand-in: not a documented field (Bitbucket would ignore it).';
        break;
    }
    (fields[p.field] ??= []).push(message);
  }
  const [first] = Object.entries(fields);
  const message = first ? `${first[0]}: ${first[1][0] ?? ''}` : 'Bad request';
  return { ...bbError(400, message, { fields }), unexpected: problems.map(describeProblem).join('; ') };
}

function builds(store: ForgeStore): Map<string, StoredBuild> {
  let map = store.scratch.get('bitbucket:builds') as Map<string, StoredBuild> | undefined;
  if (!map) {
    map = new Map();
    store.scratch.set('bitbucket:builds', map);
  }
  return map;
}

function workspaceRepo(ctx: RouteContext): string {
  return `${ctx.params['workspace'] ?? ''}/${ctx.params['repo_slug'] ?? ''}`;
}

function createBuildStatus(ctx: RouteContext): Answer {
  const commit = ctx.params['commit'] ?? '';
  if (!isFullSha(commit)) {
    // What the real API does with a short hash here is not documented; resolve it first.
    return {
      ...bbError(404, 'Commit not found'),
      unexpected: `commit ${JSON.stringify(commit)} is not a full 40-hex hash (resolve short hashes with GET .../commit/{commit} first)`,
    };
  }
  const problems = checkFields(ctx.body, {
    key: { type: 'string', required: true, nonBlank: true, maxLength: BITBUCKET_KEY_MAX },
    state: { type: 'string', required: true, oneOf: BITBUCKET_STATES },
    url: { type: 'string', required: true, nonBlank: true },
    name: { type: 'string', nullable: true },
    description: { type: 'string', nullable: true },
    refname: { type: 'string', nullable: true },
    type: { type: 'string', oneOf: ['build'] },
  });
  if (problems === 'not-an-object') return { ...bbError(400, 'Malformed JSON body'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return fieldErrors(problems);
  const body = ctx.body as { key: string; state: string; url: string; name?: string | null; description?: string | null; refname?: string | null };
  const sha = commit.toLowerCase();
  const map = builds(ctx.store);
  const id = `${workspaceRepo(ctx)}|${sha}|${body.key}`;
  const now = bbTime(ctx.store.now().toISOString());
  const existing = map.get(id);
  const build: StoredBuild = {
    uuid: existing?.uuid ?? uuidFor('build', ctx.store.nextId('bitbucket:build')),
    sha,
    key: body.key,
    state: body.state,
    url: body.url,
    name: body.name ?? null,
    description: body.description ?? null,
    refname: body.refname ?? null,
    createdOn: existing?.createdOn ?? now,
    updatedOn: now,
  };
  map.set(id, build);
  ctx.store.addStatus({
    sha,
    context: build.key,
    state: build.state,
    description: build.description,
    targetUrl: build.url,
    ...(build.refname !== null ? { ref: build.refname } : {}),
    ...(build.name !== null ? { name: build.name } : {}),
  });
  const base = `${ctx.store.origin}/2.0/repositories/${workspaceRepo(ctx)}/commit/${sha}`;
  return {
    status: 201,
    body: {
      type: 'build',
      uuid: build.uuid,
      key: build.key,
      state: build.state,
      url: build.url,
      name: build.name,
      description: build.description,
      refname: build.refname,
      created_on: build.createdOn,
      updated_on: build.updatedOn,
      links: { self: { href: `${base}/statuses/build/${encodeURIComponent(build.key)}` }, commit: { href: base } },
    },
  };
}

function getCommit(ctx: RouteContext): Answer {
  const full = ctx.store.resolveCommit(ctx.params['commit'] ?? '');
  // Not unexpected: asking about an unknown commit is a legitimate question.
  if (full === undefined) return bbError(404, 'Commit not found');
  const self = `${ctx.store.origin}/2.0/repositories/${workspaceRepo(ctx)}/commit/${full}`;
  return {
    status: 200,
    body: {
      type: 'commit',
      hash: full,
      date: '2026-01-01T00:00:00+00:00',
      message: 'seeded commit\n',
      author: { type: 'author', raw: 'Test Author <author@example.com>' },
      parents: [],
      links: { self: { href: self } },
      repository: { type: 'repository', full_name: workspaceRepo(ctx) },
    },
  };
}

function listComments(ctx: RouteContext): Answer {
  if (ctx.query['q'] !== undefined) {
    return {
      ...bbError(400, 'forge-api stand-in: BBQL filtering (q=) is not implemented'),
      unexpected: `q=${ctx.query['q']} is not implemented by the stand-in`,
    };
  }
  const rawPagelen = ctx.query['pagelen'];
  const pagelen = intQuery(ctx.query, 'pagelen', 10);
  if (rawPagelen !== undefined && (pagelen > 100 || String(pagelen) !== rawPagelen)) {
    return { ...bbError(400, `Invalid pagelen`), unexpected: `pagelen=${rawPagelen} (must be 1..100)` };
  }
  const page = intQuery(ctx.query, 'page', 1);
  const sort = ctx.query['sort'] ?? 'id';
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  if (!['id', 'created_on', 'updated_on'].includes(field)) {
    return { ...bbError(400, `Invalid sort field: ${sort}`), unexpected: `sort=${sort} is not supported by the stand-in` };
  }
  const key = field === 'id' ? 'id' : field === 'created_on' ? 'createdAt' : 'updatedAt';
  const all = ctx.store
    .listComments(Number(ctx.params['id']), workspaceRepo(ctx))
    .sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (desc ? -1 : 1));
  const values = all.slice((page - 1) * pagelen, page * pagelen).map((c) => commentJson(ctx.store, c, workspaceRepo(ctx)));
  const body: Record<string, unknown> = { values, pagelen, size: all.length, page };
  if (page * pagelen < all.length) body['next'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page + 1 });
  if (page > 1) body['previous'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page - 1 });
  return { status: 200, body };
}

function contentProblems(ctx: RouteContext): Answer | undefined {
  const problems = checkFields(ctx.body, { content: { type: 'object', required: true } });
  if (problems === 'not-an-object') return { ...bbError(400, 'Malformed JSON body'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return fieldErrors(problems);
  const inner = checkFields((ctx.body as { content: unknown }).content, {
    raw: { type: 'string', required: true, nonBlank: true },
    markup: { type: 'string', oneOf: ['markdown'] },
  });
  if (inner === 'not-an-object') return fieldErrors([{ field: 'content', problem: 'type' }]);
  if (inner.length > 0) return fieldErrors(inner.map((p) => ({ ...p, field: `content.${p.field}` })));
  return undefined;
}

function createComment(ctx: RouteContext): Answer {
  const bad = contentProblems(ctx);
  if (bad) return bad;
  const c = ctx.store.addComment(Number(ctx.params['id']), workspaceRepo(ctx), (ctx.body as { content: { raw: string } }).content.raw);
  return { status: 201, headers: { Location: `${ctx.store.origin}${ctx.path}/${String(c.id)}` }, body: commentJson(ctx.store, c, workspaceRepo(ctx)) };
}

function updateComment(ctx: RouteContext): Answer {
  const id = Number(ctx.params['comment_id']);
  const c = ctx.store.findComment(id);
  if (!c || c.deleted || c.pr !== Number(ctx.params['id']) || c.repo.toLowerCase() !== workspaceRepo(ctx).toLowerCase()) {
    const answer = bbError(404, 'Comment not found');
    if (c?.deleted === true) return answer;
    return { ...answer, unexpected: c ? `comment ${String(id)} belongs to ${c.repo} #${String(c.pr)}` : `comment ${String(id)} was never created` };
  }
  const bad = contentProblems(ctx);
  if (bad) return bad;
  ctx.store.updateComment(c, (ctx.body as { content: { raw: string } }).content.raw);
  return { status: 200, body: commentJson(ctx.store, c, workspaceRepo(ctx)) };
}

// ---------------------------------------------------------------------------------------------
// Pull requests, commit statuses, repository permissions (the preview calls)

/** One page (`pagelen` up to `max`, `page`) of a list, with `next`/`previous` links, as Bitbucket pages. */
function paged<T>(ctx: RouteContext, all: readonly T[], max: number, json: (item: T) => unknown): Answer {
  const rawPagelen = ctx.query['pagelen'];
  const pagelen = intQuery(ctx.query, 'pagelen', 10);
  if (rawPagelen !== undefined && (pagelen > max || String(pagelen) !== rawPagelen)) {
    return { ...bbError(400, `Invalid pagelen`), unexpected: `pagelen=${rawPagelen} (must be 1..${String(max)})` };
  }
  const page = intQuery(ctx.query, 'page', 1);
  const body: Record<string, unknown> = { values: all.slice((page - 1) * pagelen, page * pagelen).map(json), pagelen, size: all.length, page };
  if (page * pagelen < all.length) body['next'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page + 1 });
  if (page > 1) body['previous'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page - 1 });
  return { status: 200, body };
}

/** Bitbucket's word for a pull request's state. */
function prState(pr: ForgePullRequest): string {
  return pr.state === 'open' ? 'OPEN' : pr.state === 'merged' ? 'MERGED' : 'DECLINED';
}

function repositoryJson(fullName: string): Record<string, unknown> {
  return {
    type: 'repository',
    full_name: fullName,
    name: fullName.split('/')[1] ?? fullName,
    uuid: `{${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}}`,
    links: {},
  };
}

function pullRequestJson(ctx: RouteContext, pr: ForgePullRequest): Record<string, unknown> {
  const self = `${ctx.store.origin}/2.0/repositories/${pr.repo}/pullrequests/${String(pr.number)}`;
  return {
    type: 'pullrequest',
    id: pr.number,
    title: pr.title,
    state: prState(pr),
    author: userJson(ctx.store, pr.author),
    // The pull-request resource gives abbreviated hashes (12 characters), as its webhooks do.
    source: { branch: { name: pr.headBranch }, commit: { type: 'commit', hash: pr.headSha.slice(0, 12) }, repository: repositoryJson(pr.headRepo) },
    destination: { branch: { name: pr.baseBranch }, commit: { type: 'commit', hash: '0'.repeat(12) }, repository: repositoryJson(pr.repo) },
    merge_commit: null,
    comment_count: 0,
    task_count: 0,
    close_source_branch: false,
    created_on: bbTime(pr.createdAt),
    updated_on: bbTime(pr.updatedAt),
    links: { self: { href: self }, html: { href: `${ctx.store.origin}/${pr.repo}/pull-requests/${String(pr.number)}` } },
  };
}

/** The one BBQL form the stand-in reads: `destination.branch.name = "x"` (quotes and backslashes escaped). */
function destinationFilter(q: string): string | undefined {
  const m = /^\s*destination\.branch\.name\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(q);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
}

/** `GET …/pullrequests`: `state` (OPEN by default; MERGED, DECLINED, SUPERSEDED), `q` on the destination branch, `pagelen` up to 50. */
function listPullRequests(ctx: RouteContext): Answer {
  const state = ctx.query['state'] ?? 'OPEN';
  if (!['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED'].includes(state))
    return { ...bbError(400, `"${state}" is not a valid choice.`), unexpected: `state=${state}` };
  const q = ctx.query['q'];
  const branch = q === undefined ? undefined : destinationFilter(q);
  if (q !== undefined && branch === undefined) {
    return {
      ...bbError(400, 'forge-api stand-in: only q=destination.branch.name="…" is implemented'),
      unexpected: `q=${q} is not implemented by the stand-in`,
    };
  }
  const all = ctx.store.previews.pullRequests
    .filter((pr) => pr.repo.toLowerCase() === workspaceRepo(ctx).toLowerCase() && prState(pr) === state && (branch === undefined || pr.baseBranch === branch))
    .sort((a, b) => b.number - a.number);
  return paged(ctx, all, 50, (pr) => pullRequestJson(ctx, pr));
}

/** `GET …/pullrequests/{id}`; an unknown id is a 404 (a fair question, not unexpected). */
function getPullRequest(ctx: RouteContext): Answer {
  const pr = ctx.store.findPullRequest(workspaceRepo(ctx), Number(ctx.params['id']));
  if (!pr) return bbError(404, 'Pull request not found');
  return { status: 200, body: pullRequestJson(ctx, pr) };
}

function buildJson(ctx: RouteContext, st: ForgeStatus): Record<string, unknown> {
  const base = `${ctx.store.origin}/2.0/repositories/${workspaceRepo(ctx)}/commit/${st.sha}`;
  return {
    type: 'build',
    uuid: uuidFor('build', st.id),
    key: st.context,
    state: st.state,
    url: st.targetUrl,
    name: st.name ?? st.context,
    description: st.description,
    refname: st.ref ?? null,
    created_on: bbTime(st.createdAt),
    updated_on: bbTime(st.createdAt),
    links: { self: { href: `${base}/statuses/build/${encodeURIComponent(st.context)}` }, commit: { href: base } },
  };
}

/** `GET …/commit/{commit}/statuses`: one status per key (the last post), `pagelen` up to 100. */
function listCommitStatuses(ctx: RouteContext): Answer {
  const commit = ctx.params['commit'] ?? '';
  const sha = ctx.store.resolveCommit(commit) ?? (isFullSha(commit) ? commit.toLowerCase() : undefined);
  if (sha === undefined) return { ...bbError(404, 'Commit not found'), unexpected: `commit ${JSON.stringify(commit)} is neither full nor a seeded short one` };
  const latest = new Map<string, ForgeStatus>();
  for (const st of ctx.store.allStatuses()) if (st.sha === sha) latest.set(st.context, st);
  return paged(ctx, [...latest.values()], 100, (st) => buildJson(ctx, st));
}

const BITBUCKET_PERMISSIONS: Record<string, string> = { read: 'read', triage: 'read', write: 'write', maintain: 'write', admin: 'admin' };

/**
 * `GET /workspaces/{workspace}/permissions/repositories/{repo_slug}`: each user's effective
 * permission. `q` may be `user.uuid="{…}"` only. Bitbucket answers it only to a repository admin
 * (a `failNext` 403 stands for a token without admin rights).
 */
function listRepositoryPermissions(ctx: RouteContext): Answer {
  const q = ctx.query['q'];
  const m = q === undefined ? undefined : /^\s*user\.uuid\s*=\s*"(\{[^"]+\})"\s*$/.exec(q);
  if (q !== undefined && !m)
    return { ...bbError(400, 'forge-api stand-in: only q=user.uuid="{…}" is implemented'), unexpected: `q=${q} is not implemented by the stand-in` };
  const wanted = m?.[1]?.toLowerCase();
  const repo = workspaceRepo(ctx);
  const grants = ctx.store.previews.permissions
    .filter((p) => p.repo.toLowerCase() === repo.toLowerCase() && p.level !== 'none')
    .map((p) => ({ p, user: userJson(ctx.store, p.user) }))
    .filter(({ user }) => wanted === undefined || String(user['uuid']).toLowerCase() === wanted);
  return paged(ctx, grants, 100, ({ p, user }) => ({
    type: 'repository_permission',
    user,
    repository: repositoryJson(repo),
    permission: BITBUCKET_PERMISSIONS[p.level],
  }));
}

// ---------------------------------------------------------------------------------------------
// Repository webhooks

/** Events a repository webhook can subscribe to. */
export const BITBUCKET_HOOK_EVENTS = [
  'repo:push',
  'repo:fork',
  'repo:updated',
  'repo:commit_comment_created',
  'repo:commit_status_created',
  'repo:commit_status_updated',
  'repo:imported',
  'repo:deleted',
  'repo:transfer',
  'issue:created',
  'issue:updated',
  'issue:comment_created',
  'pullrequest:created',
  'pullrequest:updated',
  'pullrequest:approved',
  'pullrequest:unapproved',
  'pullrequest:fulfilled',
  'pullrequest:rejected',
  'pullrequest:changes_request_created',
  'pullrequest:changes_request_removed',
  'pullrequest:comment_created',
  'pullrequest:comment_updated',
  'pullrequest:comment_deleted',
  'pullrequest:comment_resolved',
  'pullrequest:comment_reopened',
] as const;

function hookUuid(n: number): string {
  return `{c0ffee00-0000-4000-8000-${n.toString(16).padStart(12, '0')}}`;
}

function hookJson(store: ForgeStore, h: ForgeHook): Record<string, unknown> {
  const self = `${store.origin}/2.0/repositories/${h.repo}/hooks/${encodeURIComponent(String(h.id))}`;
  return {
    type: 'webhook_subscription',
    uuid: h.id,
    url: h.url,
    description: h.settings['description'],
    subject_type: 'repository',
    subject: { type: 'repository', full_name: h.repo, name: h.repo.split('/')[1], links: {} },
    active: h.active,
    created_at: bbTime(h.createdAt),
    events: [...h.events],
    // Bitbucket never returns the secret; it says whether one is set.
    secret_set: h.secret !== null,
    skip_cert_verification: h.settings['skip_cert_verification'],
    links: { self: { href: self } },
  };
}

function hookBodyProblems(ctx: RouteContext, isCreate: boolean): Answer | undefined {
  const problems = checkFields(ctx.body, {
    url: { type: 'string', required: isCreate, nonBlank: true },
    description: { type: 'string' },
    active: { type: 'boolean' },
    events: { type: 'array', required: isCreate },
    secret: { type: 'string', nullable: true },
    skip_cert_verification: { type: 'boolean' },
  });
  if (problems === 'not-an-object') return { ...bbError(400, 'Malformed JSON body'), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return fieldErrors(problems);
  const body = ctx.body as { url?: string; events?: unknown[] };
  if (body.events !== undefined) {
    if (body.events.length === 0) return fieldErrors([{ field: 'events', problem: 'missing' }]);
    const bad = body.events.find((e) => typeof e !== 'string' || !(BITBUCKET_HOOK_EVENTS as readonly string[]).includes(e));
    if (bad !== undefined)
      return fieldErrors([{ field: 'events', problem: 'not-allowed-value', value: bad, rule: { type: 'string', oneOf: BITBUCKET_HOOK_EVENTS } }]);
  }
  if (body.url !== undefined && !isHttpUrl(body.url)) {
    return {
      ...bbError(400, 'url: Enter a valid URL.', { fields: { url: ['Enter a valid URL.'] } }),
      unexpected: `url ${JSON.stringify(body.url)} is not an http(s) URL`,
    };
  }
  return undefined;
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function applyHookBody(hook: ForgeHook, body: Record<string, unknown>): void {
  if (typeof body['url'] === 'string') hook.url = body['url'];
  if (typeof body['description'] === 'string') hook.settings['description'] = body['description'];
  if (typeof body['active'] === 'boolean') hook.active = body['active'];
  if (Array.isArray(body['events'])) hook.events = [...new Set(body['events'] as string[])];
  if (typeof body['skip_cert_verification'] === 'boolean') hook.settings['skip_cert_verification'] = body['skip_cert_verification'];
  // Not sent: the secret is kept. null: removed.
  if (body['secret'] === null || body['secret'] === '') hook.secret = null;
  else if (typeof body['secret'] === 'string') hook.secret = body['secret'];
}

function listHooks(ctx: RouteContext): Answer {
  const rawPagelen = ctx.query['pagelen'];
  const pagelen = intQuery(ctx.query, 'pagelen', 10);
  if (rawPagelen !== undefined && (pagelen > 100 || String(pagelen) !== rawPagelen)) {
    return { ...bbError(400, `Invalid pagelen`), unexpected: `pagelen=${rawPagelen} (must be 1..100)` };
  }
  const page = intQuery(ctx.query, 'page', 1);
  const all = ctx.store.hooksOf(workspaceRepo(ctx));
  const values = all.slice((page - 1) * pagelen, page * pagelen).map((h) => hookJson(ctx.store, h));
  const body: Record<string, unknown> = { values, pagelen, size: all.length, page };
  if (page * pagelen < all.length) body['next'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page + 1 });
  if (page > 1) body['previous'] = selfUrl(ctx.store, ctx.path, { ...ctx.query, pagelen, page: page - 1 });
  return { status: 200, body };
}

function createHook(ctx: RouteContext): Answer {
  const bad = hookBodyProblems(ctx, true);
  if (bad) return bad;
  const now = ctx.store.now().toISOString();
  const hook: ForgeHook = {
    id: hookUuid(ctx.store.nextId('bitbucket:hook')),
    repo: workspaceRepo(ctx),
    url: '',
    active: true,
    events: [],
    secret: null,
    settings: { description: '', skip_cert_verification: false },
    createdAt: now,
    updatedAt: now,
    edits: 0,
  };
  applyHookBody(hook, ctx.body as Record<string, unknown>);
  ctx.store.hooks.push(hook);
  return { status: 201, headers: { Location: `${ctx.store.origin}${ctx.path}/${encodeURIComponent(String(hook.id))}` }, body: hookJson(ctx.store, hook) };
}

function updateHook(ctx: RouteContext): Answer {
  const uid = ctx.params['uid'] ?? '';
  const hook = ctx.store.findHook(workspaceRepo(ctx), uid);
  if (!hook) return { ...bbError(404, 'Webhook not found'), unexpected: `${workspaceRepo(ctx)} has no hook ${uid}` };
  const bad = hookBodyProblems(ctx, false);
  if (bad) return bad;
  applyHookBody(hook, ctx.body as Record<string, unknown>);
  ctx.store.touchHook(hook);
  return { status: 200, body: hookJson(ctx.store, hook) };
}

function seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook {
  const events = seed.events ?? ['repo:push'];
  const bad = events.filter((e) => !(BITBUCKET_HOOK_EVENTS as readonly string[]).includes(e));
  if (bad.length > 0 || events.length === 0) throw new Error(`seedHook (bitbucket): events ${JSON.stringify(events)} are not all webhook events`);
  if (!isHttpUrl(seed.url)) throw new Error(`seedHook (bitbucket): ${JSON.stringify(seed.url)} is not an http(s) URL`);
  const createdAt = seed.createdAt ?? store.now().toISOString();
  const id = seed.id === undefined ? hookUuid(store.nextId('bitbucket:hook')) : String(seed.id);
  return {
    id: id.startsWith('{') ? id : `{${id}}`,
    repo,
    url: seed.url,
    active: seed.active ?? true,
    events: [...events],
    secret: seed.secret ?? null,
    settings: { description: '', skip_cert_verification: false, ...(seed.settings ?? {}) },
    createdAt,
    updatedAt: createdAt,
    edits: 0,
  };
}

/** Bearer, or Basic username:token when `options.username` is set (shared with Data Center). */
export function bitbucketAuthenticate(headers: Record<string, string>, options: ForgeApiOptions): { missing: boolean; reason: string } | undefined {
  const header = headers['authorization'];
  if (header === undefined) return { missing: true, reason: 'no Authorization header' };
  if (options.username !== undefined) {
    const m = /^basic\s+(\S+)$/i.exec(header.trim());
    if (!m) return { missing: false, reason: `expected Basic auth for ${options.username}, got ${JSON.stringify(header.split(' ')[0])}` };
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    return decoded === `${options.username}:${options.token}` ? undefined : { missing: false, reason: 'wrong Basic credentials' };
  }
  const m = /^bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return { missing: false, reason: `expected "Bearer <token>", got ${JSON.stringify(header.split(' ')[0])}` };
  return m[1] === options.token ? undefined : { missing: false, reason: 'wrong bearer token' };
}

function refuse(kind: RefusalKind, detail: string): Answer {
  switch (kind) {
    case 'unauthorized':
      return bbError(401, 'Token is invalid, expired, or not supported for this endpoint.');
    case 'no-route':
      return bbError(404, 'Resource not found', {
        detail:
          "There is no API hosted at this URL.\n\nFor information about our API's, please refer to the documentation at: https://developer.atlassian.com/bitbucket/api/2/reference/",
      });
    case 'method-not-allowed':
      return bbError(405, 'Method not allowed');
    case 'no-repo':
      return bbError(404, 'Repository not found');
    case 'bad-json':
      return bbError(400, `Malformed JSON body: ${detail}`);
    case 'media-type':
      return bbError(415, 'Unsupported Media Type');
  }
}

function errorBody(status: number, _headers: Record<string, string>, _store: ForgeStore, path?: string): unknown {
  if (status === 403 && path !== undefined && /\/hooks(\/|$)/.test(path)) {
    return {
      type: 'error',
      error: {
        message: 'Your credentials lack one or more required privilege scopes.',
        detail: { granted: ['repository', 'pullrequest'], required: ['webhook'] },
      },
    };
  }
  const messages: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not found',
    429: 'Rate limit for this resource has been exceeded',
    500: 'Something went wrong',
    502: 'Bad gateway',
    503: 'Service unavailable',
  };
  return { type: 'error', error: { message: messages[status] ?? 'Error' } };
}

/** The Bitbucket Cloud stand-in's definition. */
export function bitbucketForge(): ForgeDefinition {
  const repo = (p: Record<string, string>): string => `${p['workspace'] ?? ''}/${p['repo_slug'] ?? ''}`;
  const base = '/repositories/{workspace}/{repo_slug}';
  return {
    id: 'bitbucket',
    mount: '/2.0',
    urlPath: '/2.0',
    requireJsonContentType: true,
    contextKey: (context) => context,
    authenticate: bitbucketAuthenticate,
    refuse,
    errorBody,
    hookDenied: () =>
      bbError(403, 'Your credentials lack one or more required privilege scopes.', {
        detail: { granted: ['repository', 'pullrequest'], required: ['webhook'] },
      }),
    seedHook,
    routes: [
      { method: 'POST', pattern: `${base}/commit/{commit}/statuses/build`, repo, handle: createBuildStatus },
      { method: 'GET', pattern: `${base}/hooks`, repo, handle: listHooks, hook: true },
      { method: 'POST', pattern: `${base}/hooks`, repo, handle: createHook, hook: true },
      { method: 'PUT', pattern: `${base}/hooks/{uid}`, repo, handle: updateHook, hook: true },
      { method: 'GET', pattern: `${base}/commit/{commit}`, repo, handle: getCommit },
      { method: 'GET', pattern: `${base}/pullrequests/{id:int}/comments`, repo, handle: listComments },
      { method: 'POST', pattern: `${base}/pullrequests/{id:int}/comments`, repo, handle: createComment },
      { method: 'PUT', pattern: `${base}/pullrequests/{id:int}/comments/{comment_id:int}`, repo, handle: updateComment },
      { method: 'GET', pattern: `${base}/pullrequests`, repo, handle: listPullRequests },
      { method: 'GET', pattern: `${base}/pullrequests/{id:int}`, repo, handle: getPullRequest },
      { method: 'GET', pattern: `${base}/commit/{commit}/statuses`, repo, handle: listCommitStatuses },
      {
        method: 'GET',
        pattern: '/workspaces/{workspace}/permissions/repositories/{repo_slug}',
        repo,
        handle: listRepositoryPermissions,
      },
    ],
  };
}
