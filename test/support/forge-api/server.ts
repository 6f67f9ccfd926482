/**
 * The shared core of the forge API stand-ins: the node:http server, routing by path template,
 * authentication hook, the request log, the `unexpected` list, fault injection, `down()`,
 * `waitFor()` and the stored statuses and comments. Each forge module (github.ts, gitlab.ts, …)
 * supplies a `ForgeDefinition`: its routes, its auth rule and its error shapes. Nothing here is
 * module-level state: every server owns its own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The forges Landfall reports to. */
export type ForgeId = 'github' | 'gitlab' | 'bitbucket' | 'bitbucket-server' | 'gitea';

/** Options of `startForgeApi`. */
export interface ForgeApiOptions {
  /** The only token accepted. */
  token: string;
  /**
   * Bitbucket Cloud and Data Center only: when set, auth must be HTTP Basic `username:token`
   * instead of `Bearer <token>`; also the author of comments posted through the API.
   */
  username?: string;
  /** Login of the user the token belongs to (author of API-posted comments). Default `landfall-bot`. */
  login?: string;
  /**
   * Repositories that exist (`owner/repo`; GitLab: full path or numeric id; Bitbucket Cloud
   * `workspace/slug`; Data Center `PROJECT/slug`; compared case-insensitively). Any other
   * repository answers the forge's 404 and is recorded unexpected. Default: every repository exists.
   */
  repos?: string[];
  /** Clock for timestamps. Default `() => new Date()`; always strictly increasing per server. */
  now?: () => Date;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** Path without the query string, as sent (percent-encoding kept, mount prefix included). */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** Request headers, names lower-cased. */
  headers: Record<string, string>;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** HTTP status answered; 0 when the connection was reset (`down(true, 'reset')`). */
  status: number;
  /** The matched route, e.g. `POST /repos/{owner}/{repo}/statuses/{sha}`; undefined when none. */
  route?: string;
  /** Set when the answer came from `failNext` or `down` rather than from the forge's logic. */
  fault?: 'failNext' | 'down';
}

/** A request recorded in `unexpected`, with why. */
export interface UnexpectedRequest extends RecordedRequest {
  /** What was wrong: no route, bad auth, a body breaking the forge's rules, … */
  reason: string;
}

/** A commit status as the forge stored it, with field names normalised across forges. */
export interface ForgeStatus {
  /** Server-assigned id (Bitbucket DC has none on the wire; one is assigned here anyway). */
  id: number;
  /** Full commit sha, lower-case. */
  sha: string;
  /** GitHub/Gitea `context`; GitLab `name` (or `context`, default `default`); Bitbucket `key`. */
  context: string;
  /** The forge's own state value (`success`, `running`, `SUCCESSFUL`, …), not mapped. */
  state: string;
  description: string | null;
  /** GitHub/GitLab/Gitea `target_url`; Bitbucket `url`. */
  targetUrl: string | null;
  /** GitLab `ref`, Bitbucket Cloud `refname`, Data Center `ref`; absent where the forge has none. */
  ref?: string;
  /** Bitbucket/GitLab display name when it differs from the context key. */
  name?: string;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
}

/** Statuses per `${sha}|${context}`, each list in posting order. */
export interface StatusLog extends ReadonlyMap<string, readonly ForgeStatus[]> {
  /** The last stored status for that sha and context (GitHub: context compared case-insensitively). */
  latest(sha: string, context: string): ForgeStatus | undefined;
  /** Every stored status in posting order. */
  all(): ForgeStatus[];
}

/** A pull-request comment (GitLab: merge-request note). */
export interface ForgeComment {
  /** Forge comment id (GitHub/Gitea comment id, GitLab note id, Bitbucket comment id). */
  id: number;
  /** Pull-request number (GitLab MR iid). */
  pr: number;
  /** Repository as it appeared in the path (decoded). */
  repo: string;
  body: string;
  /** Login of the author. */
  author: string;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  /** ISO-8601 with milliseconds; equals createdAt until edited. */
  updatedAt: string;
  /** How many times the body was updated (API edits and `editComment`). */
  edits: number;
  /** Bitbucket Data Center's optimistic-locking version (0 when created); 0 elsewhere. */
  version: number;
}

