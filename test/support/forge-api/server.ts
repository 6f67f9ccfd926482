/**
 * The shared core of the forge API stand-ins: the node:http server, routing by path template,
 * authentication hook, the request log, the `unexpected` list, fault injection, `down()`,
 * `waitFor()` and the stored statuses and comments. Each forge module (github.ts, gitlab.ts, …)
 * supplies a `ForgeDefinition`: its routes, its auth rule and its error shapes. Nothing here is
 * module-level state: every server owns its own.
 */
import { createPublicKey } from 'node:crypto';
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
  /**
   * GitHub only: a GitHub App. Enables `GET /repos/{o}/{r}/installation` and
   * `POST /app/installations/{id}/access_tokens` (RS256 JWT checked against `publicKey`), makes every
   * other route accept the installation tokens issued here, and enables the checks API.
   */
  app?: GitHubAppOptions;
  /** GitLab only (any other forge throws): which GitLab to be, and the token's role. */
  gitlab?: GitLabOptions;
}

/** What kind of GitLab the GitLab stand-in is (`ForgeApiOptions.gitlab`). */
export interface GitLabOptions {
  /**
   * `major.minor` of the GitLab to imitate. Default `19.0`. Before `19.0` hooks carry no
   * `token_present`/`signing_token_present` and `signing_token` is ignored; before `17.3` the hook
   * events API (`…/hooks/{id}/events`) does not exist (404, as its router answers).
   */
  version?: string;
  /** Whether signing tokens are switched on (the `webhook_signing_token` feature; 19.0+). Default true. */
  signingTokens?: boolean;
  /** The token's role in every project. Default `maintainer`. */
  role?: 'developer' | 'maintainer';
  /** Branches a Developer may neither push nor merge to: statuses on them answer 403. Default `[]`. */
  protectedBranches?: string[];
}

/** A pull (merge) request the stand-in knows (`seedPullRequest`). */
export interface PullRequestSeed {
  /** GitHub/Gitea/Bitbucket number, GitLab `iid`, Data Center id. */
  number: number;
  /** Full 40-hex sha; it is also made a known commit (`seedCommit`). */
  headSha: string;
  headBranch: string;
  baseBranch: string;
  /** Default `open`; `opened` is GitLab's word for it and means the same. */
  state?: 'open' | 'opened' | 'closed' | 'merged';
  /** True when the head branch lives in a fork. Default false. */
  fork?: boolean;
  /** Full name of the fork's repository. Default `<fork owner>/<repo name>` for a fork (`fork-owner/web`), else the repository. */
  headRepo?: string;
  /** Label names (forges without labels, Bitbucket Cloud and Data Center, show none). Default none. */
  labels?: string[];
  /** Who opened it (login; Bitbucket Cloud: an account `{uuid}` or a nickname). Default `octocat`. */
  author?: string;
  /** Default `Pull request <number>`. */
  title?: string;
}

/** A pull request as the stand-in stores it (`pullRequests`, `updatePullRequest`). */
export interface ForgePullRequest {
  repo: string;
  number: number;
  headSha: string;
  headBranch: string;
  baseBranch: string;
  state: 'open' | 'closed' | 'merged';
  fork: boolean;
  /** Full name of the repository the head branch lives in. */
  headRepo: string;
  labels: string[];
  author: string;
  title: string;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  updatedAt: string;
}

/** What `updatePullRequest` may change: new commits, labels, closing or merging. */
export type PullRequestChange = Partial<Pick<ForgePullRequest, 'headSha' | 'headBranch' | 'baseBranch' | 'state' | 'labels' | 'title'>>;

/**
 * A user's rights on a repository, in common words (`seedPermission`); each stand-in answers in its
 * forge's words: GitHub `permission` (triage → read, maintain → write) and `role_name`; GitLab
 * `access_level` (read 20 Reporter, triage 15 Planner, write 30 Developer, maintain 40
 * Maintainer, admin 50 Owner); Gitea `read`/`write`/`admin`; Bitbucket Cloud `read`/`write`/
 * `admin`; Data Center REPO_READ/REPO_WRITE/REPO_ADMIN. `none`: the user exists without rights.
 */
export type PermissionLevel = 'none' | 'read' | 'triage' | 'write' | 'maintain' | 'admin';

/** A user's seeded rights on a repository. */
export interface ForgePermission {
  repo: string;
  user: string;
  level: PermissionLevel;
}

/** One status of a GitHub deployment, oldest first in `ForgeDeployment.statuses`. */
export interface ForgeDeploymentStatus {
  id: number;
  /** error, failure, inactive, in_progress, queued, pending or success. */
  state: string;
  environmentUrl: string;
  logUrl: string;
  description: string;
  /** True when GitHub added it (`auto_inactive` of a later status), not a request. */
  auto: boolean;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
}

/** A GitHub deployment as stored (`deployments`). */
export interface ForgeDeployment {
  id: number;
  repo: string;
  sha: string;
  ref: string;
  environment: string;
  task: string;
  description: string;
  transient: boolean;
  production: boolean;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  statuses: ForgeDeploymentStatus[];
}

