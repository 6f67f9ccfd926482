/**
 * The GitHub stand-in's GitHub App side: RS256 JWT verification (node:crypto) for the App routes,
 * installation access tokens, the per-route permission check for those tokens, and the checks API
 * (check runs), which only installation tokens may use. See README.md ("GitHub App").
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import {
  checkFields,
  describeProblem,
  isFullSha,
  isObject,
  type Answer,
  type AuthContext,
  type AuthFailure,
  type FieldProblem,
  type ForgeApiOptions,
  type ForgeCheckRun,
  type ForgeStore,
  type GitHubAppOptions,
  type IssuedInstallationToken,
  type RouteContext,
} from './server.js';

const DOCS = 'https://docs.github.com/rest';
const INSTALLATION_DOCS = 'https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app';
const ACCESS_TOKEN_DOCS = 'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app';
const CREATE_CHECK_DOCS = 'https://docs.github.com/rest/checks/runs#create-a-check-run';
const UPDATE_CHECK_DOCS = 'https://docs.github.com/rest/checks/runs#update-a-check-run';

/** Permissions every installation has unless `app.permissions` says otherwise. */
export const GITHUB_APP_DEFAULT_PERMISSIONS: Readonly<Record<string, 'read' | 'write'>> = {
  checks: 'write',
  statuses: 'write',
  issues: 'write',
  pull_requests: 'write',
  repository_hooks: 'write',
  deployments: 'write',
  contents: 'read',
  metadata: 'read',
};
/** Installation tokens live this long (GitHub: one hour). */
export const GITHUB_INSTALLATION_TOKEN_TTL_MS = 60 * 60 * 1000;
/** Longest JWT lifetime GitHub accepts (`exp - iat`), seconds. */
export const GITHUB_JWT_MAX_LIFETIME_S = 600;
/** How far in the future `iat` may be (clock drift), seconds. */
export const GITHUB_JWT_IAT_LEEWAY_S = 60;
/** Longest check run `output.summary` / `output.text`. */
export const GITHUB_CHECK_OUTPUT_MAX = 65535;
/** Most annotations per check run request. */
export const GITHUB_CHECK_ANNOTATIONS_MAX = 50;
/** Check run statuses an App may set, and the conclusions. */
export const GITHUB_CHECK_STATUSES = ['queued', 'in_progress', 'completed'] as const;
export const GITHUB_CHECK_CONCLUSIONS = ['action_required', 'cancelled', 'failure', 'neutral', 'success', 'skipped', 'stale', 'timed_out'] as const;

/** GitHub's message for a JWT it cannot decode or whose signature does not verify. */
export const JWT_UNDECODABLE = 'A JSON web token could not be decoded';
const JWT_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const JWT_EXP = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const JWT_ISS = "'Issuer' claim ('iss') must be an Integer";

function error(status: number, message: string, documentationUrl = DOCS, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { message, ...extra, documentation_url: documentationUrl, status: String(status) } };
}

/** GitHub's error body (`{message, documentation_url, status}`) with the status code. */
export function ghError(status: number, message: string, documentationUrl = DOCS, extra: Record<string, unknown> = {}): Answer {
  return error(status, message, documentationUrl, extra);
}

/** A user as GitHub shows one (`user`, `creator`); ids are stable per login (1: the token's own). */
export function ghUser(store: ForgeStore, login: string): Record<string, unknown> {
  const id = store.userId(login);
  return {
    login,
    id,
    node_id: `U_kgDO${id.toString(36).padStart(6, 'A')}`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
    url: `${store.origin}/api/v3/users/${login}`,
    html_url: `${store.origin}/${login}`,
  };
}

/** GitHub timestamps: ISO-8601 without milliseconds. */
export function ghTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

function app(options: ForgeApiOptions): GitHubAppOptions | undefined {
  return options.app;
}

function permissionsOf(a: GitHubAppOptions): Record<string, 'read' | 'write'> {
  return { ...(a.permissions ?? GITHUB_APP_DEFAULT_PERMISSIONS) };
}

/** The installation of a repository (case-insensitive), if any. */
export function installationOf(a: GitHubAppOptions, repo: string): number | undefined {
  const entry = Object.entries(a.installations).find(([r]) => r.toLowerCase() === repo.toLowerCase());
  return entry?.[1];
}