/** A fault for `failNext`. */
export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Tested against the full request path (mount prefix included, no query); any when absent. */
  pathRegex?: RegExp;
  /** Status to answer instead of handling the request. */
  status: number;
  /** Extra response headers (e.g. `Retry-After`, `x-ratelimit-remaining`). 429 gets `Retry-After: 1` unless given. */
  headers?: Record<string, string>;
  /** Body: an object is sent as JSON; a string is sent as-is (text/plain unless headers say otherwise). Default: the forge's error shape for the status. */
  body?: unknown;
  /** How many matching requests to hit. Default 1. */
  times?: number;
}

/** How `down(true, …)` fails requests. */
export type DownMode = 'unavailable' | 'reset';

/** A running forge stand-in and its test hooks. */
export interface ForgeApi {
  /** Which forge this stands in for. */
  readonly forge: ForgeId;
  /** Base URL to configure Landfall with (see README for what each forge's URL includes). */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every request, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests that matched no route, had wrong auth or broke the forge's rules. Tests assert it is empty. */
  readonly unexpected: readonly UnexpectedRequest[];
  /** Stored statuses per `${sha}|${context}`. */
  readonly statuses: StatusLog;
  /** Live (not deleted) comments per pull-request number, oldest first; a fresh Map on each read. */
  readonly comments: ReadonlyMap<number, readonly ForgeComment[]>;
  /** Short or full sha → full sha; seeded by the test (Bitbucket Cloud's commit lookup uses it). */
  readonly commits: Map<string, string>;
  /** Makes a commit known: its full sha maps to itself and any unique prefix resolves to it. */
  seedCommit(fullSha: string): void;
  /** Adds a comment without HTTP, e.g. one a previous Landfall run or a human left. */
  seedComment(pr: number, body: string, options?: { author?: string; repo?: string }): ForgeComment;
  /** Edits a comment as someone else would (bumps Data Center's version, counts as an edit). */
  editComment(id: number, body: string): ForgeComment;
  /** Deletes a comment as a human would; later updates of it answer the forge's 404 (not unexpected). */
  deleteComment(id: number): void;
  /** Injects a fault into the next matching, authenticated, routed request(s). */
  failNext(fault: FaultSpec): void;
  /** While down every request gets the forge's 503 (`unavailable`, default) or a reset connection (`reset`). */
  down(isDown: boolean, mode?: DownMode): void;
  /** Resolves once `predicate(this)` holds, re-checked after every request and hook; rejects after `timeoutMs` (default 5000) describing the state. */
  waitFor(predicate: (api: ForgeApi) => boolean, timeoutMs?: number): Promise<void>;
  /** Clears requests, unexpected, statuses, comments, commits, faults and `down`. */
  reset(): void;
  /** Closes the server and every open connection; pending `waitFor`s reject. */
  close(): Promise<void>;
}

/** What a route handler (or an error helper) answers. */
export interface Answer {
  status: number;
  /** JSON body; undefined sends no body (204). */
  body?: unknown;
  headers?: Record<string, string>;
  /** When set, the request is recorded in `unexpected` with this reason. */
  unexpected?: string;
}

/** Everything a route handler gets. */
export interface RouteContext {
  /** Path parameters, percent-decoded (GitLab's `acme%2Fweb` arrives as `acme/web`). */
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string>;
  /** The repository named by the path (as `Route.repo` computes it). */
  repo: string;
  /** The path as sent, for building self links. */
  path: string;
  store: ForgeStore;
}

/** One endpoint of a forge. */
export interface Route {
  method: string;
  /** Path template relative to the mount: `/repos/{owner}/{repo}/statuses/{sha}`; `{n:int}` matches digits only. */
  pattern: string;
  /** The repository the request is about. */
  repo(params: Record<string, string>): string;
  handle(ctx: RouteContext): Answer;
}

/** Why a request is refused before any route runs. */
export type RefusalKind = 'unauthorized' | 'no-route' | 'method-not-allowed' | 'no-repo' | 'bad-json' | 'media-type';

