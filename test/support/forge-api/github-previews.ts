/**
 * GitHub stand-in routes the preview calls use: pull requests, a collaborator's permission, the
 * combined status and check runs of a commit, and Deployments with their statuses. Registered by
 * github.ts; see README.md.
 */
import { checkRunJson, ghError, ghTime, ghUser, repositoryId } from './github-app.js';
import {
  checkFields,
  describeProblem,
  intQuery,
  isFullSha,
  selfUrl,
  type Answer,
  type FieldProblem,
  type ForgeCheckRun,
  type ForgeDeployment,
  type ForgeDeploymentStatus,
  type ForgePullRequest,
  type ForgeStatus,
  type ForgeStore,
  type RouteContext,
} from './server.js';

const PULLS_DOCS = 'https://docs.github.com/rest/pulls/pulls';
const PERMISSION_DOCS = 'https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user';
const COMBINED_DOCS = 'https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference';
const CHECKS_DOCS = 'https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference';
const DEPLOYMENTS_DOCS = 'https://docs.github.com/rest/deployments/deployments';
const DEPLOYMENT_STATUSES_DOCS = 'https://docs.github.com/rest/deployments/statuses';

/** Deployment status states GitHub accepts. */
export const GITHUB_DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'] as const;
/** Longest deployment (status) description GitHub accepts. */
export const GITHUB_DEPLOYMENT_DESCRIPTION_MAX = 140;

/** One page of a list answer with GitHub's `Link` header (`per_page` default 30, at most 100). */
function paged<T>(ctx: RouteContext, all: readonly T[]): { slice: T[]; headers: Record<string, string> } {
  const perPage = Math.min(intQuery(ctx.query, 'per_page', 30), 100);
  const page = intQuery(ctx.query, 'page', 1);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const link = (p: number, rel: string): string => `<${selfUrl(ctx.store, ctx.path, { ...ctx.query, per_page: perPage, page: p })}>; rel="${rel}"`;
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return { slice: all.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { Link: links.join(', ') } : {} };
}

/** GitHub's answer to body problems: schema errors as "Invalid request.", the rest as "Validation Failed". */
function invalid(problems: FieldProblem[], resource: string, docs: string): Answer {
  const reason = problems.map(describeProblem).join('; ');
  const schema = problems.filter((p) => p.problem === 'missing' || p.problem === 'type' || p.problem === 'not-allowed-value');
  if (schema.length > 0) {
    const lines = schema.map((p) =>
      p.problem === 'missing'
        ? `"${p.field}" wasn't supplied.`
        : p.problem === 'not-allowed-value'
          ? `${JSON.stringify(p.value)} is not a member of [${(p.rule?.oneOf ?? []).map((v) => `"${v}"`).join(', ')}].`
          : `For '${p.field}', ${JSON.stringify(p.value)} is not a ${p.rule?.type ?? 'value'}.`,
    );
    return { ...ghError(422, `Invalid request.\n\n${lines.join('\n')}`, docs), unexpected: reason };
  }
  const errors = problems.map((p) =>
    p.problem === 'too-long'
      ? { resource, code: 'custom', field: p.field, message: `${p.field} is too long (maximum is ${String(p.rule?.maxLength)} characters)` }
      : { resource, code: 'invalid', field: p.field, message: `forge-api stand-in: ${describeProblem(p)}` },
  );
  return { ...ghError(422, 'Validation Failed', docs, { errors }), unexpected: reason };
}

function repoJson(store: ForgeStore, fullName: string, fork: boolean): Record<string, unknown> {
  const [owner = '', name = ''] = fullName.split('/');
  return { id: repositoryId(store, fullName), name, full_name: fullName, fork, private: false, owner: ghUser(store, owner) };
}