function reposOf(a: GitHubAppOptions, installationId: number): string[] {
  return Object.entries(a.installations)
    .filter(([, id]) => id === installationId)
    .map(([r]) => r);
}

/** A stable numeric id per repository (GitHub's `repository_id`). */
export function repositoryId(store: ForgeStore, repo: string): number {
  let ids = store.scratch.get('github:repo-ids') as Map<string, number> | undefined;
  if (!ids) {
    ids = new Map();
    store.scratch.set('github:repo-ids', ids);
  }
  const key = repo.toLowerCase();
  let id = ids.get(key);
  if (id === undefined) {
    id = 700_000_001 + ids.size;
    ids.set(key, id);
  }
  return id;
}

const keyCache = new WeakMap<GitHubAppOptions, KeyObject>();
function publicKey(a: GitHubAppOptions): KeyObject {
  let key = keyCache.get(a);
  if (!key) {
    key = createPublicKey(a.publicKey);
    keyCache.set(a, key);
  }
  return key;
}

interface JwtRefusal {
  message: string;
  reason: string;
  /** Clock skew: clients (e.g. @octokit/auth-app) retry with the `Date` header's time; not unexpected. */
  skew?: boolean;
}

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Verifies a GitHub App JWT for real: RS256 signature with the App's public key, then iss, iat and exp. */
export function checkJwt(jwt: string, a: GitHubAppOptions, nowMs: number): JwtRefusal | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { message: JWT_UNDECODABLE, reason: `the bearer credential is not a JWT (${String(parts.length)} dot-separated parts)` };
  const [h, p, sig] = parts as [string, string, string];
  const header = decodeSegment(h);
  const payload = decodeSegment(p);
  if (!isObject(header) || !isObject(payload)) return { message: JWT_UNDECODABLE, reason: 'the JWT header or payload is not base64url JSON' };
  if (header['alg'] !== 'RS256') return { message: JWT_UNDECODABLE, reason: `JWT alg ${JSON.stringify(header['alg'])} is not RS256` };
  const iss = payload['iss'];
  const issNumber = typeof iss === 'number' ? iss : typeof iss === 'string' && /^\d+$/.test(iss) ? Number(iss) : undefined;
  if (issNumber === undefined) return { message: JWT_ISS, reason: `JWT iss ${JSON.stringify(iss)} is not an App id` };
  if (issNumber !== a.appId) return { message: 'Integration not found', reason: `JWT iss ${String(issNumber)} is not the App id ${String(a.appId)}` };
  if (!/^[A-Za-z0-9_-]+$/.test(sig) || !verify('sha256', Buffer.from(`${h}.${p}`), publicKey(a), Buffer.from(sig, 'base64url'))) {
    return { message: JWT_UNDECODABLE, reason: "the JWT signature does not verify with the App's public key (signed with another key?)" };
  }
  const now = Math.floor(nowMs / 1000);
  const iat = payload['iat'];
  const exp = payload['exp'];
  if (typeof iat !== 'number' || !Number.isInteger(iat)) return { message: JWT_IAT, reason: `JWT iat ${JSON.stringify(iat)} is not an integer` };
  if (iat > now + GITHUB_JWT_IAT_LEEWAY_S) {
    return { message: JWT_IAT, reason: `JWT iat is ${String(iat - now)} s in the future (more than ${String(GITHUB_JWT_IAT_LEEWAY_S)} s)`, skew: true };
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return { message: JWT_EXP, reason: `JWT exp ${JSON.stringify(exp)} is not a number` };
  if (exp - iat > GITHUB_JWT_MAX_LIFETIME_S) {
    return { message: JWT_EXP_TOO_FAR, reason: `JWT lives ${String(exp - iat)} s (exp - iat > ${String(GITHUB_JWT_MAX_LIFETIME_S)})` };
  }
  if (exp <= now) return { message: JWT_EXP, reason: `JWT expired ${String(now - exp)} s ago`, skew: true };
  return undefined;
}