/** What a forge module provides to the core. */
export interface ForgeDefinition {
  id: ForgeId;
  /** Path prefix of every route, e.g. `/api/v3`. */
  mount: string;
  /** What `url` appends to the origin, e.g. `/api/v3` for GitHub, `` for GitLab. */
  urlPath: string;
  /** True: a request body must be sent as `application/json` (else `media-type` refusal). */
  requireJsonContentType: boolean;
  /** Canonical form of a status context for `latest()` and grouping (GitHub lower-cases). */
  contextKey(context: string): string;
  /** Undefined when the headers carry the right credentials; otherwise why not. */
  authenticate(headers: Record<string, string>, options: ForgeApiOptions): { missing: boolean; reason: string } | undefined;
  /** The forge's answer for a request refused before routing. */
  refuse(kind: RefusalKind, detail: string, store: ForgeStore): Answer;
  /** The forge's error body for an injected status code (faults, down). */
  errorBody(status: number, headers: Record<string, string>, store: ForgeStore): unknown;
  /** Adds headers every answer carries (GitHub rate-limit headers, …). */
  decorate?(answer: Answer, store: ForgeStore): void;
  routes: Route[];
}

/** A stored comment with its deleted flag (internal). */
export interface StoredComment extends ForgeComment {
  deleted: boolean;
}

/** Server state the forge modules read and write. */
export interface ForgeStore {
  readonly options: ForgeApiOptions;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The login comments posted through the API are attributed to. */
  readonly login: string;
  /** Strictly increasing clock. */
  now(): Date;
  /** Next id of a kind (`status`, `comment`, `activity`, …), starting at `start` (default 1). */
  nextId(kind: string, start?: number): number;
  /** Stores a status and returns it. */
  addStatus(status: Omit<ForgeStatus, 'id' | 'createdAt'> & { id?: number; createdAt?: string }): ForgeStatus;
  /** Stored statuses for a sha and context (canonical comparison), oldest first. */
  statusHistory(sha: string, context: string): readonly ForgeStatus[];
  /** Every stored status in posting order. */
  allStatuses(): readonly ForgeStatus[];
  /** Creates a comment. */
  addComment(pr: number, repo: string, body: string, author?: string): StoredComment;
  /** A comment by id, deleted ones included. */
  findComment(id: number): StoredComment | undefined;
  /** True when the id was ever issued by this server. */
  commentIdIssued(id: number): boolean;
  /** Comments of one pull request of one repository, deleted ones included, oldest first. */
  listComments(pr: number, repo: string): StoredComment[];
  /** Replaces a comment's body, bumping updatedAt, edits and version. */
  updateComment(comment: StoredComment, body: string): void;
  /** Resolves a short or full sha through `commits`: exact key, else a unique prefix of a known full sha. */
  resolveCommit(sha: string): string | undefined;
  /** Per-server scratch space for forge-specific state (GitLab jobs, …). */
  readonly scratch: Map<string, unknown>;
}

/** A rule for one body field in `checkFields`. */
export interface FieldRule {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'object';
  required?: boolean;
  /** `null` is accepted (and means absent). */
  nullable?: boolean;
  /** A required string may not be empty. */
  nonBlank?: boolean;
  maxLength?: number;
  oneOf?: readonly string[];
}