/** A GitLab environment as stored (`environments`, `seedEnvironment`). */
export interface ForgeEnvironment {
  id: number;
  repo: string;
  name: string;
  externalUrl: string | null;
  state: 'available' | 'stopping' | 'stopped';
  tier: string;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  updatedAt: string;
}

/** What `seedEnvironment` takes. */
export interface EnvironmentSeed {
  name: string;
  externalUrl?: string | null;
  /** Default `available`. */
  state?: ForgeEnvironment['state'];
  /** Default `development`. */
  tier?: string;
}

/** What `seedCheckRun` takes (GitHub). */
export interface CheckRunSeed {
  /** Default `completed` when a conclusion is given, else `queued`. */
  status?: 'queued' | 'in_progress' | 'completed';
  conclusion?: string | null;
}

/** A test delivery Landfall asked for (Gitea `POST …/hooks/{id}/tests`, GitLab `POST …/hooks/{id}/test/{trigger}`). */
export interface HookTest {
  repo: string;
  hookId: number;
  /** GitLab's trigger (`push_events`, …); absent on Gitea (always a push). */
  trigger?: string;
  /** ISO-8601 with milliseconds. */
  at: string;
}

/** The GitHub App the GitHub stand-in knows (`ForgeApiOptions.app`). */
export interface GitHubAppOptions {
  /** The App id: the JWT's `iss` must equal it (as a number or a numeric string). */
  appId: number;
  /** PEM public key of the App's key pair; JWT signatures are verified with it. */
  publicKey: string;
  /** Repository (`owner/repo`, case-insensitive) → installation id. Repositories not listed have no installation. */
  installations: Record<string, number>;
  /** App slug in answers. Default `landfall`. */
  slug?: string;
  /**
   * Permissions of every installation; installation tokens are checked against them per route.
   * Default `{checks, statuses, issues, pull_requests, repository_hooks, deployments: 'write', contents, metadata: 'read'}`.
   */
  permissions?: Record<string, 'read' | 'write'>;
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
  fault?: 'failNext' | 'down' | 'denyHooks';
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
  /** GitLab: a system note (GitLab's own words, "added 1 commit"); only set when true. */
  system?: true;
}

/**
 * A repository webhook as the forge stores it, with field names normalised across forges. The
 * forge-specific rest is in `settings`, under the forge's own wire names.
 */
export interface ForgeHook {
  /** GitHub/GitLab/Data Center/Gitea numeric id; Bitbucket Cloud's `{uuid}` string (with braces). */
  id: number | string;
  /** Repository as it appeared in the path (decoded; GitLab: numeric id or full path). */
  repo: string;
  url: string;
  active: boolean;
  /**
   * The forge's event names: GitHub `push`…, GitLab the enabled `*_events` flags
   * (`push_events`, `merge_requests_events`…), Bitbucket `repo:push`…, Data Center
   * `repo:refs_changed`…, Gitea `push`…
   */
  events: string[];
  /**
   * The secret the forge would sign (or, GitLab, send) deliveries with: GitHub `config.secret`,
   * GitLab `token`, Bitbucket `secret`, Data Center `configuration.secret`, Gitea `config.secret`.
   * Null when none. No forge ever returns it over the API.
   */
  secret: string | null;
  /**
   * Forge-specific fields under their wire names. GitHub `{content_type, insecure_ssl, last_response}`;
   * GitLab `{name, description, push_events_branch_filter, branch_filter_strategy,
   * enable_ssl_verification, signing_token, alert_status, disabled_until, custom_webhook_template,
   * custom_headers}`; Bitbucket Cloud `{description, skip_cert_verification}`; Data Center
   * `{name, sslVerificationRequired, configuration (without secret)}`; Gitea
   * `{type, content_type, branch_filter, authorization_header}`.
   */
  settings: Record<string, unknown>;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  /** ISO-8601 with milliseconds. */
  updatedAt: string;
  /** How many API updates (PATCH/PUT) were applied. */
  edits: number;
}

/** What `seedHook` takes: a hook that already exists on the forge (e.g. a drifted or disabled one). */
export interface HookSeed {
  url: string;
  /** Default: a fresh id. */
  id?: number | string;
  /** Default `true`. */
  active?: boolean;
  /** The forge's event names (see `ForgeHook.events`); checked like the API checks them. Default: the forge's API default. */
  events?: string[];
  /** Default: none. */
  secret?: string | null;
  /** Forge-specific fields (see `ForgeHook.settings`); merged over the forge's defaults. */
  settings?: Record<string, unknown>;
  /** ISO-8601; default now. */
  createdAt?: string;
}

/** Hooks per repository (as first seen); `get` compares the repository case-insensitively. A fresh Map on each read. */
export type HookLog = ReadonlyMap<string, readonly ForgeHook[]>;

/** One GitHub webhook delivery, as `GET …/hooks/{hook_id}/deliveries` answers it. */
export interface GitHubDelivery {
  id: number;
  /** Shared by a delivery and its redeliveries (`X-GitHub-Delivery`). */
  guid: string;
  /** ISO-8601 without milliseconds. */
  delivered_at: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** `OK`, `Invalid HTTP Response: 500`, `failed to connect`, … */
  status: string;
  /** 0 when there was no HTTP answer. */
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at?: string | null;
}

