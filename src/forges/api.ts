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

/** What Landfall asks of a forge's REST API. One client serves every repository of that forge. */
export interface ForgeApi {
  readonly forge: ForgeId;
  /** Maximum description length the forge accepts. */
  readonly descriptionLimit: number;
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