/** One violation found by `checkFields`. */
export interface FieldProblem {
  field: string;
  problem: 'missing' | 'blank' | 'type' | 'too-long' | 'not-allowed-value' | 'unknown';
  rule?: FieldRule;
  value?: unknown;
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a JSON body against per-field rules; fields without a rule are `unknown` problems.
 * Returns `not-an-object` when the body is not a JSON object at all.
 */
export function checkFields(body: unknown, rules: Record<string, FieldRule>): FieldProblem[] | 'not-an-object' {
  if (!isObject(body)) return 'not-an-object';
  const problems: FieldProblem[] = [];
  for (const [field, rule] of Object.entries(rules)) {
    const value = body[field];
    if (value === undefined) {
      if (rule.required === true) problems.push({ field, problem: 'missing', rule });
      continue;
    }
    if (value === null) {
      if (rule.required === true) problems.push({ field, problem: 'missing', rule });
      else if (rule.nullable !== true) problems.push({ field, problem: 'type', rule, value });
      continue;
    }
    if (!typeMatches(value, rule.type)) {
      problems.push({ field, problem: 'type', rule, value });
      continue;
    }
    if (typeof value === 'string') {
      if (rule.nonBlank === true && value.trim() === '') problems.push({ field, problem: 'blank', rule, value });
      else if (rule.oneOf && !rule.oneOf.includes(value)) problems.push({ field, problem: 'not-allowed-value', rule, value });
      else if (rule.maxLength !== undefined && value.length > rule.maxLength) problems.push({ field, problem: 'too-long', rule, value });
    }
  }
  for (const field of Object.keys(body)) {
    if (!(field in rules)) problems.push({ field, problem: 'unknown', value: body[field] });
  }
  return problems;
}

function typeMatches(value: unknown, type: FieldRule['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isObject(value);
  }
}

/** A short human sentence for one problem, used in `unexpected` reasons. */
export function describeProblem(p: FieldProblem): string {
  switch (p.problem) {
    case 'missing':
      return `${p.field} is required`;
    case 'blank':
      return `${p.field} may not be blank`;
    case 'type':
      return `${p.field} must be ${p.rule?.type ?? 'something else'}, got ${JSON.stringify(p.value)}`;
    case 'too-long':
      return `${p.field} is ${String((p.value as string).length)} characters (maximum ${String(p.rule?.maxLength)})`;
    case 'not-allowed-value':
      return `${p.field} ${JSON.stringify(p.value)} is not one of ${(p.rule?.oneOf ?? []).join('|')}`;
    case 'unknown':
      return `${p.field} is not a documented field (the real forge would silently ignore it)`;
  }
}

/** True for a full 40-hex sha (any case). */
export function isFullSha(sha: string): boolean {
  return /^[0-9a-f]{40}$/i.test(sha);
}

/** Parses a positive integer query value, falling back when absent or invalid. */
export function intQuery(query: Record<string, string>, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined || !/^\d+$/.test(raw)) return fallback;
  const n = Number(raw);
  return n > 0 ? n : fallback;
}

/** A URL on this server: `origin + path`, with the given query. */
export function selfUrl(store: ForgeStore, path: string, query: Record<string, string | number>): string {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return `${store.origin}${path}${qs ? `?${qs}` : ''}`;
}

interface Fault extends FaultSpec {
  remaining: number;
}

interface Waiter {
  predicate: (api: ForgeApi) => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  lastError?: unknown;
}

interface CompiledRoute {
  route: Route;
  segments: { literal?: string; param?: string; int?: boolean }[];
}

function compile(route: Route): CompiledRoute {
  const segments = route.pattern
    .split('/')
    .slice(1)
    .map((seg) => {
      const m = /^\{(\w+)(:int)?\}$/.exec(seg);
      if (!m) return { literal: seg };
      return { param: m[1] as string, int: m[2] !== undefined };
    });
  return { route, segments };
}

function matchRoute(compiled: CompiledRoute, rawSegments: string[]): Record<string, string> | undefined {
  if (compiled.segments.length !== rawSegments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < rawSegments.length; i++) {
    const spec = compiled.segments[i]!;
    const raw = rawSegments[i]!;
    if (spec.literal !== undefined) {
      if (spec.literal !== raw) return undefined;
      continue;
    }
    if (raw === '') return undefined;
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (spec.int === true && !/^\d+$/.test(value)) return undefined;
    params[spec.param!] = value;
  }
  return params;
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]*\+json$/.test(type);
}

/**
 * Starts a stand-in for one forge from its definition. `startForgeApi` in index.ts is the public
 * entry point; this is exported for the forge modules' sake.
 */