/** `authenticate` of the JWT-only App routes. */
export function jwtAuthenticate(headers: Record<string, string>, options: ForgeApiOptions): AuthFailure | undefined {
  const a = app(options);
  if (!a) {
    const reason = 'a GitHub App route, but startForgeApi was given no `app` option';
    return { missing: false, reason, answer: error(404, 'Not Found') };
  }
  const header = headers['authorization'];
  if (header === undefined) return { missing: true, reason: 'no Authorization header (a GitHub App JWT is required)', answer: error(401, JWT_UNDECODABLE) };
  const m = /^bearer\s+(\S+)$/i.exec(header.trim());
  if (!m) return { missing: false, reason: `App routes need "Bearer <JWT>", got ${JSON.stringify(header.split(' ')[0])}`, answer: error(401, JWT_UNDECODABLE) };
  return undefined;
}

/** Second step of the App routes' auth (needs the clock): the JWT itself. */
export function jwtCheck(headers: Record<string, string>, options: ForgeApiOptions, ctx: AuthContext): AuthFailure | undefined {
  const first = jwtAuthenticate(headers, options);
  if (first) return first;
  const a = app(options)!;
  const jwt = /^bearer\s+(\S+)$/i.exec(headers['authorization']!.trim())![1]!;
  const refusal = checkJwt(jwt, a, ctx.store.now().getTime());
  if (!refusal) return undefined;
  return { missing: false, reason: refusal.reason, answer: error(401, refusal.message), ...(refusal.skew === true ? { expected: true } : {}) };
}

/** Route → permission an installation token needs (read for GET, write otherwise); several: any of them. */
const ROUTE_PERMISSIONS: Record<string, string[]> = {
  'POST /repos/{owner}/{repo}/statuses/{sha}': ['statuses'],
  'GET /repos/{owner}/{repo}/issues/{number:int}/comments': ['issues', 'pull_requests'],
  'POST /repos/{owner}/{repo}/issues/{number:int}/comments': ['issues', 'pull_requests'],
  'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id:int}': ['issues', 'pull_requests'],
  'GET /repos/{owner}/{repo}/hooks': ['repository_hooks'],
  'POST /repos/{owner}/{repo}/hooks': ['repository_hooks'],
  'PATCH /repos/{owner}/{repo}/hooks/{hook_id:int}': ['repository_hooks'],
  'GET /repos/{owner}/{repo}/hooks/{hook_id:int}/deliveries': ['repository_hooks'],
  'POST /repos/{owner}/{repo}/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts': ['repository_hooks'],
  'POST /repos/{owner}/{repo}/check-runs': ['checks'],
  'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id:int}': ['checks'],
  'GET /repos/{owner}/{repo}/pulls': ['pull_requests'],
  'GET /repos/{owner}/{repo}/pulls/{number:int}': ['pull_requests'],
  'GET /repos/{owner}/{repo}/collaborators/{username}/permission': ['metadata'],
  'GET /repos/{owner}/{repo}/commits/{ref}/status': ['statuses'],
  'GET /repos/{owner}/{repo}/commits/{ref}/check-runs': ['checks'],
  'GET /repos/{owner}/{repo}/deployments': ['deployments'],
  'POST /repos/{owner}/{repo}/deployments': ['deployments'],
  'GET /repos/{owner}/{repo}/deployments/{deployment_id:int}/statuses': ['deployments'],
  'POST /repos/{owner}/{repo}/deployments/{deployment_id:int}/statuses': ['deployments'],
};

function tokenFromHeader(headers: Record<string, string>): string | undefined {
  const header = headers['authorization'];
  if (header === undefined) return undefined;
  return /^(token|bearer)\s+(.+)$/i.exec(header.trim())?.[2];
}

/** The installation token a request carries, if it carries one this server issued. */
export function installationTokenOf(store: ForgeStore, headers: Record<string, string>): IssuedInstallationToken | undefined {
  const value = tokenFromHeader(headers);
  return value === undefined ? undefined : store.installationTokens.find((t) => t.token === value);
}

/**
 * Checks an installation token on an ordinary route: unexpired, issued for the repository's
 * installation (and repository list), holding the route's permission. Undefined when fine.
 */