function pullJson(ctx: RouteContext, pr: ForgePullRequest, single: boolean): Record<string, unknown> {
  const base = `${ctx.store.origin}/api/v3/repos/${pr.repo}/pulls/${String(pr.number)}`;
  const headOwner = pr.headRepo.split('/')[0] ?? '';
  return {
    url: base,
    id: 900_000 + pr.number,
    node_id: `PR_kwDO${String(pr.number)}`,
    html_url: `${ctx.store.origin}/${pr.repo}/pull/${String(pr.number)}`,
    number: pr.number,
    state: pr.state === 'open' ? 'open' : 'closed',
    locked: false,
    title: pr.title,
    user: ghUser(ctx.store, pr.author),
    body: null,
    labels: pr.labels.map((name, i) => ({ id: 1000 + i, node_id: `LA_${String(i)}`, name, color: 'ededed', default: false, description: null })),
    created_at: ghTime(pr.createdAt),
    updated_at: ghTime(pr.updatedAt),
    closed_at: pr.state === 'open' ? null : ghTime(pr.updatedAt),
    merged_at: pr.state === 'merged' ? ghTime(pr.updatedAt) : null,
    merge_commit_sha: null,
    draft: false,
    head: {
      label: `${headOwner}:${pr.headBranch}`,
      ref: pr.headBranch,
      sha: pr.headSha,
      user: ghUser(ctx.store, headOwner),
      repo: repoJson(ctx.store, pr.headRepo, pr.fork),
    },
    base: { label: `${pr.repo.split('/')[0] ?? ''}:${pr.baseBranch}`, ref: pr.baseBranch, sha: '0'.repeat(40), repo: repoJson(ctx.store, pr.repo, false) },
    author_association: 'CONTRIBUTOR',
    // Only the single pull request carries `merged` (and the mergeability fields).
    ...(single ? { merged: pr.state === 'merged', mergeable: null, comments: 0, commits: 1 } : {}),
  };
}

/** `GET /repos/{owner}/{repo}/pulls`: `state` open (default), closed or all; `base`; newest first. */
export function listPulls(ctx: RouteContext): Answer {
  const state = ctx.query['state'] ?? 'open';
  if (!['open', 'closed', 'all'].includes(state)) {
    return {
      ...ghError(422, 'Validation Failed', PULLS_DOCS, { errors: [{ resource: 'Issue', field: 'state', code: 'invalid' }] }),
      unexpected: `state=${state}`,
    };
  }
  const base = ctx.query['base'];
  const all = ctx.store.previews.pullRequests
    .filter(
      (pr) =>
        pr.repo.toLowerCase() === ctx.repo.toLowerCase() &&
        (state === 'all' || (state === 'open') === (pr.state === 'open')) &&
        (base === undefined || pr.baseBranch === base),
    )
    .sort((a, b) => b.number - a.number);
  const { slice, headers } = paged(ctx, all);
  return { status: 200, headers, body: slice.map((pr) => pullJson(ctx, pr, false)) };
}

/** `GET /repos/{owner}/{repo}/pulls/{pull_number}`; an unknown number is a 404 (a fair question, not unexpected). */
export function getPull(ctx: RouteContext): Answer {
  const pr = ctx.store.findPullRequest(ctx.repo, Number(ctx.params['number']));
  if (!pr) return ghError(404, 'Not Found', `${PULLS_DOCS}#get-a-pull-request`);
  return { status: 200, body: pullJson(ctx, pr, true) };
}

const ROLE: Record<string, { permission: string; role: string }> = {
  none: { permission: 'none', role: 'none' },
  read: { permission: 'read', role: 'read' },
  triage: { permission: 'read', role: 'triage' },
  write: { permission: 'write', role: 'write' },
  maintain: { permission: 'write', role: 'maintain' },
  admin: { permission: 'admin', role: 'admin' },
};

/**
 * `GET /repos/{owner}/{repo}/collaborators/{username}/permission`: a user never seeded does not
 * exist (404, not unexpected); one seeded without rights on this repository answers `none`.
 */
export function getPermission(ctx: RouteContext): Answer {
  const username = ctx.params['username'] ?? '';
  if (!ctx.store.userExists(username)) return ghError(404, 'Not Found', PERMISSION_DOCS);
  const level = ctx.store.permissionOf(ctx.repo, username) ?? 'none';
  const { permission, role } = ROLE[level]!;
  const login = ctx.store.previews.permissions.find((p) => p.user.toLowerCase() === username.toLowerCase())?.user ?? username;
  return {
    status: 200,
    body: {
      permission,
      role_name: role,
      user: {
        ...ghUser(ctx.store, login),
        permissions: {
          admin: level === 'admin',
          maintain: level === 'admin' || level === 'maintain',
          push: ['admin', 'maintain', 'write'].includes(level),
          triage: level !== 'none' && level !== 'read',
          pull: level !== 'none',
        },
        role_name: role,
      },
    },
  };
}