export async function serveForge(def: ForgeDefinition, options: ForgeApiOptions): Promise<ForgeApi> {
  const compiled = def.routes.map(compile);
  const requests: RecordedRequest[] = [];
  const unexpected: UnexpectedRequest[] = [];
  const statusMap = new Map<string, ForgeStatus[]>();
  const statusKeys = new Map<string, string>(); // canonical key → display key
  const statusOrder: ForgeStatus[] = [];
  const storedComments: StoredComment[] = [];
  const commits = new Map<string, string>();
  const counters = new Map<string, number>();
  const scratch = new Map<string, unknown>();
  const sockets = new Set<Socket>();
  let faults: Fault[] = [];
  let waiters: Waiter[] = [];
  let isDown = false;
  let downMode: DownMode = 'unavailable';
  let seq = 0;
  let lastTime = 0;
  let closed = false;
  const clock = options.now ?? (() => new Date());

  const canonicalKey = (sha: string, context: string): string => `${sha.toLowerCase()}|${def.contextKey(context)}`;

  const statuses = Object.assign(statusMap, {
    latest(sha: string, context: string): ForgeStatus | undefined {
      const display = statusKeys.get(canonicalKey(sha, context));
      const list = display === undefined ? undefined : statusMap.get(display);
      return list?.[list.length - 1];
    },
    all(): ForgeStatus[] {
      return [...statusOrder];
    },
  }) as StatusLog;

  const publicComment = (c: StoredComment): ForgeComment => {
    const { deleted: _deleted, ...rest } = c;
    return rest;
  };

  let origin = '';
  const store: ForgeStore = {
    options,
    get origin() {
      return origin;
    },
    login: options.username ?? options.login ?? 'landfall-bot',
    now() {
      const t = Math.max(clock().getTime(), lastTime + 1);
      lastTime = t;
      return new Date(t);
    },
    nextId(kind, start = 1) {
      const next = counters.get(kind) ?? start;
      counters.set(kind, next + 1);
      return next;
    },
    addStatus(input) {
      const status: ForgeStatus = {
        ...input,
        id: input.id ?? store.nextId('status'),
        sha: input.sha.toLowerCase(),
        createdAt: input.createdAt ?? store.now().toISOString(),
      };
      const canonical = canonicalKey(status.sha, status.context);
      let display = statusKeys.get(canonical);
      if (display === undefined) {
        display = `${status.sha}|${status.context}`;
        statusKeys.set(canonical, display);
        statusMap.set(display, []);
      }
      statusMap.get(display)!.push(status);
      statusOrder.push(status);
      return status;
    },
    statusHistory(sha, context) {
      const display = statusKeys.get(canonicalKey(sha, context));
      return display === undefined ? [] : (statusMap.get(display) ?? []);
    },
    allStatuses() {
      return statusOrder;
    },
    addComment(pr, repo, body, author) {
      const at = store.now().toISOString();
      const comment: StoredComment = {
        id: store.nextId('comment', def.id === 'github' ? 1_000_001 : 1),
        pr,
        repo,
        body,
        author: author ?? store.login,
        createdAt: at,
        updatedAt: at,
        edits: 0,
        version: 0,
        deleted: false,
      };
      storedComments.push(comment);
      return comment;
    },
    findComment(id) {
      return storedComments.find((c) => c.id === id);
    },
    commentIdIssued(id) {
      return storedComments.some((c) => c.id === id);
    },
    listComments(pr, repo) {
      return storedComments.filter((c) => c.pr === pr && c.repo.toLowerCase() === repo.toLowerCase());
    },
    updateComment(comment, body) {
      comment.body = body;
      comment.updatedAt = store.now().toISOString();
      comment.edits += 1;
      comment.version += 1;
    },
    resolveCommit(sha) {
      const lower = sha.toLowerCase();
      const exact = commits.get(sha) ?? commits.get(lower);
      if (exact !== undefined) return exact;
      if (lower.length < 4 || !/^[0-9a-f]+$/.test(lower)) return undefined;
      const candidates = new Set([...commits.values()].filter((full) => full.toLowerCase().startsWith(lower)));
      return candidates.size === 1 ? [...candidates][0] : undefined;
    },
    scratch,
  };

  const api: ForgeApi = {
    forge: def.id,
    get url() {
      return `${origin}${def.urlPath}`;
    },
    get origin() {
      return origin;
    },
    requests,
    unexpected,
    statuses,
    get comments() {
      const map = new Map<number, ForgeComment[]>();
      for (const c of storedComments) {
        if (c.deleted) continue;
        const list = map.get(c.pr) ?? [];
        list.push(publicComment(c));
        map.set(c.pr, list);
      }
      return map;
    },
    commits,
    seedCommit(fullSha) {
      if (!isFullSha(fullSha)) throw new Error(`seedCommit needs a full 40-hex sha, got ${JSON.stringify(fullSha)}`);
      commits.set(fullSha.toLowerCase(), fullSha.toLowerCase());
      notify();
    },
    seedComment(pr, body, seedOptions) {
      const c = store.addComment(pr, seedOptions?.repo ?? defaultRepo(), body, seedOptions?.author);
      notify();
      return publicComment(c);
    },
    editComment(id, body) {
      const c = store.findComment(id);
      if (!c || c.deleted) throw new Error(`editComment: no comment ${String(id)}`);
      store.updateComment(c, body);
      notify();
      return publicComment(c);
    },
    deleteComment(id) {
      const c = store.findComment(id);
      if (!c || c.deleted) throw new Error(`deleteComment: no comment ${String(id)}`);
      c.deleted = true;
      notify();
    },
    failNext(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    down(value, mode = 'unavailable') {
      isDown = value;
      downMode = mode;
      notify();
    },
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        if (closed) {
          reject(new Error('waitFor: the forge API stand-in is closed'));
          return;
        }
        try {
          if (predicate(api)) {
            resolve();
            return;
          }
        } catch {
          // re-checked after the next request
        }
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters = waiters.filter((w) => w !== waiter);
            const why = waiter.lastError === undefined ? '' : `\nlast predicate error: ${String(waiter.lastError)}`;
            reject(new Error(`waitFor timed out after ${String(timeoutMs)} ms on the ${def.id} stand-in${why}\n${describe()}`));
          }, timeoutMs),
        };
        waiters.push(waiter);
      });
    },
    reset() {
      requests.length = 0;
      unexpected.length = 0;
      statusMap.clear();
      statusKeys.clear();
      statusOrder.length = 0;
      storedComments.length = 0;
      commits.clear();
      counters.clear();
      scratch.clear();
      faults = [];
      isDown = false;
      notify();
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`waitFor: the ${def.id} stand-in was closed\n${describe()}`));
      }
      waiters = [];
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };

  function defaultRepo(): string {
    const first = options.repos?.[0];
    if (first !== undefined) return first;
    switch (def.id) {
      case 'gitlab':
        return 'acme/web';
      case 'bitbucket-server':
        return 'ACME/web';
      default:
        return 'acme/web';
    }
  }

  function describe(): string {
    const lines: string[] = [];
    lines.push(`requests (${String(requests.length)}):`);
    for (const r of requests.slice(-15)) {
      lines.push(`  #${String(r.seq)} ${r.method} ${r.path} → ${String(r.status)}${r.fault ? ` (${r.fault})` : ''}`);
    }
    if (requests.length > 15) lines.push(`  … ${String(requests.length - 15)} earlier`);
    lines.push(`unexpected (${String(unexpected.length)}):`);
    for (const u of unexpected) lines.push(`  #${String(u.seq)} ${u.method} ${u.path}: ${u.reason}`);
    lines.push(`statuses (latest per sha|context):`);
    for (const [key, list] of statusMap) {
      const last = list[list.length - 1]!;
      lines.push(`  ${key}: ${last.state} ${JSON.stringify(last.description)} (${String(list.length)} posted)`);
    }
    const comments = api.comments;
    lines.push(`comments:`);
    for (const [pr, list] of comments) {
      for (const c of list) lines.push(`  PR ${String(pr)} #${String(c.id)} edits=${String(c.edits)}: ${JSON.stringify(c.body.slice(0, 60))}`);
    }
    if (faults.length > 0) lines.push(`pending faults: ${String(faults.length)}`);
    if (isDown) lines.push(`down (${downMode})`);
    return lines.join('\n');
  }

  function notify(): void {
    for (const w of [...waiters]) {
      let ok = false;
      try {
        ok = w.predicate(api);
      } catch (err) {
        w.lastError = err;
      }
      if (ok) {
        clearTimeout(w.timer);
        waiters = waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const fault = faults.find(
      (f) => (f.method === undefined || f.method.toUpperCase() === method) && (f.pathRegex === undefined || f.pathRegex.test(path)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  function route(record: RecordedRequest, rawBody: string): Answer {
    const headers = record.headers;
    // Path relative to the mount.
    if (!(record.path === def.mount || record.path.startsWith(`${def.mount}/`))) {
      return refusal('no-route', `no route for ${record.method} ${record.path} (everything lives under ${def.mount})`);
    }
    const rel = record.path.slice(def.mount.length);
    const rawSegments = rel.split('/').slice(1);
    let matched: { route: Route; params: Record<string, string> } | undefined;
    const otherMethods: string[] = [];
    for (const c of compiled) {
      const params = matchRoute(c, rawSegments);
      if (!params) continue;
      if (c.route.method === record.method) {
        matched = { route: c.route, params };
        break;
      }
      otherMethods.push(c.route.method);
    }
    if (!matched) {
      if (otherMethods.length > 0) {
        return refusal('method-not-allowed', `${record.method} is not a method of ${record.path} (only ${otherMethods.join(', ')})`);
      }
      return refusal('no-route', `no route for ${record.method} ${record.path}`);
    }
    record.route = `${matched.route.method} ${matched.route.pattern}`;

    const auth = def.authenticate(headers, options);
    if (auth) return { ...def.refuse('unauthorized', auth.reason, store), unexpected: auth.reason };

    const repo = matched.route.repo(matched.params);
    if (options.repos && !options.repos.some((r) => r.toLowerCase() === repo.toLowerCase())) {
      return refusal('no-repo', `repository ${JSON.stringify(repo)} is not one of options.repos (${options.repos.join(', ')})`);
    }

    const fault = takeFault(record.method, record.path);
    if (fault) {
      record.fault = 'failNext';
      const faultHeaders: Record<string, string> = { ...(fault.headers ?? {}) };
      if (fault.status === 429 && !Object.keys(faultHeaders).some((h) => h.toLowerCase() === 'retry-after')) faultHeaders['Retry-After'] = '1';
      const lowered = Object.fromEntries(Object.entries(faultHeaders).map(([k, v]) => [k.toLowerCase(), v]));
      return { status: fault.status, headers: faultHeaders, body: fault.body !== undefined ? fault.body : def.errorBody(fault.status, lowered, store) };
    }

    let body: unknown = undefined;
    if (rawBody !== '') {
      const json = isJsonContentType(headers['content-type']);
      if (!json && def.requireJsonContentType) {
        return refusal('media-type', `body sent with content-type ${JSON.stringify(headers['content-type'] ?? null)}, not application/json`);
      }
      try {
        body = JSON.parse(rawBody) as unknown;
      } catch (err) {
        return refusal('bad-json', `body is not valid JSON: ${(err as Error).message}`);
      }
    }
    return matched.route.handle({ params: matched.params, query: record.query, body, headers, repo, path: record.path, store });
  }

  function refusal(kind: RefusalKind, reason: string): Answer {
    return { ...def.refuse(kind, reason, store), unexpected: reason };
  }

  function send(res: ServerResponse, answer: Answer): void {
    def.decorate?.(answer, store);
    const headers: Record<string, string> = { ...(answer.headers ?? {}) };
    const hasContentType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    let payload: string | undefined;
    if (answer.body !== undefined && answer.status !== 204 && answer.status !== 304) {
      if (typeof answer.body === 'string') {
        payload = answer.body;
        if (!hasContentType) headers['Content-Type'] = 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(answer.body);
        if (!hasContentType) headers['Content-Type'] = 'application/json; charset=utf-8';
      }
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    } else if (answer.status !== 204 && answer.status !== 304) {
      headers['Content-Length'] = '0';
    }
    res.writeHead(answer.status, headers);
    res.end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = flattenHeaders(req);
    const rawBody = await readBody(req);
    let parsed: unknown = undefined;
    if (rawBody !== '') {
      try {
        parsed = JSON.parse(rawBody) as unknown;
      } catch {
        parsed = rawBody;
      }
    }
    const record: RecordedRequest = {
      seq: ++seq,
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      headers,
      body: parsed,
      status: 0,
    };

    if (isDown) {
      record.fault = 'down';
      if (downMode === 'reset') {
        requests.push(record);
        req.socket.destroy();
        notify();
        return;
      }
      const answer: Answer = { status: 503, body: def.errorBody(503, {}, store) };
      record.status = 503;
      requests.push(record);
      send(res, answer);
      notify();
      return;
    }

    let answer: Answer;
    try {
      answer = route(record, rawBody);
    } catch (err) {
      answer = { status: 500, body: def.errorBody(500, {}, store), unexpected: `stand-in bug: ${(err as Error).stack ?? String(err)}` };
    }
    if (answer.status >= 200 && answer.status < 300 && answer.unexpected !== undefined) {
      answer = { status: 500, body: def.errorBody(500, {}, store), unexpected: `stand-in bug: a 2xx for an unexpected request (${answer.unexpected})` };
    }
    record.status = answer.status;
    requests.push(record);
    if (answer.unexpected !== undefined) unexpected.push({ ...record, reason: answer.unexpected });
    send(res, answer);
    notify();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: `forge-api stand-in failure: ${String(err)}` }));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${String(port)}`;
  return api;
}
