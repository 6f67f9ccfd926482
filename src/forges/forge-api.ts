import type { SyncResult } from '../model/records.js';
import type { ForgeId } from '../config/schema.js';

/** A commit status in a forge's own words, ready to post. */
export interface ForgeStatus {
  repo: string;
  sha: string;
  /** `landfall/<app>` or `landfall/<app>/plan`. */
  context: string;
  /** The forge's state word (`pending`, `running`, `INPROGRESS`, ...). */
  state: string;
  description: string;
  targetUrl: string;
  /** Branch the commit is on: GitLab's `ref`, Bitbucket's `refname` (pull requests), DC's `ref`. */
  ref?: string;
}

/** A repository webhook as the forge reports it, in common words. */
export interface RemoteHook {
  id: string;
  url: string;
  active: boolean;
  /** Events in the forge's own names, sorted. */
  events: string[];
  /** `json` or what the forge says; undefined where the forge always sends JSON. */
  contentType?: string;
  /** Whether a secret (or token) is set; undefined where the forge does not say. */
  secretSet?: boolean;
  /** Whether a signing token is set (GitLab 19.0+ says so); undefined where the forge does not say. */
  signingSet?: boolean;
  /** Set when the forge itself stopped sending to the hook after failed deliveries (GitLab). */
  disabled?: HookDisabled;
  /**
   * Settings a person chose that an update has to send back as they are, because the forge resets
   * what an edit leaves out (Gitea's branch filter and authorization header). Only the adapter
   * that filled it reads it.
   */
  keep?: Record<string, unknown>;
}

/** How a forge disabled a failing hook. GitLab: for a while after 4 failures in a row, for good after 40. */
export interface HookDisabled {
  /** True when only a successful test delivery brings it back; false when it resumes by itself at `until`. */
  permanent: boolean;
  /** When a temporarily disabled hook resumes (ISO 8601), if the forge says. */
  until?: string;
}

/** An open pull (merge) request, as listed by the forge. */
export interface OpenPullRequest {
  number: number;
  headSha: string;
  headBranch: string;
  /** Full name of the repository the head branch lives in; empty when the forge does not say (forks). */
  headRepo: string;
  baseBranch: string;
  /** Label names, where the forge has labels. */
  labels?: string[];
  /** Login of who opened it. */
  author?: string;
}

/** A pull request as the forge reports it now. */
export interface PullRequestState extends OpenPullRequest {
  state: 'open' | 'closed' | 'merged';
}