function refOr422(ctx: RouteContext, docs: string): string | Answer {
  const ref = ctx.params['ref'] ?? '';
  // Real GitHub resolves any ref; the stand-in wants the sha Landfall knows.
  if (!isFullSha(ref)) return { ...ghError(422, `No commit found for SHA: ${ref}`, docs), unexpected: `ref ${JSON.stringify(ref)} is not a full 40-hex sha` };
  return ref.toLowerCase();
}

function statusJson(ctx: RouteContext, st: ForgeStatus): Record<string, unknown> {
  return {
    url: `${ctx.store.origin}/api/v3/repos/${ctx.repo}/statuses/${st.sha}`,
    avatar_url: null,
    id: st.id,
    node_id: `SC_kwDO${String(st.id)}`,
    state: st.state,
    description: st.description,
    target_url: st.targetUrl,
    context: st.context,
    created_at: ghTime(st.createdAt),
    updated_at: ghTime(st.createdAt),
  };
}

/** `GET /repos/{owner}/{repo}/commits/{ref}/status`: the latest status per context (contexts compare case-insensitively), paged. */
export function combinedStatus(ctx: RouteContext): Answer {
  const sha = refOr422(ctx, COMBINED_DOCS);
  if (typeof sha !== 'string') return sha;
  const latest = new Map<string, ForgeStatus>();
  for (const st of ctx.store.allStatuses()) if (st.sha === sha) latest.set(st.context.toLowerCase(), st);
  const statuses = [...latest.values()].sort((a, b) => b.id - a.id);
  const states = statuses.map((st) => st.state);
  const state = states.some((s) => s === 'failure' || s === 'error')
    ? 'failure'
    : states.length === 0 || states.some((s) => s === 'pending')
      ? 'pending'
      : 'success';
  const { slice, headers } = paged(ctx, statuses);
  return {
    status: 200,
    headers,
    body: {
      state,
      statuses: slice.map((st) => statusJson(ctx, st)),
      sha,
      total_count: statuses.length,
      repository: repoJson(ctx.store, ctx.repo, false),
      commit_url: `${ctx.store.origin}/api/v3/repos/${ctx.repo}/commits/${sha}`,
      url: `${ctx.store.origin}/api/v3/repos/${ctx.repo}/commits/${sha}/status`,
    },
  };
}

/** `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`: `filter` latest (default: the newest run per name) or all; `check_name`; paged. */
export function listCheckRunsForRef(ctx: RouteContext): Answer {
  const sha = refOr422(ctx, CHECKS_DOCS);
  if (typeof sha !== 'string') return sha;
  const filter = ctx.query['filter'] ?? 'latest';
  if (filter !== 'latest' && filter !== 'all')
    return { ...ghError(422, 'Invalid request.\n\nfilter is not latest or all.', CHECKS_DOCS), unexpected: `filter=${filter}` };
  const name = ctx.query['check_name'];
  let runs = ctx.store.checkRuns.filter((r) => r.headSha === sha && r.repo.toLowerCase() === ctx.repo.toLowerCase() && (name === undefined || r.name === name));
  if (filter === 'latest') {
    const newest = new Map<string, ForgeCheckRun>();
    for (const r of runs) if ((newest.get(r.name)?.id ?? 0) < r.id) newest.set(r.name, r);
    runs = [...newest.values()];
  }
  runs = [...runs].sort((a, b) => b.id - a.id);
  const { slice, headers } = paged(ctx, runs);
  return { status: 200, headers, body: { total_count: runs.length, check_runs: slice.map((r) => checkRunJson(ctx.store, r)) } };
}

