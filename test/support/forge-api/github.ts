/**
 * GitHub REST API stand-in (GitHub Enterprise layout: everything under `/api/v3`, which is what
 * `new Octokit({ baseUrl })` talks to). Commit statuses and issue comments only. See README.md.
 */
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type FieldProblem,
  type ForgeDefinition,
  type ForgeStore,
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

function ghTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

function user(store: ForgeStore, login: string): Record<string, unknown> {
  return {
    login,
    id: login === store.login ? 1 : 2,
    node_id: login === store.login ? 'U_kgDOAAAAAQ' : 'U_kgDOAAAAAg',
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
    url: `${store.origin}/api/v3/users/${login}`,
    html_url: `${store.origin}/${login}`,
  };
}

function commentJson(store: ForgeStore, c: StoredComment): Record<string, unknown> {
  return {
    id: c.id,
    node_id: `IC_kwDO${String(c.id)}`,
    url: `${store.origin}/api/v3/repos/${c.repo}/issues/comments/${String(c.id)}`,
    html_url: `${store.origin}/${c.repo}/pull/${String(c.pr)}#issuecomment-${String(c.id)}`,
    issue_url: `${store.origin}/api/v3/repos/${c.repo}/issues/${String(c.pr)}`,
    body: c.body,
    user: user(store, c.author),
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
      creator: user(ctx.store, ctx.store.login),
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
    if (Number.isNaN(at)) return { ...error(422, `Invalid value for parameter 'since': ${JSON.stringify(since)}`, DOCS), unexpected: `since=${since} is not an ISO 8601 timestamp` };
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

function errorBody(status: number, headers: Record<string, string>): unknown {
  if (status === 403 && headers['x-ratelimit-remaining'] === '0') {
    return {
      message: 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
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
    authenticate(headers, options) {
      const header = headers['authorization'];
      if (header === undefined) return { missing: true, reason: 'no Authorization header' };
      const m = /^(token|bearer)\s+(.+)$/i.exec(header.trim());
      if (!m) return { missing: false, reason: `Authorization header ${JSON.stringify(header)} is neither "token <t>" nor "Bearer <t>"` };
      if (m[2] !== options.token) return { missing: false, reason: 'wrong token' };
      return undefined;
    },
    refuse(kind, detail) {
      if (kind === 'unauthorized' && detail === 'no Authorization header') return error(401, 'Requires authentication');
      return refuse(kind);
    },
    errorBody,
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
      };
      for (const [k, v] of Object.entries(defaults)) if (!has(k)) headers[k] = v;
      answer.headers = headers;
    },
    routes: [
      { method: 'POST', pattern: '/repos/{owner}/{repo}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/repos/{owner}/{repo}/issues/{number:int}/comments', repo, handle: listComments },
      { method: 'POST', pattern: '/repos/{owner}/{repo}/issues/{number:int}/comments', repo, handle: createComment },
      { method: 'PATCH', pattern: '/repos/{owner}/{repo}/issues/comments/{comment_id:int}', repo, handle: updateComment },
    ],
  };
}
