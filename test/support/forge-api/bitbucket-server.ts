/**
 * Bitbucket Data Center (Server) REST API stand-in: repository-scoped build statuses (204),
 * pull-request comments with optimistic locking, listed through the activities resource, and
 * repository webhooks. See README.md.
 */
import { bitbucketAuthenticate } from './bitbucket.js';
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  text,
  type Answer,
  type FieldProblem,
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

/** Data Center build states. */
export const BITBUCKET_SERVER_STATES = ['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'CANCELLED', 'UNKNOWN'] as const;
/** Longest key and description Data Center accepts. */
export const BITBUCKET_SERVER_FIELD_MAX = 255;
/** Longest build url Data Center accepts. */
export const BITBUCKET_SERVER_URL_MAX = 450;

interface DcError {
  context: string | null;
  message: string;
  exceptionName: string | null;
  [extra: string]: unknown;
}

function dcErrors(status: number, errors: DcError[], unexpected?: string): Answer {
  return { status, body: { errors }, ...(unexpected !== undefined ? { unexpected } : {}) };
}

function dcUser(store: ForgeStore, login: string): Record<string, unknown> {
  const id = store.userId(login);
  return { name: login, emailAddress: `${login}@example.com`, id, displayName: login, active: true, slug: login.toLowerCase(), type: 'NORMAL' };
}

function commentJson(store: ForgeStore, c: StoredComment): Record<string, unknown> {
  return {
    properties: { repositoryId: 1 },
    id: c.id,
    version: c.version,
    text: c.body,
    author: dcUser(store, c.author),
    createdDate: Date.parse(c.createdAt),
    updatedDate: Date.parse(c.updatedAt),
    comments: [],
    threadResolved: false,
    severity: 'NORMAL',
    state: 'OPEN',
    permittedOperations: { editable: c.author === store.login, transitionable: true, deletable: c.author === store.login },
  };
}

function validationErrors(problems: FieldProblem[]): Answer {
  const errors = problems.map((p): DcError => {
    let message: string;
    switch (p.problem) {
      case 'missing':
      case 'blank':
        message = `The ${p.field} must be specified.`;
        break;
      case 'too-long':
        message = `The ${p.field} must be at most ${String(p.rule?.maxLength)} characters long.`;
        break;
      case 'not-allowed-value':
        message = `${String(p.value)} is not a valid ${p.field}. Valid values are ${(p.rule?.oneOf ?? []).join(', ')}.`;
        break;
      case 'type':
        message = `The ${p.field} has an invalid type.`;
        break;
      case 'unknown':
        message = `forge-api stand-in: ${p.field} is not a documented field (Bitbucket would ignore it).`;
        break;
    }
    return { context: p.field, message, exceptionName: null };
  });
  return dcErrors(400, errors, problems.map(describeProblem).join('; '));
}

function createBuild(ctx: RouteContext): Answer {
  const commitId = ctx.params['commitId'] ?? '';
  if (!isFullSha(commitId)) {
    return dcErrors(
      400,
      [
        {
          context: 'commitId',
          message: `${commitId} is not a valid commit ID.`,
          exceptionName: 'com.atlassian.bitbucket.validation.ArgumentValidationException',
        },
      ],
      `commitId ${JSON.stringify(commitId)} is not a full 40-hex commit id`,
    );
  }
  const problems = checkFields(ctx.body, {
    key: { type: 'string', required: true, nonBlank: true, maxLength: BITBUCKET_SERVER_FIELD_MAX },
    state: { type: 'string', required: true, oneOf: BITBUCKET_SERVER_STATES },
    url: { type: 'string', required: true, nonBlank: true, maxLength: BITBUCKET_SERVER_URL_MAX },
    name: { type: 'string' },
    description: { type: 'string', maxLength: BITBUCKET_SERVER_FIELD_MAX },
    ref: { type: 'string' },
    buildNumber: { type: 'string' },
    duration: { type: 'integer' },
    dateAdded: { type: 'integer' },
    parent: { type: 'string' },
    testResults: { type: 'object' },
  });
  if (problems === 'not-an-object') {
    return dcErrors(400, [{ context: null, message: 'Unexpected end-of-input: expected a JSON object', exceptionName: null }], 'body is not a JSON object');
  }
  if (problems.length > 0) return validationErrors(problems);
  const body = ctx.body as { key: string; state: string; url: string; name?: string; description?: string; ref?: string };
  if (body.ref !== undefined && !body.ref.startsWith('refs/')) {
    return dcErrors(
      400,
      [{ context: 'ref', message: `${body.ref} is not a fully qualified ref (refs/heads/…).`, exceptionName: null }],
      `ref ${JSON.stringify(body.ref)} is not fully qualified`,
    );
  }
  ctx.store.addStatus({
    sha: commitId,
    context: body.key,
    state: body.state,
    description: body.description ?? null,
    targetUrl: body.url,
    ...(body.ref !== undefined ? { ref: body.ref } : {}),
    ...(body.name !== undefined ? { name: body.name } : {}),
  });
  return { status: 204 };
}

function listActivities(ctx: RouteContext): Answer {
  const pr = Number(ctx.params['pullRequestId']);
  const limit = Math.min(intQuery(ctx.query, 'limit', 25), 1000);
  const rawStart = ctx.query['start'];
  const start = rawStart !== undefined && /^\d+$/.test(rawStart) ? Number(rawStart) : 0;
  const comments = ctx.store.listComments(pr, ctx.repo).filter((c) => !c.deleted);
  // Newest first, like the real resource; the PR's own OPENED activity is always the oldest.
  const activities: Record<string, unknown>[] = comments
    .map((c) => ({
      id: 100_000 + c.id,
      createdDate: Date.parse(c.createdAt),
      user: dcUser(ctx.store, c.author),
      action: 'COMMENTED',
      commentAction: 'ADDED',
      comment: commentJson(ctx.store, c),
    }))
    .reverse();
  activities.push({ id: 100_000, createdDate: Date.parse('2026-01-01T00:00:00Z'), user: dcUser(ctx.store, 'pr-author'), action: 'OPENED' });
  const values = activities.slice(start, start + limit);
  const isLastPage = start + limit >= activities.length;
  return {
    status: 200,
    body: { size: values.length, limit, isLastPage, values, start, ...(isLastPage ? {} : { nextPageStart: start + values.length }) },
  };
}

function textProblems(ctx: RouteContext, withVersion: boolean): Answer | undefined {
  const problems = checkFields(ctx.body, {
    text: { type: 'string', required: true, nonBlank: true },
    ...(withVersion ? { version: { type: 'integer', required: true } } : { severity: { type: 'string', oneOf: ['NORMAL', 'BLOCKER'] } }),
  });
  if (problems === 'not-an-object') {
    return dcErrors(400, [{ context: null, message: 'Unexpected end-of-input: expected a JSON object', exceptionName: null }], 'body is not a JSON object');
  }
  if (problems.length > 0) return validationErrors(problems);
  return undefined;
}

function createComment(ctx: RouteContext): Answer {
  const bad = textProblems(ctx, false);
  if (bad) return bad;
  const c = ctx.store.addComment(Number(ctx.params['pullRequestId']), ctx.repo, (ctx.body as { text: string }).text);
  return { status: 201, body: commentJson(ctx.store, c) };
}

function updateComment(ctx: RouteContext): Answer {
  const id = Number(ctx.params['commentId']);
  const c = ctx.store.findComment(id);
  if (!c || c.deleted || c.pr !== Number(ctx.params['pullRequestId']) || c.repo.toLowerCase() !== ctx.repo.toLowerCase()) {
    const answer = dcErrors(404, [
      { context: null, message: `Comment ${String(id)} does not exist.`, exceptionName: 'com.atlassian.bitbucket.comment.NoSuchCommentException' },
    ]);
    if (c?.deleted === true) return answer;
    return { ...answer, unexpected: c ? `comment ${String(id)} belongs to ${c.repo} #${String(c.pr)}` : `comment ${String(id)} was never created` };
  }
  const bad = textProblems(ctx, true);
  if (bad) return bad;
  const body = ctx.body as { text: string; version: number };
  if (body.version !== c.version) {
    // Expected behaviour (someone else edited it): not recorded unexpected.
    return dcErrors(409, [
      {
        context: null,
        message: 'You are attempting to modify a comment based on out-of-date information.',
        exceptionName: 'com.atlassian.bitbucket.comment.CommentOutOfDateException',
        currentVersion: c.version,
        expectedVersion: body.version,
      },
    ]);
  }
  ctx.store.updateComment(c, body.text);
  return { status: 200, body: commentJson(ctx.store, c) };
}

// ---------------------------------------------------------------------------------------------
// Pull requests, users by permission, build statuses (the preview calls)

/** One page (`start`, `limit` 25 by default, at most 1000) of a list, as Data Center pages. */
function paged<T>(ctx: RouteContext, all: readonly T[], json: (item: T) => unknown): Answer {
  const limit = Math.min(intQuery(ctx.query, 'limit', 25), 1000);
  const rawStart = ctx.query['start'];
  const start = rawStart !== undefined && /^\d+$/.test(rawStart) ? Number(rawStart) : 0;
  const values = all.slice(start, start + limit).map(json);
  const isLastPage = start + limit >= all.length;
  return { status: 200, body: { size: values.length, limit, isLastPage, values, start, ...(isLastPage ? {} : { nextPageStart: start + values.length }) } };
}

function dcRepositoryJson(fullName: string): Record<string, unknown> {
  const [key = '', slug = ''] = fullName.split('/');
  return { slug, id: 1, name: slug, scmId: 'git', state: 'AVAILABLE', forkable: true, project: { key, id: 1, name: key, type: 'NORMAL' }, public: false };
}

/** Data Center's word for a pull request's state. */
function prState(pr: ForgePullRequest): string {
  return pr.state === 'open' ? 'OPEN' : pr.state === 'merged' ? 'MERGED' : 'DECLINED';
}

function pullRequestJson(ctx: RouteContext, pr: ForgePullRequest): Record<string, unknown> {
  return {
    id: pr.number,
    version: 0,
    title: pr.title,
    description: '',
    state: prState(pr),
    open: pr.state === 'open',
    closed: pr.state !== 'open',
    createdDate: Date.parse(pr.createdAt),
    updatedDate: Date.parse(pr.updatedAt),
    fromRef: {
      id: `refs/heads/${pr.headBranch}`,
      displayId: pr.headBranch,
      latestCommit: pr.headSha,
      type: 'BRANCH',
      repository: dcRepositoryJson(pr.headRepo),
    },
    toRef: { id: `refs/heads/${pr.baseBranch}`, displayId: pr.baseBranch, latestCommit: '0'.repeat(40), type: 'BRANCH', repository: dcRepositoryJson(pr.repo) },
    locked: false,
    author: { user: dcUser(ctx.store, pr.author), role: 'AUTHOR', approved: false, status: 'UNAPPROVED' },
    reviewers: [],
    participants: [],
    links: { self: [{ href: `${ctx.store.origin}/projects/${pr.repo.replace('/', '/repos/')}/pull-requests/${String(pr.number)}` }] },
  };
}

/** `GET …/pull-requests`: `state` (OPEN by default, DECLINED, MERGED, ALL), `at` (a full ref), `direction` INCOMING (default) or OUTGOING; newest first. */
function listPullRequests(ctx: RouteContext): Answer {
  const state = ctx.query['state'] ?? 'OPEN';
  if (!['OPEN', 'DECLINED', 'MERGED', 'ALL'].includes(state))
    return dcErrors(400, [{ context: 'state', message: `${state} is not a valid state.`, exceptionName: null }], `state=${state}`);
  const direction = ctx.query['direction'] ?? 'INCOMING';
  if (direction !== 'INCOMING' && direction !== 'OUTGOING')
    return dcErrors(400, [{ context: 'direction', message: `${direction} is not a valid direction.`, exceptionName: null }], `direction=${direction}`);
  const at = ctx.query['at'];
  if (at !== undefined && !at.startsWith('refs/')) {
    return dcErrors(400, [{ context: 'at', message: `${at} is not a fully qualified ref.`, exceptionName: null }], `at=${at} is not refs/heads/…`);
  }
  const all = ctx.store.previews.pullRequests
    .filter(
      (pr) =>
        pr.repo.toLowerCase() === ctx.repo.toLowerCase() &&
        (state === 'ALL' || prState(pr) === state) &&
        (at === undefined || (direction === 'INCOMING' ? `refs/heads/${pr.baseBranch}` : `refs/heads/${pr.headBranch}`) === at),
    )
    .sort((a, b) => b.number - a.number);
  return paged(ctx, all, (pr) => pullRequestJson(ctx, pr));
}

/** `GET …/pull-requests/{pullRequestId}`; an unknown id is a 404 `NoSuchPullRequestException` (not unexpected). */
function getPullRequest(ctx: RouteContext): Answer {
  const id = Number(ctx.params['pullRequestId']);
  const pr = ctx.store.findPullRequest(ctx.repo, id);
  if (!pr) {
    return dcErrors(404, [
      {
        context: null,
        message: `Pull request ${String(id)} does not exist in ${ctx.repo}.`,
        exceptionName: 'com.atlassian.bitbucket.pull.NoSuchPullRequestException',
      },
    ]);
  }
  return { status: 200, body: pullRequestJson(ctx, pr) };
}

/** Data Center permissions of the common words, and what each implies. */
const DC_PERMISSIONS: Record<string, string[]> = {
  read: ['REPO_READ'],
  triage: ['REPO_READ'],
  write: ['REPO_READ', 'REPO_WRITE'],
  maintain: ['REPO_READ', 'REPO_WRITE'],
  admin: ['REPO_READ', 'REPO_WRITE', 'REPO_ADMIN'],
};

/**
 * `GET /rest/api/latest/users`: `filter` (name, display name or e-mail, anywhere, case-insensitive)
 * and one repository permission filter (`permission.1`, `.projectKey`, `.repositorySlug`): the
 * users holding it. Other permission filters are refused as unexpected (Data Center would drop a
 * filter it does not understand silently and answer everyone).
 */
function listUsers(ctx: RouteContext): Answer {
  const q = ctx.query;
  const other = Object.keys(q).filter(
    (k) => !['filter', 'start', 'limit', 'permission.1', 'permission.1.projectKey', 'permission.1.repositorySlug'].includes(k),
  );
  const permission = q['permission.1'];
  if (
    other.length > 0 ||
    permission === undefined ||
    !['REPO_READ', 'REPO_WRITE', 'REPO_ADMIN'].includes(permission) ||
    !q['permission.1.projectKey'] ||
    !q['permission.1.repositorySlug']
  ) {
    return dcErrors(
      400,
      [{ context: null, message: 'forge-api stand-in: only filter plus one repository permission filter (permission.1…) is implemented', exceptionName: null }],
      `users query ${JSON.stringify(q)} is not filter + permission.1/.projectKey/.repositorySlug`,
    );
  }
  const repo = `${q['permission.1.projectKey']}/${q['permission.1.repositorySlug']}`;
  const filter = (q['filter'] ?? '').toLowerCase();
  const users = ctx.store.previews.permissions.filter(
    (p) => p.repo.toLowerCase() === repo.toLowerCase() && (DC_PERMISSIONS[p.level] ?? []).includes(permission) && p.user.toLowerCase().includes(filter),
  );
  return paged(ctx, users, (p) => dcUser(ctx.store, p.user));
}

function buildJson(st: ForgeStatus): Record<string, unknown> {
  return { state: st.state, key: st.context, name: st.name ?? st.context, url: st.targetUrl, description: st.description, dateAdded: Date.parse(st.createdAt) };
}

/**
 * `GET /rest/build-status/latest/commits/{commitId}` (the legacy resource, deprecated since 7.14
 * but the only one that lists a commit's builds): one status per key, the last posted; `orderBy`
 * NEWEST (default), OLDEST or STATUS.
 */
function listBuildStatuses(ctx: RouteContext): Answer {
  const commitId = ctx.params['commitId'] ?? '';
  if (!isFullSha(commitId))
    return dcErrors(400, [{ context: 'commitId', message: `${commitId} is not a valid commit ID.`, exceptionName: null }], `commitId ${commitId}`);
  const latest = new Map<string, ForgeStatus>();
  for (const st of ctx.store.allStatuses()) if (st.sha === commitId.toLowerCase()) latest.set(st.context, st);
  const orderBy = ctx.query['orderBy'] ?? 'NEWEST';
  const builds = [...latest.values()].sort((a, b) => (orderBy === 'OLDEST' ? a.id - b.id : b.id - a.id));
  return paged(ctx, builds, buildJson);
}

// ---------------------------------------------------------------------------------------------
// Repository webhooks

/** Events a repository webhook can subscribe to. */
export const BITBUCKET_SERVER_HOOK_EVENTS = [
  'repo:refs_changed',
  'repo:modified',
  'repo:forked',
  'repo:comment:added',
  'repo:comment:edited',
  'repo:comment:deleted',
  'repo:secret_detected',
  'mirror:repo_synchronized',
  'pr:opened',
  'pr:from_ref_updated',
  'pr:modified',
  'pr:reviewer:updated',
  'pr:reviewer:approved',
  'pr:reviewer:unapproved',
  'pr:reviewer:needs_work',
  'pr:merged',
  'pr:declined',
  'pr:deleted',
  'pr:comment:added',
  'pr:comment:edited',
  'pr:comment:deleted',
] as const;

const HOOK_DENIED: DcError = {
  context: null,
  message: 'You are not permitted to access this resource',
  exceptionName: 'com.atlassian.bitbucket.AuthorisationException',
};

function hookJson(h: ForgeHook): Record<string, unknown> {
  return {
    id: h.id,
    name: h.settings['name'],
    createdDate: Date.parse(h.createdAt),
    updatedDate: Date.parse(h.updatedAt),
    events: [...h.events],
    // The secret is never returned.
    configuration: { ...((h.settings['configuration'] ?? {}) as Record<string, string>) },
    url: h.url,
    active: h.active,
    scopeType: 'repository',
    sslVerificationRequired: h.settings['sslVerificationRequired'],
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
    name: { type: 'string', required: isCreate, nonBlank: true },
    url: { type: 'string', required: isCreate, nonBlank: true },
    active: { type: 'boolean' },
    events: { type: 'array', required: isCreate },
    configuration: { type: 'object' },
    sslVerificationRequired: { type: 'boolean' },
  });
  if (problems === 'not-an-object') {
    return dcErrors(400, [{ context: null, message: 'Unexpected end-of-input: expected a JSON object', exceptionName: null }], 'body is not a JSON object');
  }
  if (problems.length > 0) return validationErrors(problems);
  const body = ctx.body as { url?: string; events?: unknown[]; configuration?: Record<string, unknown> };
  if (body.url !== undefined && !isHttpUrl(body.url)) {
    return dcErrors(
      400,
      [{ context: 'url', message: 'The URL must be a valid http or https URL.', exceptionName: null }],
      `url ${JSON.stringify(body.url)} is not an http(s) URL`,
    );
  }
  if (body.events !== undefined) {
    const bad = body.events.find((e) => typeof e !== 'string' || !(BITBUCKET_SERVER_HOOK_EVENTS as readonly string[]).includes(e));
    if (body.events.length === 0 || bad !== undefined) {
      return dcErrors(
        400,
        [
          {
            context: 'events',
            message: bad === undefined ? 'At least one event must be specified.' : `${text(bad)} is not a valid webhook event.`,
            exceptionName: null,
          },
        ],
        bad === undefined ? 'events is empty' : `event ${JSON.stringify(bad)} is not a Data Center webhook event`,
      );
    }
  }
  for (const [k, v] of Object.entries(body.configuration ?? {})) {
    if (typeof v !== 'string')
      return dcErrors(
        400,
        [{ context: `configuration.${k}`, message: `The configuration value for ${k} must be a string.`, exceptionName: null }],
        `configuration.${k} is not a string`,
      );
  }
  return undefined;
}