function deploymentJson(ctx: RouteContext, d: ForgeDeployment): Record<string, unknown> {
  const url = `${ctx.store.origin}/api/v3/repos/${d.repo}/deployments/${String(d.id)}`;
  return {
    url,
    id: d.id,
    node_id: `DE_kwDO${String(d.id)}`,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: ghUser(ctx.store, ctx.store.login),
    created_at: ghTime(d.createdAt),
    updated_at: ghTime(d.statuses.at(-1)?.createdAt ?? d.createdAt),
    statuses_url: `${url}/statuses`,
    repository_url: `${ctx.store.origin}/api/v3/repos/${d.repo}`,
    transient_environment: d.transient,
    production_environment: d.production,
  };
}

function deploymentStatusJson(ctx: RouteContext, d: ForgeDeployment, st: ForgeDeploymentStatus): Record<string, unknown> {
  const deploymentUrl = `${ctx.store.origin}/api/v3/repos/${d.repo}/deployments/${String(d.id)}`;
  return {
    url: `${deploymentUrl}/statuses/${String(st.id)}`,
    id: st.id,
    node_id: `DES_kwDO${String(st.id)}`,
    state: st.state,
    creator: ghUser(ctx.store, ctx.store.login),
    description: st.description,
    environment: d.environment,
    target_url: st.logUrl,
    log_url: st.logUrl,
    environment_url: st.environmentUrl,
    created_at: ghTime(st.createdAt),
    updated_at: ghTime(st.createdAt),
    deployment_url: deploymentUrl,
    repository_url: `${ctx.store.origin}/api/v3/repos/${d.repo}`,
  };
}

/**
 * `POST /repos/{owner}/{repo}/deployments`. Stricter than GitHub: `ref` must be a full sha, and
 * `auto_merge: false` and `required_contexts` must be sent (GitHub's defaults merge the default
 * branch into the ref and require every status to be green, which a preview must not depend on).
 */
export function createDeployment(ctx: RouteContext): Answer {
  const docs = `${DEPLOYMENTS_DOCS}#create-a-deployment`;
  const problems = checkFields(ctx.body, {
    ref: { type: 'string', required: true },
    task: { type: 'string' },
    auto_merge: { type: 'boolean' },
    required_contexts: { type: 'array' },
    payload: { type: 'object' },
    environment: { type: 'string' },
    description: { type: 'string', nullable: true, maxLength: GITHUB_DEPLOYMENT_DESCRIPTION_MAX },
    transient_environment: { type: 'boolean' },
    production_environment: { type: 'boolean' },
  });
  if (problems === 'not-an-object') return { ...ghError(400, 'Problems parsing JSON', docs), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'Deployment', docs);
  const body = ctx.body as {
    ref: string;
    task?: string;
    auto_merge?: boolean;
    required_contexts?: string[];
    environment?: string;
    description?: string | null;
    transient_environment?: boolean;
    production_environment?: boolean;
  };
  if (!isFullSha(body.ref)) return { ...ghError(422, `No ref found for: ${body.ref}`, docs), unexpected: `ref ${JSON.stringify(body.ref)} is not a full sha` };
  if (body.auto_merge !== false)
    return {
      ...ghError(409, 'Conflict merging the default branch into the ref.', docs),
      unexpected: 'auto_merge was not false: GitHub would merge the default branch into the ref',
    };
  if (body.required_contexts === undefined)
    return {
      ...ghError(409, `Conflict: Commit status checks failed for ${body.ref}.`, docs),
      unexpected: 'required_contexts was not sent: GitHub would require every status of the commit to be green',
    };
  const environment = body.environment ?? 'production';
  const deployment: ForgeDeployment = {
    id: ctx.store.nextId('github:deployment', 30_000_001),
    repo: ctx.repo,
    sha: body.ref.toLowerCase(),
    ref: body.ref,
    environment,
    task: body.task ?? 'deploy',
    description: body.description ?? '',
    transient: body.transient_environment ?? false,
    production: body.production_environment ?? environment === 'production',
    createdAt: ctx.store.now().toISOString(),
    statuses: [],
  };
  ctx.store.previews.deployments.push(deployment);
  return { status: 201, body: deploymentJson(ctx, deployment) };
}

