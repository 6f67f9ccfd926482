/**
 * GitLab REST API v4 stand-in: commit statuses (with GitLab's external-job state machine) and
 * merge-request notes, as `@gitbeaker/rest` calls them. See README.md.
 */
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type ForgeDefinition,
  type ForgeStore,
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
    id: username === store.login ? 1 : 2,
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
    system: false,
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
    return { status: 404, body: { message: '404 Project Not Found' }, unexpected: `project id ${JSON.stringify(id)} is neither a number nor a full namespace/project path` };
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
    if (p.problem === 'unknown') return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
  }
  const tooLong = problems.filter((p) => p.problem === 'too-long');
  const body = ctx.body as { state: string; name?: string; context?: string; ref?: string; target_url?: string; description?: string; coverage?: number; pipeline_id?: number };
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
    return { status: 400, body: { message: `Cannot transition status via :${rule.event} from :${from} (Reason(s): Status cannot transition via "${rule.event}")` } };
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
    if (p.problem === 'unknown') return grapeError(`forge-api stand-in: ${p.field} is not a parameter of this endpoint (GitLab would ignore it)`, describeProblem(p));
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
    routes: [
      { method: 'POST', pattern: '/projects/{id}/statuses/{sha}', repo, handle: createStatus },
      { method: 'GET', pattern: '/projects/{id}/merge_requests/{iid:int}/notes', repo, handle: listNotes },
      { method: 'POST', pattern: '/projects/{id}/merge_requests/{iid:int}/notes', repo, handle: createNote },
      { method: 'PUT', pattern: '/projects/{id}/merge_requests/{iid:int}/notes/{note_id:int}', repo, handle: updateNote },
    ],
  };
}