function applyHookBody(hook: ForgeHook, body: Record<string, unknown>): void {
  if (typeof body['name'] === 'string') hook.settings['name'] = body['name'];
  if (typeof body['url'] === 'string') hook.url = body['url'];
  if (typeof body['active'] === 'boolean') hook.active = body['active'];
  if (Array.isArray(body['events'])) hook.events = [...new Set(body['events'] as string[])];
  if (typeof body['sslVerificationRequired'] === 'boolean') hook.settings['sslVerificationRequired'] = body['sslVerificationRequired'];
  const configuration = body['configuration'] as Record<string, string> | undefined;
  if (configuration) {
    // The configuration is replaced as a whole: one sent without `secret` drops the secret.
    const { secret, ...rest } = configuration;
    hook.secret = secret === undefined || secret === '' ? null : secret;
    hook.settings['configuration'] = rest;
  }
}

function listHooks(ctx: RouteContext): Answer {
  const limit = Math.min(intQuery(ctx.query, 'limit', 25), 1000);
  const rawStart = ctx.query['start'];
  const start = rawStart !== undefined && /^\d+$/.test(rawStart) ? Number(rawStart) : 0;
  const all = ctx.store.hooksOf(ctx.repo);
  const values = all.slice(start, start + limit).map(hookJson);
  const isLastPage = start + limit >= all.length;
  return { status: 200, body: { size: values.length, limit, isLastPage, values, start, ...(isLastPage ? {} : { nextPageStart: start + values.length }) } };
}

