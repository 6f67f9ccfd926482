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
  /** The forge's own word on the hook's health (GitLab disables failing hooks). */
  disabled?: string;
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

/** What Landfall asks of a forge's REST API. One client serves every repository of that forge. */
export interface ForgeApi {
  readonly forge: ForgeId;
  /** Maximum description length the forge accepts. */
  readonly descriptionLimit: number;
  /** The events Landfall handles, in the forge's own webhook vocabulary. */
  readonly hookEvents: readonly string[];
  listHooks(repo: string): Promise<RemoteHook[]>;
  createHook(repo: string, spec: HookSpec): Promise<RemoteHook>;
  updateHook(repo: string, id: string, spec: HookSpec): Promise<void>;
  /** Recent deliveries of a hook, newest first (GitHub, GitLab). */
  hookDeliveries?(repo: string, hookId: string, sinceMs: number): Promise<HookDelivery[]>;
  /** Asks the forge to send a delivery again (GitHub, GitLab). */
  redeliver?(repo: string, hookId: string, deliveryId: string): Promise<void>;
  /** Creates or updates a check run (GitHub App only); returns its id. */
  upsertCheckRun?(repo: string, sha: string, spec: CheckRunSpec, knownId?: string): Promise<string>;
  /** Whether check runs can be posted (a GitHub App, not a token). */
  readonly checkRuns?: boolean;
  /** Posts (creates or replaces) a commit status. */
  postStatus(status: ForgeStatus): Promise<void>;
  /**
   * Creates the pull-request comment carrying `marker`, or edits it in place when it exists
   * (`knownId` from an earlier call, else found by listing). Returns the comment id.
   */
  upsertComment(repo: string, number: number, marker: string, body: string, knownId?: string): Promise<string>;
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
