/**
 * Gitea / Forgejo REST API v1 stand-in: commit statuses and issue (pull-request) comments.
 * See README.md.
 */
import {
  checkFields,
  describeProblem,
  type Answer,
  type FieldProblem,
  type ForgeDefinition,
  type ForgeStore,
  type RefusalKind,
  type RouteContext,
  type StoredComment,
} from './server.js';

/** Gitea commit status states (`warning` since Gitea 1.x; Forgejo too). */
export const GITEA_STATES = ['pending', 'success', 'error', 'failure', 'warning'] as const;

function giteaError(store: ForgeStore, status: number, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { message, url: `${store.origin}/api/swagger`, ...extra } };
}

function giteaTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

function userJson(store: ForgeStore, login: string): Record<string, unknown> {
  const id = login === store.login ? 1 : 2;
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
  const kind = first.problem === 'missing' || first.problem === 'blank' ? 'Required' : first.problem === 'unknown' ? 'forge-api stand-in: undocumented field (Gitea would ignore it)' : 'Invalid';
  return { ...giteaError(store, 422, `[${field}]: ${kind}`), unexpected: problems.map(describeProblem).join('; ') };
}

function createStatus(ctx: RouteContext): Answer {
  const sha = ctx.params['sha'] ?? '';
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(sha)) {
    return { ...giteaError(ctx.store, 404, "The target couldn't be found.", { errors: [] }), unexpected: `sha ${JSON.stringify(sha)} is not a full commit id` };
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
    const answer = giteaError(ctx.store, 404, "The target couldn't be found.", { errors: [] });
    if (c?.deleted === true) return answer;
    return { ...answer, unexpected: c ? `comment ${String(id)} belongs to ${c.repo}` : `comment ${String(id)} was never created` };
  }
  const bad = bodyProblems(ctx);
  if (bad) return bad;
  ctx.store.updateComment(c, (ctx.body as { body: string }).body);
  return { status: 200, body: commentJson(ctx.store, c) };
}

function refuse(kind: RefusalKind, detail: string, store: ForgeStore): Answer {
  switch (kind) {
    case 'unauthorized':
      return giteaError(store, 401, detail === 'no Authorization header' ? 'token is required' : 'user does not exist [uid: 0, name: ]');
    case 'no-route':
    case 'no-repo':
      return giteaError(store, 404, "The target couldn't be found.", { errors: [] });
    case 'method-not-allowed':
      return giteaError(store, 405, 'Method Not Allowed');
    case 'bad-json':
    case 'media-type':
      return giteaError(store, 422, `[Body]: ${detail}`);
  }
}

function errorBody(status: number, _headers: Record<string, string>, store: ForgeStore): unknown {
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
    routes: [
      { method: 'POST', pattern: '/repos/{owner}/{repo}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/issues/{index:int}/comments', repo, handle: listComments },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/issues/{index:int}/comments', repo, handle: createComment },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/issues/comments/{id:int}', repo, handle: updateComment },
    ],
  };
}