function createHook(ctx: RouteContext): Answer {
  const bad = hookBodyProblems(ctx, true);
  if (bad) return bad;
  const now = ctx.store.now().toISOString();
  const hook: ForgeHook = {
    id: ctx.store.nextId('dc:hook'),
    repo: ctx.repo,
    url: '',
    active: true,
    events: [],
    secret: null,
    settings: { name: '', configuration: {}, sslVerificationRequired: true },
    createdAt: now,
    updatedAt: now,
    edits: 0,
  };
  applyHookBody(hook, ctx.body as Record<string, unknown>);
  ctx.store.hooks.push(hook);
  return { status: 201, body: hookJson(hook) };
}

function updateHook(ctx: RouteContext): Answer {
  const id = Number(ctx.params['webhookId']);
  const hook = ctx.store.findHook(ctx.repo, id);
  if (!hook) {
    return dcErrors(
      404,
      [{ context: null, message: `Webhook ${String(id)} does not exist.`, exceptionName: 'com.atlassian.bitbucket.webhook.NoSuchWebhookException' }],
      `${ctx.repo} has no webhook ${String(id)}`,
    );
  }
  const bad = hookBodyProblems(ctx, false);
  if (bad) return bad;
  applyHookBody(hook, ctx.body as Record<string, unknown>);
  ctx.store.touchHook(hook);
  return { status: 200, body: hookJson(hook) };
}

function seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook {
  const events = seed.events ?? ['repo:refs_changed'];
  const bad = events.filter((e) => !(BITBUCKET_SERVER_HOOK_EVENTS as readonly string[]).includes(e));
  if (bad.length > 0 || events.length === 0) throw new Error(`seedHook (bitbucket-server): events ${JSON.stringify(events)} are not all webhook events`);
  if (!isHttpUrl(seed.url)) throw new Error(`seedHook (bitbucket-server): ${JSON.stringify(seed.url)} is not an http(s) URL`);
  const createdAt = seed.createdAt ?? store.now().toISOString();
  return {
    id: seed.id ?? store.nextId('dc:hook'),
    repo,
    url: seed.url,
    active: seed.active ?? true,
    events: [...events],
    secret: seed.secret ?? null,
    settings: { name: 'landfall', configuration: {}, sslVerificationRequired: true, ...(seed.settings ?? {}) },
    createdAt,
    updatedAt: createdAt,
    edits: 0,
  };
}

function refuse(kind: RefusalKind, detail: string): Answer {
  switch (kind) {
    case 'unauthorized':
      return dcErrors(401, [
        {
          context: null,
          message: 'Authentication failed. Please check your credentials and try again.',
          exceptionName: 'com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException',
        },
      ]);
    case 'no-route':
      return dcErrors(404, [{ context: null, message: 'The requested resource does not exist.', exceptionName: null }]);
    case 'method-not-allowed':
      return dcErrors(405, [{ context: null, message: 'Method Not Allowed', exceptionName: null }]);
    case 'no-repo':
      return dcErrors(404, [
        { context: null, message: 'Repository does not exist.', exceptionName: 'com.atlassian.bitbucket.repository.NoSuchRepositoryException' },
      ]);
    case 'bad-json':
      return dcErrors(400, [{ context: null, message: detail, exceptionName: null }]);
    case 'media-type':
      return dcErrors(415, [{ context: null, message: 'Unsupported Media Type', exceptionName: null }]);
  }
}