/** `GET /repos/{owner}/{repo}/deployments`: `sha`, `ref`, `task`, `environment` filters; newest first; paged. */
export function listDeployments(ctx: RouteContext): Answer {
  const { sha, ref, task, environment } = ctx.query;
  const all = ctx.store.previews.deployments
    .filter(
      (d) =>
        d.repo.toLowerCase() === ctx.repo.toLowerCase() &&
        (sha === undefined || d.sha === sha.toLowerCase()) &&
        (ref === undefined || d.ref === ref) &&
        (task === undefined || d.task === task) &&
        (environment === undefined || d.environment === environment),
    )
    .sort((a, b) => b.id - a.id);
  const { slice, headers } = paged(ctx, all);
  return { status: 200, headers, body: slice.map((d) => deploymentJson(ctx, d)) };
}

function deploymentOr404(ctx: RouteContext, docs: string): ForgeDeployment | Answer {
  const id = Number(ctx.params['deployment_id']);
  const d = ctx.store.previews.deployments.find((x) => x.id === id && x.repo.toLowerCase() === ctx.repo.toLowerCase());
  if (!d) return { ...ghError(404, 'Not Found', docs), unexpected: `${ctx.repo} never had deployment ${String(id)}` };
  return d;
}

/**
 * `POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses`. With `auto_inactive` (default
 * true) a `success` adds `inactive` to the prior deployments of the same environment that are
 * neither transient nor production and whose last state was success, as GitHub documents it.
 */
export function createDeploymentStatus(ctx: RouteContext): Answer {
  const docs = `${DEPLOYMENT_STATUSES_DOCS}#create-a-deployment-status`;
  const d = deploymentOr404(ctx, docs);
  if (!('repo' in d)) return d;
  const problems = checkFields(ctx.body, {
    state: { type: 'string', required: true, oneOf: GITHUB_DEPLOYMENT_STATES },
    target_url: { type: 'string' },
    log_url: { type: 'string' },
    description: { type: 'string', maxLength: GITHUB_DEPLOYMENT_DESCRIPTION_MAX },
    environment: { type: 'string' },
    environment_url: { type: 'string' },
    auto_inactive: { type: 'boolean' },
  });
  if (problems === 'not-an-object') return { ...ghError(400, 'Problems parsing JSON', docs), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalid(problems, 'DeploymentStatus', docs);
  const body = ctx.body as {
    state: string;
    target_url?: string;
    log_url?: string;
    description?: string;
    environment?: string;
    environment_url?: string;
    auto_inactive?: boolean;
  };
  const at = ctx.store.now().toISOString();
  const previous = d.statuses.at(-1);
  const status: ForgeDeploymentStatus = {
    id: ctx.store.nextId('github:deployment-status', 40_000_001),
    state: body.state,
    // Not sent: the previous status's value stays (GitHub: "If not defined, the environment of the previous status …").
    environmentUrl: body.environment_url ?? previous?.environmentUrl ?? '',
    logUrl: body.log_url ?? body.target_url ?? '',
    description: body.description ?? '',
    auto: false,
    createdAt: at,
  };
  if (body.environment !== undefined) d.environment = body.environment;
  d.statuses.push(status);
  if (body.state === 'success' && body.auto_inactive !== false) {
    for (const prior of ctx.store.previews.deployments) {
      if (prior.id >= d.id || prior.repo.toLowerCase() !== d.repo.toLowerCase() || prior.environment !== d.environment) continue;
      if (prior.transient || prior.production || prior.statuses.at(-1)?.state !== 'success') continue;
      prior.statuses.push({
        id: ctx.store.nextId('github:deployment-status', 40_000_001),
        state: 'inactive',
        environmentUrl: prior.statuses.at(-1)?.environmentUrl ?? '',
        logUrl: '',
        description: '',
        auto: true,
        createdAt: at,
      });
    }
  }
  return { status: 201, headers: { Location: `${ctx.store.origin}${ctx.path}/${String(status.id)}` }, body: deploymentStatusJson(ctx, d, status) };
}

/** `GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses`: newest first; paged. */
export function listDeploymentStatuses(ctx: RouteContext): Answer {
  const d = deploymentOr404(ctx, `${DEPLOYMENT_STATUSES_DOCS}#list-deployment-statuses`);
  if (!('repo' in d)) return d;
  const { slice, headers } = paged(ctx, [...d.statuses].reverse());
  return { status: 200, headers, body: slice.map((st) => deploymentStatusJson(ctx, d, st)) };
}