/** A comment on a pull request. */
export interface PullRequestComment {
  id: string;
  author: string;
  body: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** A commit status of a commit as the forge reports it, in common words. */
export interface CommitCheck {
  context: string;
  state: 'success' | 'pending' | 'failure';
}

/**
 * A preview's deployment as the forge shows it: a GitHub Deployment in a transient environment,
 * a GitLab environment with its external URL.
 */
export interface PreviewEnvironment {
  repo: string;
  /** `<app>-pr-<number>`. */
  environment: string;
  sha: string;
  /** The pull request's head branch. */
  ref: string;
  /** The preview's own URL. */
  url: string;
  /** Landfall's page for the sync. */
  logUrl: string;
  description: string;
}

/** The webhook Landfall wants on a repository. */
export interface HookSpec {
  url: string;
  events: readonly string[];
  secret?: string | undefined;
  /** GitLab's signing token (whsec_...). */
  signingToken?: string | undefined;
}

/** One recent delivery of a webhook, as the forge recorded it. */
export interface HookDelivery {
  id: string;
  /** The delivery id the forge sent in its header (GitHub's X-GitHub-Delivery GUID). */
  guid?: string;
  at: number;
  event: string;
  /** The status code Landfall (or whatever answered) gave; 0 when nothing answered. */
  statusCode: number;
  redelivery?: boolean;
}

/** A GitHub check run's wanted state. */
export interface CheckRunSpec {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'cancelled' | 'neutral';
  title: string;
  /** Markdown. */
  summary: string;
  detailsUrl: string;
  externalId: string;
}

/** A status with a Markdown summary, for forges that show one richer than a commit status (GitHub check runs). */
export interface StatusReport {
  repo: string;
  sha: string;
  context: string;
  state: SyncResult;
  description: string;
  /** Markdown; the adapter cuts it to the forge's limit, with a note pointing at `targetUrl`. */
  summary: string;
  targetUrl: string;
  /** What `targetUrl` shows (`plan` or `sync`), for that note. */
  subject: string;
  recordId: string;
}

/** A report as posted, to update it in place next time. */
export interface PostedReport {
  id: string;
  /** Whether it was posted in a final state. */
  final: boolean;
}

/** What Landfall asks of a forge's REST API. One client serves every repository of that forge. */
export interface ForgeApi {
  readonly forge: ForgeId;
  /** Maximum description length the forge accepts. */
  readonly descriptionLimit: number;
  /** The events Landfall handles, in the forge's own webhook vocabulary. */
  readonly hookEvents: readonly string[];
  listHooks(repo: string): Promise<RemoteHook[]>;
  createHook(repo: string, spec: HookSpec): Promise<RemoteHook>;
  /** Updates `hook` (as `listHooks` returned it) to `spec`, keeping the settings in `hook.keep`. */
  updateHook(repo: string, hook: RemoteHook, spec: HookSpec): Promise<void>;
  /**
   * False where the forge's API cannot change a hook's secret (Gitea ignores `config.secret` on
   * edit), so a changed secret has to be set by hand. Default true.
   */
  readonly hookSecretEditable?: boolean;
  /**
   * Deliveries of a hook since `sinceMs`, newest first (GitHub, GitLab); `unavailable` with the
   * reason when this forge version keeps no delivery log that the API shows.
   */
  hookDeliveries?(repo: string, hookId: string, sinceMs: number): Promise<HookDelivery[] | { unavailable: string }>;
  /** Makes the forge send a test delivery to the hook now; on GitLab a successful one also re-enables a disabled hook. */
  testHook?(repo: string, hookId: string): Promise<void>;
  /** The open pull requests into `baseBranch` (GitLab: merge requests), to plan what a disabled hook did not deliver. */
  openPullRequests?(repo: string, baseBranch: string): Promise<OpenPullRequest[]>;
  /** Asks the forge to send a delivery again (GitHub, GitLab). */
  redeliver?(repo: string, hookId: string, deliveryId: string): Promise<void>;
  /** Creates or updates a check run (GitHub App only); returns its id. */
  upsertCheckRun?(repo: string, sha: string, spec: CheckRunSpec, knownId?: string): Promise<string>;
  /** Whether check runs can be posted (a GitHub App, not a token). */
  readonly checkRuns?: boolean;
  /**
   * Posts a status as a report the forge updates in place (GitHub App check runs), given what
   * was posted last for the same slot. `unavailable`, with the reason, when the forge refuses
   * reports for good: commit statuses are posted instead.
   */
  postReport?(report: StatusReport, previous?: PostedReport): Promise<PostedReport | { unavailable: string }>;
  /** Posts (creates or replaces) a commit status. */
  postStatus(status: ForgeStatus): Promise<void>;
  /**
   * Creates the pull-request comment carrying `marker`, or edits it in place when it exists
   * (`knownId` from an earlier call, else found by listing). Returns the comment id.
   */
  upsertComment(repo: string, number: number, marker: string, body: string, knownId?: string): Promise<string>;
  /** A pull request as it is now; undefined when the forge says it does not exist. */
  pullRequest?(repo: string, number: number): Promise<PullRequestState | undefined>;
  /** A pull request's comments, oldest first. */
  listComments?(repo: string, number: number): Promise<PullRequestComment[]>;
  /** Whether `user` may push to the repository (the forge's permission API). */
  canPush?(repo: string, user: string): Promise<boolean>;
  /** The commit statuses (and, on GitHub, check runs) of a commit, newest per context. */
  commitChecks?(repo: string, sha: string): Promise<CommitCheck[]>;
  /** Reports a preview's deployment (GitHub Deployments, GitLab environments); older deployments of the environment become inactive. */
  reportEnvironment?(env: PreviewEnvironment, state: 'in_progress' | 'success' | 'failure'): Promise<void>;
  /** Marks a preview's environment inactive (GitHub) or stops it (GitLab) on teardown. */
  retireEnvironment?(repo: string, environment: string): Promise<void>;
  /** Expands an abbreviated commit hash (Bitbucket Cloud pull requests send 12 characters). */
  resolveSha?(repo: string, shortSha: string): Promise<string | undefined>;
}

/** Posts JSON with a timeout and returns status, headers and text; errors are classified by the caller. */
export async function httpJson(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, {
    method,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'user-agent': 'landfall', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Cuts a description to a forge's limit, marking the cut. */
export function fitDescription(text: string, limit: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= limit ? oneLine : `${oneLine.slice(0, limit - 1)}…`;
}