export function checkInstallationToken(t: IssuedInstallationToken, options: ForgeApiOptions, ctx: AuthContext): AuthFailure | undefined {
  const now = ctx.store.now().getTime();
  if (Date.parse(t.expiresAt) <= now) {
    return { missing: false, reason: `installation token of installation ${String(t.installationId)} expired at ${t.expiresAt}` };
  }
  const a = options.app;
  const covers = t.repositories
    ? t.repositories.some((r) => r.toLowerCase() === ctx.repo.toLowerCase())
    : a !== undefined && installationOf(a, ctx.repo) === t.installationId;
  if (!covers) {
    return {
      missing: false,
      reason: `the installation token (installation ${String(t.installationId)}) cannot see ${ctx.repo}`,
      answer: error(404, 'Not Found'),
    };
  }
  const key = `${ctx.route.method} ${ctx.route.pattern}`;
  const needed = ROUTE_PERMISSIONS[key];
  if (needed) {
    const level = ctx.route.method === 'GET' ? 'read' : 'write';
    const ok = needed.some((p) => t.permissions[p] === 'write' || (level === 'read' && t.permissions[p] === 'read'));
    if (!ok) {
      return {
        missing: false,
        reason: `the installation token lacks ${needed.map((p) => `${p}:${level}`).join(' or ')} for ${key}`,
        answer: error(403, 'Resource not accessible by integration'),
      };
    }
  }
  return undefined;
}