/** One GitLab webhook event (hook log), as `GET …/hooks/{hook_id}/events` answers it. */
export interface GitLabHookEvent {
  id: number;
  url: string;
  /** `push_hooks`, `merge_request_hooks`, `tag_push_hooks`, `note_hooks`, `pipeline_hooks`, … */
  trigger: string;
  request_headers: Record<string, string>;
  request_data: unknown;
  response_headers: Record<string, string>;
  response_body: string;
  /** Seconds. */
  execution_duration: number;
  /** The receiver's status code as a string (`"200"`), or a failure text such as `"internal error"`. */
  response_status: string;
  /** ISO-8601 with milliseconds. */
  created_at: string;
}

/** A GitHub delivery or a GitLab hook event (the only forges with a delivery log API). */
export type ForgeDelivery = GitHubDelivery | GitLabHookEvent;

/** What `seedDelivery` takes: any fields of the forge's delivery shape; the rest get defaults. */
export type DeliverySeed = Partial<GitHubDelivery> | Partial<GitLabHookEvent>;

/** A redelivery Landfall asked for (GitHub `POST …/attempts`, GitLab `POST …/resend`). */
export interface ForgeRedelivery {
  repo: string;
  hookId: number;
  /** The delivery (GitLab: hook event) that was asked to be sent again. */
  deliveryId: number;
  /** The delivery the stand-in logged for the new attempt. */
  newDeliveryId: number;
  /** ISO-8601 with milliseconds. */
  at: string;
}

/** One accepted create or update of a check run, with the state it left. */
export interface CheckRunUpdate {
  method: 'POST' | 'PATCH';
  /** The request body as sent. */
  body: Record<string, unknown>;
  status: string;
  conclusion: string | null;
  /** ISO-8601 with milliseconds. */
  at: string;
}

/** A GitHub check run as stored. */
export interface ForgeCheckRun {
  id: number;
  /** `owner/repo` as in the path. */
  repo: string;
  headSha: string;
  name: string;
  /** `queued`, `in_progress` or `completed`. */
  status: string;
  conclusion: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotationsCount: number };
  /** The installation whose token created it. */
  installationId: number;
  createdAt: string;
  updatedAt: string;
  /** Every accepted create/update in order (the create first). */
  history: CheckRunUpdate[];
}

/** Check runs per `${repo}|${headSha}|${name}` (current name), oldest first; a fresh Map on each read. */
export interface CheckRunLog extends ReadonlyMap<string, readonly ForgeCheckRun[]> {
  /** The newest run for that sha and name (in `repo`, when given; repo compared case-insensitively). */
  latest(headSha: string, name: string, repo?: string): ForgeCheckRun | undefined;
  /** Every run in creation order. */
  all(): ForgeCheckRun[];
  byId(id: number): ForgeCheckRun | undefined;
}

/** An installation access token the GitHub stand-in issued. */
export interface IssuedInstallationToken {
  token: string;
  installationId: number;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  /** ISO-8601 with milliseconds; the token is refused from then on. */
  expiresAt: string;
  /** Full names the token is limited to; null for every repository of the installation. */
  repositories: string[] | null;
  permissions: Record<string, 'read' | 'write'>;
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
  /** How many matching requests to let through first (fail the second page of a listing: `skip: 1`). Default 0. */
  skip?: number;
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
  seedComment(pr: number, body: string, options?: { author?: string; repo?: string; system?: boolean }): ForgeComment;
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