function errorBody(status: number, _headers: Record<string, string>, _store: ForgeStore, path?: string): unknown {
  if ((status === 401 || status === 403) && path !== undefined && /\/webhooks(\/|$)/.test(path)) return { errors: [HOOK_DENIED] };
  const messages: Record<number, string> = {
    429: 'Too many requests. Please wait and try again.',
    500: 'An internal server error occurred.',
    503: 'Bitbucket is unavailable.',
  };
  return { errors: [{ context: null, message: messages[status] ?? `HTTP ${String(status)}`, exceptionName: null }] };
}

/** The Bitbucket Data Center stand-in's definition. */
export function bitbucketServerForge(): ForgeDefinition {
  const repo = (p: Record<string, string>): string => `${p['projectKey'] ?? ''}/${p['repositorySlug'] ?? ''}`;
  const base = '/api/latest/projects/{projectKey}/repos/{repositorySlug}';
  return {
    id: 'bitbucket-server',
    // Everything lives under /rest/api/latest, except the one legacy build-status listing.
    mount: '/rest',
    urlPath: '',
    requireJsonContentType: true,
    contextKey: (context) => context,
    authenticate: bitbucketAuthenticate,
    refuse,
    errorBody,
    // Data Center answers 401 (not 403) when an authenticated user lacks the permission.
    hookDenied: () => dcErrors(401, [HOOK_DENIED]),
    seedHook,
    routes: [
      { method: 'GET', pattern: `${base}/webhooks`, repo, handle: listHooks, hook: true },
      { method: 'POST', pattern: `${base}/webhooks`, repo, handle: createHook, hook: true },
      { method: 'PUT', pattern: `${base}/webhooks/{webhookId:int}`, repo, handle: updateHook, hook: true },
      { method: 'POST', pattern: `${base}/commits/{commitId}/builds`, repo, handle: createBuild },
      { method: 'GET', pattern: `${base}/pull-requests/{pullRequestId:int}/activities`, repo, handle: listActivities },
      { method: 'POST', pattern: `${base}/pull-requests/{pullRequestId:int}/comments`, repo, handle: createComment },
      { method: 'PUT', pattern: `${base}/pull-requests/{pullRequestId:int}/comments/{commentId:int}`, repo, handle: updateComment },
      { method: 'GET', pattern: `${base}/pull-requests`, repo, handle: listPullRequests },
      { method: 'GET', pattern: `${base}/pull-requests/{pullRequestId:int}`, repo, handle: getPullRequest },
      { method: 'GET', pattern: '/api/latest/users', repo: () => '', handle: listUsers },
      { method: 'GET', pattern: '/build-status/latest/commits/{commitId}', repo: () => '', handle: listBuildStatuses },
    ],
  };
}