function installationJson(store: ForgeStore, a: GitHubAppOptions, id: number): Record<string, unknown> {
  const repos = reposOf(a, id);
  const login = (repos[0] ?? 'unknown/unknown').split('/')[0]!;
  const at = ghTime(new Date(Date.parse('2026-01-01T00:00:00Z')).toISOString());
  return {
    id,
    client_id: `Iv1.${String(a.appId).padStart(16, '0')}`,
    account: {
      login,
      id: 3_000_000 + id,
      node_id: `O_kgDO${String(id)}`,
      type: 'Organization',
      site_admin: false,
      url: `${store.origin}/api/v3/users/${login}`,
    },
    repository_selection: 'selected',
    access_tokens_url: `${store.origin}/api/v3/app/installations/${String(id)}/access_tokens`,
    repositories_url: `${store.origin}/api/v3/installation/repositories`,
    html_url: `${store.origin}/organizations/${login}/settings/installations/${String(id)}`,
    app_id: a.appId,
    app_slug: a.slug ?? 'landfall',
    target_id: 3_000_000 + id,
    target_type: 'Organization',
    permissions: permissionsOf(a),
    events: ['push', 'pull_request'],
    created_at: at,
    updated_at: at,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

/** `GET /repos/{owner}/{repo}/installation` (JWT). */
export function getRepoInstallation(ctx: RouteContext): Answer {
  const a = ctx.store.options.app!;
  const id = installationOf(a, ctx.repo);
  // Asking whether the App is installed is a legitimate question: a 404 here is not unexpected.
  if (id === undefined) return error(404, 'Not Found', INSTALLATION_DOCS);
  return { status: 200, body: installationJson(ctx.store, a, id) };
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function newToken(): string {
  const bytes = randomBytes(36);
  let out = 'ghs_';
  for (const b of bytes) out += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
  return out;
}

/** `POST /app/installations/{installation_id}/access_tokens` (JWT) → 201 with a one-hour `ghs_` token. */
export function createAccessToken(ctx: RouteContext): Answer {
  const a = ctx.store.options.app!;
  const installationId = Number(ctx.params['installation_id']);
  const repos = reposOf(a, installationId);
  if (repos.length === 0) {
    return {
      ...error(404, 'Not Found', ACCESS_TOKEN_DOCS),
      unexpected: `installation ${String(installationId)} does not exist (app.installations has ${Object.values(a.installations).join(', ') || 'none'})`,
    };
  }
  const body = ctx.body ?? {};
  const problems = checkFields(body, {
    repositories: { type: 'array' },
    repository_ids: { type: 'array' },
    permissions: { type: 'object' },
  });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', ACCESS_TOKEN_DOCS), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return { ...error(422, 'Invalid request.', ACCESS_TOKEN_DOCS), unexpected: problems.map(describeProblem).join('; ') };
  const req = body as { repositories?: unknown[]; repository_ids?: unknown[]; permissions?: Record<string, unknown> };
  if (req.repository_ids !== undefined) {
    return {
      ...error(422, 'forge-api stand-in: repository_ids is not implemented; ask by name (repositories)', ACCESS_TOKEN_DOCS),
      unexpected: 'repository_ids is not implemented by the stand-in',
    };
  }
  let limited: string[] | null = null;
  if (req.repositories !== undefined) {
    limited = [];
    for (const name of req.repositories) {
      const full = typeof name === 'string' ? repos.find((r) => r.split('/')[1]?.toLowerCase() === name.toLowerCase()) : undefined;
      if (full === undefined) {
        return {
          ...error(422, 'There is at least one repository that does not exist or is not accessible to the parent installation.', ACCESS_TOKEN_DOCS),
          unexpected: `repository ${JSON.stringify(name)} is not in installation ${String(installationId)} (${repos.join(', ')}); names are given without the owner`,
        };
      }
      limited.push(full);
    }
  }
  const granted = permissionsOf(a);
  let permissions = granted;
  if (req.permissions !== undefined) {
    permissions = {};
    for (const [name, level] of Object.entries(req.permissions)) {
      const has = granted[name];
      if ((level !== 'read' && level !== 'write') || has === undefined || (level === 'write' && has !== 'write')) {
        return {
          ...error(422, 'The permissions requested are not granted to this installation.', ACCESS_TOKEN_DOCS),
          unexpected: `permission ${name}:${String(level)} is not granted (installation has ${JSON.stringify(granted)})`,
        };
      }
      permissions[name] = level;
    }
  }
  const now = ctx.store.now();
  const issued: IssuedInstallationToken = {
    token: newToken(),
    installationId,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + GITHUB_INSTALLATION_TOKEN_TTL_MS).toISOString(),
    repositories: limited,
    permissions,
  };
  ctx.store.installationTokens.push(issued);
  const answer: Record<string, unknown> = {
    token: issued.token,
    expires_at: ghTime(issued.expiresAt),
    permissions: issued.permissions,
    repository_selection: 'selected',
  };
  if (limited) {
    answer['repositories'] = limited.map((full) => ({
      id: repositoryId(ctx.store, full),
      node_id: `R_kgDO${String(repositoryId(ctx.store, full))}`,
      name: full.split('/')[1],
      full_name: full,
      private: true,
      owner: { login: full.split('/')[0] },
    }));
  }
  return { status: 201, body: answer };
}

// ---------------------------------------------------------------------------------------------
// Check runs

/** A check run as GitHub answers it. */
export function checkRunJson(store: ForgeStore, run: ForgeCheckRun): Record<string, unknown> {
  const a = store.options.app;
  const url = `${store.origin}/api/v3/repos/${run.repo}/check-runs/${String(run.id)}`;
  return {
    id: run.id,
    head_sha: run.headSha,
    node_id: `CR_kwDO${String(run.id)}`,
    external_id: run.externalId ?? '',
    url,
    html_url: `${store.origin}/${run.repo}/runs/${String(run.id)}`,
    details_url: run.detailsUrl,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt === null ? null : ghTime(run.startedAt),
    completed_at: run.completedAt === null ? null : ghTime(run.completedAt),
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: run.output.annotationsCount,
      annotations_url: `${url}/annotations`,
    },
    name: run.name,
    check_suite: { id: suiteId(store, run.repo, run.headSha) },
    app: a ? { id: a.appId, slug: a.slug ?? 'landfall', node_id: `A_kwDO${String(a.appId)}`, name: a.slug ?? 'landfall' } : null,
    pull_requests: [],
  };
}

function suiteId(store: ForgeStore, repo: string, sha: string): number {
  let ids = store.scratch.get('github:suites') as Map<string, number> | undefined;
  if (!ids) {
    ids = new Map();
    store.scratch.set('github:suites', ids);
  }
  const key = `${repo.toLowerCase()}|${sha}`;
  let id = ids.get(key);
  if (id === undefined) {
    id = store.nextId('github:suite', 5_000_000_001);
    ids.set(key, id);
  }
  return id;
}

/** GitHub's "Invalid request." (JSON-schema) answer. */
function invalidRequest(lines: string[], docs: string, reason: string): Answer {
  return { ...error(422, `Invalid request.\n\n${lines.join('\n')}`, docs), unexpected: reason };
}

function schemaLine(p: FieldProblem): string {
  switch (p.problem) {
    case 'missing':
      return `"${p.field}" wasn't supplied.`;
    case 'not-allowed-value':
      return `${JSON.stringify(p.value)} is not a member of [${(p.rule?.oneOf ?? []).map((v) => `"${v}"`).join(', ')}].`;
    case 'unknown':
      return `forge-api stand-in: "${p.field}" is not a documented field (GitHub would ignore it).`;
    default:
      return `For '${p.field}', ${JSON.stringify(p.value)} is not a ${p.rule?.type ?? 'value'}.`;
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** Validates a create (`isCreate`) or update body; undefined when GitHub would accept it. */
function checkRunProblems(body: unknown, isCreate: boolean, docs: string): Answer | undefined {
  const problems = checkFields(body, {
    ...(isCreate ? { head_sha: { type: 'string', required: true } } : {}),
    name: { type: 'string', required: isCreate, nonBlank: isCreate },
    details_url: { type: 'string' },
    external_id: { type: 'string' },
    status: { type: 'string', oneOf: isCreate ? GITHUB_CHECK_STATUSES : [...GITHUB_CHECK_STATUSES, 'waiting', 'requested', 'pending'] },
    conclusion: { type: 'string', oneOf: GITHUB_CHECK_CONCLUSIONS },
    started_at: { type: 'string' },
    completed_at: { type: 'string' },
    output: { type: 'object' },
    actions: { type: 'array' },
  });
  if (problems === 'not-an-object') return { ...error(400, 'Problems parsing JSON', docs), unexpected: 'body is not a JSON object' };
  if (problems.length > 0) return invalidRequest(problems.map(schemaLine), docs, problems.map(describeProblem).join('; '));
  const b = body as Record<string, unknown>;
  if (!isCreate && typeof b['status'] === 'string' && ['waiting', 'requested', 'pending'].includes(b['status'])) {
    return {
      ...error(422, `Only GitHub Actions can set a status of ${b['status']}.`, docs),
      unexpected: `status ${b['status']} is reserved for GitHub Actions`,
    };
  }
  if (b['conclusion'] === 'stale') {
    return {
      ...error(422, 'Validation Failed', docs, {
        errors: [{ resource: 'CheckRun', code: 'custom', field: 'conclusion', message: 'stale can only be set by GitHub' }],
      }),
      unexpected: 'conclusion stale can only be set by GitHub',
    };
  }
  if ((b['status'] === 'completed' || b['completed_at'] !== undefined) && b['conclusion'] === undefined) {
    return invalidRequest(
      ['"conclusion" wasn\'t supplied.'],
      docs,
      `${b['status'] === 'completed' ? 'status completed' : 'completed_at'} without a conclusion`,
    );
  }
  for (const field of ['started_at', 'completed_at']) {
    const v = b[field];
    if (typeof v === 'string' && (!ISO_DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))) {
      return invalidRequest(
        [`For '${field}', ${JSON.stringify(v)} is not a date-time.`],
        docs,
        `${field} ${JSON.stringify(v)} is not ISO 8601 YYYY-MM-DDTHH:MM:SSZ`,
      );
    }
  }
  if (b['output'] !== undefined) {
    const o = checkFields(b['output'], {
      title: { type: 'string', required: isCreate },
      summary: { type: 'string', required: true },
      text: { type: 'string' },
      annotations: { type: 'array' },
      images: { type: 'array' },
    });
    if (o === 'not-an-object') return invalidRequest([`For 'output', not an object.`], docs, 'output is not an object');
    if (o.length > 0)
      return invalidRequest(
        o.map((p) => schemaLine({ ...p, field: `output.${p.field}` })),
        docs,
        o.map((p) => describeProblem({ ...p, field: `output.${p.field}` })).join('; '),
      );
    const out = b['output'] as { summary: string; text?: string; annotations?: unknown[]; images?: unknown[] };
    for (const [field, value] of [
      ['summary', out.summary],
      ['text', out.text],
    ] as const) {
      if (value !== undefined && value.length > GITHUB_CHECK_OUTPUT_MAX) {
        return invalidRequest(
          [`Only ${String(GITHUB_CHECK_OUTPUT_MAX)} characters are allowed; ${String(value.length)} were supplied.`],
          docs,
          `output.${field} is ${String(value.length)} characters (maximum ${String(GITHUB_CHECK_OUTPUT_MAX)})`,
        );
      }
    }
    if (out.annotations !== undefined) {
      if (out.annotations.length > GITHUB_CHECK_ANNOTATIONS_MAX) {
        return invalidRequest(
          [`Only ${String(GITHUB_CHECK_ANNOTATIONS_MAX)} annotations are allowed per request; ${String(out.annotations.length)} were supplied.`],
          docs,
          `${String(out.annotations.length)} annotations in one request (maximum ${String(GITHUB_CHECK_ANNOTATIONS_MAX)})`,
        );
      }
      for (const [i, ann] of out.annotations.entries()) {
        const p = checkFields(ann, {
          path: { type: 'string', required: true },
          start_line: { type: 'integer', required: true },
          end_line: { type: 'integer', required: true },
          start_column: { type: 'integer' },
          end_column: { type: 'integer' },
          annotation_level: { type: 'string', required: true, oneOf: ['notice', 'warning', 'failure'] },
          message: { type: 'string', required: true },
          title: { type: 'string', maxLength: 255 },
          raw_details: { type: 'string' },
        });
        const bad = p === 'not-an-object' ? [{ field: '', problem: 'type' } as FieldProblem] : p;
        if (bad.length > 0)
          return invalidRequest(
            bad.map((x) => schemaLine({ ...x, field: `output.annotations[${String(i)}].${x.field}` })),
            docs,
            bad.map((x) => describeProblem({ ...x, field: `output.annotations[${String(i)}].${x.field}` })).join('; '),
          );
      }
    }
    for (const [i, img] of (out.images ?? []).entries()) {
      const p = checkFields(img, { alt: { type: 'string', required: true }, image_url: { type: 'string', required: true }, caption: { type: 'string' } });
      const bad = p === 'not-an-object' ? [{ field: '', problem: 'type' } as FieldProblem] : p;
      if (bad.length > 0)
        return invalidRequest(
          bad.map((x) => schemaLine({ ...x, field: `output.images[${String(i)}].${x.field}` })),
          docs,
          bad.map((x) => describeProblem({ ...x, field: `output.images[${String(i)}].${x.field}` })).join('; '),
        );
    }
  }
  if (b['actions'] !== undefined) {
    const actions = b['actions'] as unknown[];
    if (actions.length > 3)
      return invalidRequest([`Only 3 actions are allowed; ${String(actions.length)} were supplied.`], docs, `${String(actions.length)} actions (maximum 3)`);
    for (const [i, act] of actions.entries()) {
      const p = checkFields(act, {
        label: { type: 'string', required: true, maxLength: 20 },
        description: { type: 'string', required: true, maxLength: 40 },
        identifier: { type: 'string', required: true, maxLength: 20 },
      });
      const bad = p === 'not-an-object' ? [{ field: '', problem: 'type' } as FieldProblem] : p;
      if (bad.length > 0)
        return invalidRequest(
          bad.map((x) => schemaLine({ ...x, field: `actions[${String(i)}].${x.field}` })),
          docs,
          bad.map((x) => describeProblem({ ...x, field: `actions[${String(i)}].${x.field}` })).join('; '),
        );
    }
  }
  return undefined;
}

/** The checks API is for GitHub Apps: anything but an installation token is GitHub's 403. */
function requireApp(ctx: RouteContext, docs: string): { token: IssuedInstallationToken } | { answer: Answer } {
  const t = installationTokenOf(ctx.store, ctx.headers);
  if (t) return { token: t };
  return {
    answer: {
      ...error(403, 'You must authenticate via a GitHub App.', docs),
      unexpected: 'the checks API needs a GitHub App installation token; the request used a plain token',
    },
  };
}

function applyCheckRun(run: ForgeCheckRun, b: Record<string, unknown>, now: string): void {
  if (typeof b['name'] === 'string') run.name = b['name'];
  if (typeof b['details_url'] === 'string') run.detailsUrl = b['details_url'];
  if (typeof b['external_id'] === 'string') run.externalId = b['external_id'];
  if (typeof b['started_at'] === 'string') run.startedAt = new Date(Date.parse(b['started_at'])).toISOString();
  if (typeof b['status'] === 'string') run.status = b['status'];
  if (typeof b['conclusion'] === 'string') {
    // "Providing conclusion will automatically set the status parameter to completed."
    run.conclusion = b['conclusion'];
    run.status = 'completed';
  } else if (b['status'] !== undefined && b['status'] !== 'completed') {
    run.conclusion = null;
    run.completedAt = null;
  }
  if (typeof b['completed_at'] === 'string') run.completedAt = new Date(Date.parse(b['completed_at'])).toISOString();
  else if (run.status === 'completed' && run.completedAt === null) run.completedAt = now;
  const out = b['output'] as { title?: string; summary?: string; text?: string; annotations?: unknown[] } | undefined;
  if (out) {
    if (out.title !== undefined) run.output.title = out.title;
    if (out.summary !== undefined) run.output.summary = out.summary;
    if (out.text !== undefined) run.output.text = out.text;
    // Annotations accumulate across requests.
    run.output.annotationsCount += out.annotations?.length ?? 0;
  }
  run.updatedAt = now;
  run.history.push({ method: run.history.length === 0 ? 'POST' : 'PATCH', body: structuredClone(b), status: run.status, conclusion: run.conclusion, at: now });
}

/** `POST /repos/{owner}/{repo}/check-runs` (installation tokens only). */
export function createCheckRun(ctx: RouteContext): Answer {
  const auth = requireApp(ctx, CREATE_CHECK_DOCS);
  if ('answer' in auth) return auth.answer;
  const bad = checkRunProblems(ctx.body, true, CREATE_CHECK_DOCS);
  if (bad) return bad;
  const b = ctx.body as Record<string, unknown>;
  const sha = b['head_sha'] as string;
  if (!isFullSha(sha)) {
    return {
      ...error(422, `No commit found for SHA: ${sha}`, CREATE_CHECK_DOCS),
      unexpected: `head_sha ${JSON.stringify(sha)} is not a full 40-hex commit sha`,
    };
  }
  const now = ctx.store.now().toISOString();
  const run: ForgeCheckRun = {
    id: ctx.store.nextId('github:check-run', 20_000_000_001),
    repo: ctx.repo,
    headSha: sha.toLowerCase(),
    name: b['name'] as string,
    status: 'queued',
    conclusion: null,
    detailsUrl: null,
    externalId: null,
    // GitHub stamps started_at with the creation time when it is not given.
    startedAt: now,
    completedAt: null,
    output: { title: null, summary: null, text: null, annotationsCount: 0 },
    installationId: auth.token.installationId,
    createdAt: now,
    updatedAt: now,
    history: [],
  };
  applyCheckRun(run, b, now);
  ctx.store.checkRuns.push(run);
  return {
    status: 201,
    headers: { Location: `${ctx.store.origin}/api/v3/repos/${ctx.repo}/check-runs/${String(run.id)}` },
    body: checkRunJson(ctx.store, run),
  };
}

/** `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}` (installation tokens only). */
export function updateCheckRun(ctx: RouteContext): Answer {
  const auth = requireApp(ctx, UPDATE_CHECK_DOCS);
  if ('answer' in auth) return auth.answer;
  const id = Number(ctx.params['check_run_id']);
  const run = ctx.store.checkRuns.find((r) => r.id === id);
  if (!run || run.repo.toLowerCase() !== ctx.repo.toLowerCase()) {
    return {
      ...error(404, 'Not Found', UPDATE_CHECK_DOCS),
      unexpected: run ? `check run ${String(id)} belongs to ${run.repo}, not ${ctx.repo}` : `check run ${String(id)} was never created`,
    };
  }
  const bad = checkRunProblems(ctx.body, false, UPDATE_CHECK_DOCS);
  if (bad) return bad;
  applyCheckRun(run, ctx.body as Record<string, unknown>, ctx.store.now().toISOString());
  return { status: 200, body: checkRunJson(ctx.store, run) };
}