  /** Repository webhooks per repository, oldest first (`hooks.get('acme/web')`); copies, a fresh Map on each read. */
  readonly hooks: HookLog;
  /** Adds a webhook without HTTP (one that already exists: drifted, disabled, someone else's). Throws on values the API would refuse. */
  seedHook(repo: string, hook: HookSeed): ForgeHook;
  /**
   * While true every webhook route (hooks, deliveries, redeliveries, GitLab events/resend) answers
   * the forge's "token lacks admin rights" refusal (403; Data Center 401). Recorded with
   * `fault: 'denyHooks'`, never unexpected.
   */
  denyHooks(deny?: boolean): void;
  /** GitHub deliveries / GitLab hook events of one hook, newest first (copies). */
  deliveries(repo: string, hookId: number): ForgeDelivery[];
  /** Logs a delivery (GitHub) or hook event (GitLab) of an existing hook; fields not given get defaults. Throws on other forges. */
  seedDelivery(repo: string, hookId: number, delivery?: DeliverySeed): ForgeDelivery;
  /** Redeliveries asked for through the API, in order. */
  readonly redeliveries: readonly ForgeRedelivery[];
  /** Test deliveries asked for through the API (Gitea, GitLab), in order. */
  readonly hookTests: readonly HookTest[];
  /**
   * GitLab only: the forge fires an event at a hook. Logged with its answer (`response_status`)
   * and counted the way GitLab auto-disables hooks (4 failures in a row: `temporarily_disabled`
   * until a backoff ends; 40: `disabled`; a 2xx resets it). While the hook is disabled the event is
   * dropped and not logged: returns undefined.
   */
  sendHookEvent(repo: string, hookId: number, event?: Partial<GitLabHookEvent>): GitLabHookEvent | undefined;
  /** Pull requests (GitLab: merge requests) as stored, every forge; copies. */
  readonly pullRequests: readonly ForgePullRequest[];
  /** A pull request that exists: listed and read by every stand-in. Its head becomes a known commit. Throws on a duplicate number or a short sha. */
  seedPullRequest(repo: string, pr: PullRequestSeed): ForgePullRequest;
  /** Changes a pull request as the forge would (new commits, labels, closed, merged); returns it. Throws when there is none. */
  updatePullRequest(repo: string, number: number, change: PullRequestChange): ForgePullRequest;
  /** Gives a user rights on a repository (see `PermissionLevel`); the permission routes answer from it. A user never seeded does not exist. */
  seedPermission(repo: string, user: string, level: PermissionLevel): void;
  /** A commit status someone else (CI) posted, in the forge's own state word (`success`, `running`, `SUCCESSFUL`…). */
  seedStatus(sha: string, context: string, state: string, options?: { description?: string; targetUrl?: string; ref?: string }): ForgeStatus;
  /** GitHub only: a check run some App posted (listed by `GET …/commits/{ref}/check-runs`). */
  seedCheckRun(repo: string, sha: string, name: string, run?: CheckRunSeed): ForgeCheckRun;
  /** GitHub deployments with their statuses, oldest first (copies; empty elsewhere). */
  readonly deployments: readonly ForgeDeployment[];
  /** GitLab environments, oldest first (copies; empty elsewhere). Deleted ones are gone. */
  readonly environments: readonly ForgeEnvironment[];
  /** GitLab only: an environment that already exists (a stopped one, one someone made by hand). */
  seedEnvironment(repo: string, env: EnvironmentSeed): ForgeEnvironment;
  /** GitHub check runs (empty elsewhere). */
  readonly checkRuns: CheckRunLog;
  /** GitHub App: how many installation tokens were issued (`POST /app/installations/{id}/access_tokens` answered 201). */
  readonly tokenExchanges: number;
  /** GitHub App: the installation tokens issued, in order (copies). */
  readonly installationTokens: readonly IssuedInstallationToken[];
  /** GitHub App: every installation token issued so far expires now (later use answers 401). */
  expireInstallationTokens(): void;
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
  /** True for the webhook API: `denyHooks(true)` refuses it. */
  hook?: boolean;
  /** Replaces the forge's `authenticate` for this route (GitHub's JWT-only App routes). */
  authenticate?: ForgeDefinition['authenticate'];
}

/** What `authenticate` gets besides the headers. */
export interface AuthContext {
  store: ForgeStore;
  /** The repository the route names. */
  repo: string;
  route: Route;
  params: Record<string, string>;
}

/** Why `authenticate` refused a request. */
export interface AuthFailure {
  /** No credentials at all (some forges word that 401 differently). */
  missing: boolean;
  reason: string;
  /** The forge's answer, when it is not `refuse('unauthorized')`. */
  answer?: Answer;
  /** True: the forge's normal answer (e.g. a JWT refused for clock skew, which clients correct); not recorded unexpected. */
  expected?: boolean;
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
  authenticate: (headers: Record<string, string>, options: ForgeApiOptions, ctx: AuthContext) => AuthFailure | undefined;
  /** The forge's answer for a request refused before routing. */
  refuse(kind: RefusalKind, detail: string, store: ForgeStore): Answer;
  /** The forge's error body for an injected status code (faults, down); `path` is the request path when there is one. */
  errorBody(status: number, headers: Record<string, string>, store: ForgeStore, path?: string): unknown;
  /** The forge's refusal of the webhook API for a token without admin rights (`denyHooks`). */
  hookDenied(store: ForgeStore): Answer;
  /** True when the options give the token too little rights for the webhook API (GitLab's Developer role). */
  deniesHooks?(options: ForgeApiOptions): boolean;
  /** Builds a hook from a seed with the forge's defaults; throws on values the forge's API would refuse. */
  seedHook(store: ForgeStore, repo: string, seed: HookSeed): ForgeHook;
  /** Builds a delivery record from a seed (forges with a delivery log only). */
  seedDelivery?(store: ForgeStore, hook: ForgeHook, seed: DeliverySeed): ForgeDelivery;
  /** Fires an event at a hook the way the forge would (GitLab); undefined when the forge drops it. */
  sendHookEvent?(store: ForgeStore, hook: ForgeHook, seed: Partial<GitLabHookEvent>): GitLabHookEvent | undefined;
  /** Adds headers every answer carries (GitHub rate-limit headers, …). */
  decorate?(answer: Answer, store: ForgeStore): void;
  routes: Route[];
}

/** A stored comment with its deleted flag (internal). */
export interface StoredComment extends ForgeComment {
  deleted: boolean;
}

/** Mutable scratch lists of the preview calls' state (internal; the handle shows copies). */
export interface PreviewState {
  pullRequests: ForgePullRequest[];
  permissions: ForgePermission[];
  deployments: ForgeDeployment[];
  environments: ForgeEnvironment[];
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
  /** Pull requests, permissions, GitHub deployments, GitLab environments (live lists). */
  readonly previews: PreviewState;
  /** A pull request of a repository (case-insensitive) by number. */
  findPullRequest(repo: string, number: number): ForgePullRequest | undefined;
  /** A user's seeded rights on a repository (both case-insensitive); undefined when the user was never seeded anywhere. */
  permissionOf(repo: string, user: string): PermissionLevel | undefined;
  /** True when the user was seeded with rights on some repository (or is the token's login). */
  userExists(user: string): boolean;
  /** A stable numeric id per login: 1 for the token's own user, then 2, 3… in order of first use. */
  userId(login: string): number;

  /** Every stored hook (live objects), creation order. */
  readonly hooks: ForgeHook[];
  /** Hooks of one repository (case-insensitive), creation order. */
  hooksOf(repo: string): ForgeHook[];
  /** A hook of one repository by id (Bitbucket uuids compared without braces, case-insensitively). */
  findHook(repo: string, id: number | string): ForgeHook | undefined;
  /** Marks a hook updated through the API (updatedAt, edits). */
  touchHook(hook: ForgeHook): void;
  /** True while `denyHooks(true)`. */
  readonly hooksDenied: boolean;
  /** Logs a delivery of a hook and returns it. */
  addDelivery(repo: string, hookId: number, delivery: ForgeDelivery): ForgeDelivery;
  /** Deliveries of one hook, oldest first (live objects). */
  listDeliveries(repo: string, hookId: number): ForgeDelivery[];
  /** Redeliveries asked for (live list). */
  readonly redeliveries: ForgeRedelivery[];
  /** Test deliveries asked for (live list). */
  readonly hookTests: HookTest[];
  /** Check runs (live list). */
  readonly checkRuns: ForgeCheckRun[];
  /** Installation tokens issued (live list). */
  readonly installationTokens: IssuedInstallationToken[];
}

/** A rule for one body field in `checkFields`. */
export interface FieldRule {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
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
 * `String(value)` for a value read from a JSON document, spelled out so the object case is
 * explicit: strings as they are, other primitives as String() gives them, arrays joined with
 * commas as Array.prototype.toString joins them, and objects as "[object Object]".
 */
export function text(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'symbol':
    case 'function':
      return value.toString();
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return value.map((item: unknown) => (item === null || item === undefined ? '' : text(item))).join(',');
      return Object.prototype.toString.call(value);
  }
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
    case 'array':
      return Array.isArray(value);
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

/** Repositories compare case-insensitively. */
function sameRepo(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Hook ids compare as strings; Bitbucket `{uuid}`s without braces and case-insensitively. */
function hookIdKey(id: number | string): string {
  return String(id)
    .replace(/^\{(.*)\}$/, '$1')
    .toLowerCase();
}

/** A Map keyed by repository whose `get`/`has` fall back to a case-insensitive match. */
class RepoKeyedMap<V> extends Map<string, V> {
  override get(key: string): V | undefined {
    if (super.has(key)) return super.get(key);
    for (const [k, v] of this) if (sameRepo(k, key)) return v;
    return undefined;
  }

  override has(key: string): boolean {
    return super.has(key) || [...this.keys()].some((k) => sameRepo(k, key));
  }
}

function checkRunLog(runs: readonly ForgeCheckRun[]): CheckRunLog {
  const map = new Map<string, ForgeCheckRun[]>();
  const copies = runs.map((r) => structuredClone(r));
  for (const r of copies) {
    const key = `${r.repo}|${r.headSha}|${r.name}`;
    const list = map.get(key) ?? [];
    list.push(r);
    map.set(key, list);
  }
  return Object.assign(map, {
    latest(headSha: string, name: string, repo?: string): ForgeCheckRun | undefined {
      const found = copies.filter((r) => r.headSha === headSha.toLowerCase() && r.name === name && (repo === undefined || sameRepo(r.repo, repo)));
      return found[found.length - 1];
    },
    all(): ForgeCheckRun[] {
      return [...copies];
    },
    byId(id: number): ForgeCheckRun | undefined {
      return copies.find((r) => r.id === id);
    },
  });
}

interface Fault extends FaultSpec {
  remaining: number;
  /** Matching requests still to let through. */
  toSkip: number;
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
  if (options.app !== undefined) {
    if (def.id !== 'github') throw new Error(`startForgeApi: the app option is for the github stand-in only, not ${def.id}`);
    try {
      createPublicKey(options.app.publicKey);
    } catch (err) {
      throw new Error(`startForgeApi: app.publicKey is not a PEM public key: ${(err as Error).message}`, { cause: err });
    }
    if (!Number.isInteger(options.app.appId) || options.app.appId <= 0) throw new Error(`startForgeApi: app.appId must be a positive integer`);
  }
  if (options.gitlab !== undefined) {
    if (def.id !== 'gitlab') throw new Error(`startForgeApi: the gitlab option is for the gitlab stand-in only, not ${def.id}`);
    if (options.gitlab.version !== undefined && !/^\d+\.\d+$/.test(options.gitlab.version))
      throw new Error(`startForgeApi: gitlab.version must be major.minor, got ${JSON.stringify(options.gitlab.version)}`);
  }
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
  const storedHooks: ForgeHook[] = [];
  const storedDeliveries: { repo: string; hookId: number; delivery: ForgeDelivery }[] = [];
  const redeliveries: ForgeRedelivery[] = [];
  const hookTests: HookTest[] = [];
  const checkRuns: ForgeCheckRun[] = [];
  const installationTokens: IssuedInstallationToken[] = [];
  let hooksDenied = false;
  const previews: PreviewState = { pullRequests: [], permissions: [], deployments: [], environments: [] };
  const userIds = new Map<string, number>();
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
    hooks: storedHooks,
    hooksOf(repo) {
      return storedHooks.filter((h) => sameRepo(h.repo, repo));
    },
    findHook(repo, id) {
      const wanted = hookIdKey(id);
      return storedHooks.find((h) => sameRepo(h.repo, repo) && hookIdKey(h.id) === wanted);
    },
    touchHook(hook) {
      hook.updatedAt = store.now().toISOString();
      hook.edits += 1;
    },
    get hooksDenied() {
      return hooksDenied;
    },
    addDelivery(repo, hookId, delivery) {
      storedDeliveries.push({ repo, hookId, delivery });
      return delivery;
    },
    listDeliveries(repo, hookId) {
      return storedDeliveries.filter((d) => d.hookId === hookId && sameRepo(d.repo, repo)).map((d) => d.delivery);
    },
    redeliveries,
    hookTests,
    checkRuns,
    installationTokens,
    resolveCommit(sha) {
      const lower = sha.toLowerCase();
      const exact = commits.get(sha) ?? commits.get(lower);
      if (exact !== undefined) return exact;
      if (lower.length < 4 || !/^[0-9a-f]+$/.test(lower)) return undefined;
      const candidates = new Set([...commits.values()].filter((full) => full.toLowerCase().startsWith(lower)));
      return candidates.size === 1 ? [...candidates][0] : undefined;
    },
    scratch,
    previews,
    findPullRequest(repo, number) {
      return previews.pullRequests.find((p) => p.number === number && sameRepo(p.repo, repo));
    },
    permissionOf(repo, user) {
      return previews.permissions.find((p) => sameRepo(p.repo, repo) && p.user.toLowerCase() === user.toLowerCase())?.level;
    },
    userExists(user) {
      return user.toLowerCase() === store.login.toLowerCase() || previews.permissions.some((p) => p.user.toLowerCase() === user.toLowerCase());
    },
    userId(login) {
      const key = login.toLowerCase();
      if (key === store.login.toLowerCase()) return 1;
      let id = userIds.get(key);
      if (id === undefined) {
        id = userIds.size + 2;
        userIds.set(key, id);
      }
      return id;
    },
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
    get hooks() {
      const map = new RepoKeyedMap<ForgeHook[]>();
      for (const h of storedHooks) {
        const key = [...map.keys()].find((k) => sameRepo(k, h.repo)) ?? h.repo;
        const list = map.get(key) ?? [];
        list.push(structuredClone(h));
        map.set(key, list);
      }
      return map;
    },
    seedHook(repo, seed) {
      const hook = def.seedHook(store, repo, seed);
      if (store.findHook(repo, hook.id)) throw new Error(`seedHook: ${repo} already has a hook ${String(hook.id)}`);
      storedHooks.push(hook);
      notify();
      return structuredClone(hook);
    },
    denyHooks(deny = true) {
      hooksDenied = deny;
      notify();
    },
    deliveries(repo, hookId) {
      return store
        .listDeliveries(repo, hookId)
        .map((d) => structuredClone(d))
        .reverse();
    },
    seedDelivery(repo, hookId, seed = {}) {
      if (!def.seedDelivery) throw new Error(`seedDelivery: the ${def.id} stand-in has no delivery log (only github and gitlab)`);
      const hook = store.findHook(repo, hookId);
      if (!hook) throw new Error(`seedDelivery: ${repo} has no hook ${String(hookId)} (seed or create it first)`);
      const delivery = store.addDelivery(hook.repo, Number(hook.id), def.seedDelivery(store, hook, seed));
      notify();
      return structuredClone(delivery);
    },
    redeliveries,
    hookTests,
    sendHookEvent(repo, hookId, seed = {}) {
      if (!def.sendHookEvent) throw new Error(`sendHookEvent: the ${def.id} stand-in does not fire events (only gitlab)`);
      const hook = store.findHook(repo, hookId);
      if (!hook) throw new Error(`sendHookEvent: ${repo} has no hook ${String(hookId)} (seed or create it first)`);
      const event = def.sendHookEvent(store, hook, seed);
      if (event) store.addDelivery(hook.repo, Number(hook.id), event);
      notify();
      return event ? structuredClone(event) : undefined;
    },
    get pullRequests() {
      return previews.pullRequests.map((p) => structuredClone(p));
    },
    seedPullRequest(repo, seed) {
      if (!isFullSha(seed.headSha)) throw new Error(`seedPullRequest: headSha must be a full sha, got ${JSON.stringify(seed.headSha)}`);
      if (store.findPullRequest(repo, seed.number)) throw new Error(`seedPullRequest: ${repo} already has pull request ${String(seed.number)}`);
      const at = store.now().toISOString();
      const fork = seed.fork ?? false;
      const pr: ForgePullRequest = {
        repo,
        number: seed.number,
        headSha: seed.headSha.toLowerCase(),
        headBranch: seed.headBranch,
        baseBranch: seed.baseBranch,
        state: seed.state === undefined || seed.state === 'opened' ? 'open' : seed.state,
        fork,
        headRepo: seed.headRepo ?? (fork ? `fork-owner/${repo.split('/').pop() ?? repo}` : repo),
        labels: [...(seed.labels ?? [])],
        author: seed.author ?? 'octocat',
        title: seed.title ?? `Pull request ${String(seed.number)}`,
        createdAt: at,
        updatedAt: at,
      };
      previews.pullRequests.push(pr);
      commits.set(pr.headSha, pr.headSha);
      notify();
      return structuredClone(pr);
    },
    updatePullRequest(repo, number, change) {
      const pr = store.findPullRequest(repo, number);
      if (!pr) throw new Error(`updatePullRequest: ${repo} has no pull request ${String(number)} (seed it first)`);
      if (change.headSha !== undefined) {
        if (!isFullSha(change.headSha)) throw new Error(`updatePullRequest: headSha must be a full sha, got ${JSON.stringify(change.headSha)}`);
        commits.set(change.headSha.toLowerCase(), change.headSha.toLowerCase());
      }
      Object.assign(pr, { ...change, ...(change.headSha !== undefined ? { headSha: change.headSha.toLowerCase() } : {}) });
      if (change.labels) pr.labels = [...change.labels];
      pr.updatedAt = store.now().toISOString();
      notify();
      return structuredClone(pr);
    },
    seedPermission(repo, user, level) {
      const found = previews.permissions.find((p) => sameRepo(p.repo, repo) && p.user.toLowerCase() === user.toLowerCase());
      if (found) found.level = level;
      else previews.permissions.push({ repo, user, level });
      store.userId(user);
      notify();
    },
    seedStatus(sha, context, state, extra = {}) {
      if (!isFullSha(sha)) throw new Error(`seedStatus: sha must be a full sha, got ${JSON.stringify(sha)}`);
      const status = store.addStatus({
        sha,
        context,
        state,
        description: extra.description ?? null,
        targetUrl: extra.targetUrl ?? null,
        ...(extra.ref !== undefined ? { ref: extra.ref } : {}),
      });
      notify();
      return { ...status };
    },
    seedCheckRun(repo, sha, name, run = {}) {
      if (def.id !== 'github') throw new Error(`seedCheckRun: the ${def.id} stand-in has no check runs (only github)`);
      if (!isFullSha(sha)) throw new Error(`seedCheckRun: sha must be a full sha, got ${JSON.stringify(sha)}`);
      const at = store.now().toISOString();
      const conclusion = run.conclusion ?? null;
      const status = run.status ?? (conclusion !== null ? 'completed' : 'queued');
      const stored: ForgeCheckRun = {
        id: store.nextId('github:check-run', 20_000_000_001),
        repo,
        headSha: sha.toLowerCase(),
        name,
        status,
        conclusion,
        detailsUrl: null,
        externalId: null,
        startedAt: at,
        completedAt: status === 'completed' ? at : null,
        output: { title: null, summary: null, text: null, annotationsCount: 0 },
        installationId: 0,
        createdAt: at,
        updatedAt: at,
        history: [],
      };
      checkRuns.push(stored);
      notify();
      return structuredClone(stored);
    },
    get deployments() {
      return previews.deployments.map((d) => structuredClone(d));
    },
    get environments() {
      return previews.environments.map((e) => structuredClone(e));
    },
    seedEnvironment(repo, seed) {
      if (def.id !== 'gitlab') throw new Error(`seedEnvironment: the ${def.id} stand-in has no environments (only gitlab)`);
      if (previews.environments.some((e) => sameRepo(e.repo, repo) && e.name === seed.name))
        throw new Error(`seedEnvironment: ${repo} already has an environment ${JSON.stringify(seed.name)}`);
      const at = store.now().toISOString();
      const env: ForgeEnvironment = {
        id: store.nextId('gitlab:environment'),
        repo,
        name: seed.name,
        externalUrl: seed.externalUrl ?? null,
        state: seed.state ?? 'available',
        tier: seed.tier ?? 'development',
        createdAt: at,
        updatedAt: at,
      };
      previews.environments.push(env);
      notify();
      return structuredClone(env);
    },
    get checkRuns() {
      return checkRunLog(checkRuns);
    },
    get tokenExchanges() {
      return installationTokens.length;
    },
    get installationTokens() {
      return installationTokens.map((t) => structuredClone(t));
    },
    expireInstallationTokens() {
      const now = store.now();
      for (const t of installationTokens) {
        if (Date.parse(t.expiresAt) > now.getTime()) t.expiresAt = new Date(now.getTime() - 1).toISOString();
      }
      notify();
    },
    seedCommit(fullSha) {
      if (!isFullSha(fullSha)) throw new Error(`seedCommit needs a full 40-hex sha, got ${JSON.stringify(fullSha)}`);
      commits.set(fullSha.toLowerCase(), fullSha.toLowerCase());
      notify();
    },
    seedComment(pr, body, seedOptions) {
      const c = store.addComment(pr, seedOptions?.repo ?? defaultRepo(), body, seedOptions?.author);
      if (seedOptions?.system === true) c.system = true;
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
      faults.push({ ...fault, remaining: fault.times ?? 1, toSkip: fault.skip ?? 0 });
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
            const why =
              waiter.lastError === undefined
                ? ''
                : `\nlast predicate error: ${waiter.lastError instanceof Error ? String(waiter.lastError) : text(waiter.lastError)}`;
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
      storedHooks.length = 0;
      storedDeliveries.length = 0;
      redeliveries.length = 0;
      hookTests.length = 0;
      checkRuns.length = 0;
      installationTokens.length = 0;
      previews.pullRequests.length = 0;
      previews.permissions.length = 0;
      previews.deployments.length = 0;
      previews.environments.length = 0;
      userIds.clear();
      hooksDenied = false;
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
    if (storedHooks.length > 0) lines.push(`hooks:`);
    for (const h of storedHooks) {
      lines.push(
        `  ${h.repo} #${String(h.id)} ${h.active ? 'active' : 'inactive'} ${h.url} [${h.events.join(', ')}] secret=${h.secret === null ? 'none' : 'set'} edits=${String(h.edits)}`,
      );
    }
    if (redeliveries.length > 0)
      lines.push(`redeliveries: ${redeliveries.map((r) => `${r.repo} hook ${String(r.hookId)} delivery ${String(r.deliveryId)}`).join('; ')}`);
    if (checkRuns.length > 0) lines.push(`check runs:`);
    for (const c of checkRuns)
      lines.push(
        `  ${c.repo} ${c.headSha.slice(0, 7)} ${JSON.stringify(c.name)} #${String(c.id)}: ${c.status}${c.conclusion ? `/${c.conclusion}` : ''} (${String(c.history.length)} writes)`,
      );
    if (installationTokens.length > 0) lines.push(`installation tokens issued: ${String(installationTokens.length)}`);
    if (previews.pullRequests.length > 0)
      lines.push(
        `pull requests: ${previews.pullRequests.map((p) => `${p.repo}#${String(p.number)} ${p.state} ${p.headSha.slice(0, 7)} → ${p.baseBranch}`).join('; ')}`,
      );
    for (const d of previews.deployments)
      lines.push(
        `  deployment ${String(d.id)} ${d.repo} ${d.environment} ${d.sha.slice(0, 7)}: ${d.statuses.map((st) => st.state).join(' → ') || 'no status'}`,
      );
    for (const e of previews.environments) lines.push(`  environment ${String(e.id)} ${e.repo} ${e.name}: ${e.state} ${e.externalUrl ?? ''}`);
    if (hooksDenied) lines.push('hooks denied (denyHooks)');
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
    const fault = faults.find((f) => (f.method === undefined || f.method.toUpperCase() === method) && (f.pathRegex === undefined || f.pathRegex.test(path)));
    if (!fault) return undefined;
    if (fault.toSkip > 0) {
      fault.toSkip -= 1;
      return undefined;
    }
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

    const repo = matched.route.repo(matched.params);
    const authenticate = matched.route.authenticate ?? def.authenticate;
    const auth = authenticate(headers, options, { store, repo, route: matched.route, params: matched.params });
    if (auth) {
      const answer = auth.answer ?? def.refuse('unauthorized', auth.reason, store);
      return auth.expected === true ? answer : { ...answer, unexpected: auth.reason };
    }

    // Routes about no repository (GitHub's App routes) name none: '' skips the allow-list.
    if (options.repos && repo !== '' && !options.repos.some((r) => r.toLowerCase() === repo.toLowerCase())) {
      return refusal('no-repo', `repository ${JSON.stringify(repo)} is not one of options.repos (${options.repos.join(', ')})`);
    }

    const fault = takeFault(record.method, record.path);
    if (fault) {
      record.fault = 'failNext';
      const faultHeaders: Record<string, string> = { ...(fault.headers ?? {}) };
      if (fault.status === 429 && !Object.keys(faultHeaders).some((h) => h.toLowerCase() === 'retry-after')) faultHeaders['Retry-After'] = '1';
      const lowered = Object.fromEntries(Object.entries(faultHeaders).map(([k, v]) => [k.toLowerCase(), v]));
      return {
        status: fault.status,
        headers: faultHeaders,
        body: fault.body !== undefined ? fault.body : def.errorBody(fault.status, lowered, store, record.path),
      };
    }

    if (matched.route.hook === true && (hooksDenied || def.deniesHooks?.(options) === true)) {
      record.fault = 'denyHooks';
      return def.hookDenied(store);
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
