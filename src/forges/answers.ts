import type { z } from 'zod';
import type { CommitCheck } from './forge-api.js';
import { ForgeApiError } from './forge-api-error.js';

/**
 * Checks the fields Landfall reads from a forge's answer against `schema` (which declares only
 * those fields). An answer of another shape is a permanent error that names the call and the
 * first field that did not fit: a forge version that renamed a field, or a proxy's HTML page.
 */
export function readAnswer<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the answer';
  throw new ForgeApiError(`${what} answered in a shape Landfall does not know (${where}: ${issue?.message ?? 'invalid'})`, 0, false);
}

/**
 * The result of `call`, or undefined when the forge answered 404 (the thing is not there). A 404
 * whose message matches `repositoryGone` is about the repository itself (gone, or no longer
 * visible to the token) and stays an error: "this pull request does not exist" must not be
 * concluded from "this repository cannot be seen".
 */
export async function unless404<T>(call: () => Promise<T>, repositoryGone?: RegExp): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ForgeApiError && err.status === 404 && !repositoryGone?.test(err.message)) return undefined;
    throw err;
  }
}

const RANK: Record<CommitCheck['state'], number> = { success: 0, pending: 1, failure: 2 };

/**
 * One check per context: where a forge reports a context twice (a commit status and a check run of
 * the same name on GitHub, a job of two pipelines on GitLab), the worse state stands, so a
 * context counts as succeeded only when everything under its name succeeded.
 */
export function onePerContext(checks: readonly CommitCheck[]): CommitCheck[] {
  const out = new Map<string, CommitCheck>();
  for (const check of checks) {
    const seen = out.get(check.context);
    if (!seen || RANK[check.state] > RANK[seen.state]) out.set(check.context, check);
  }
  return [...out.values()];
}

/** The most pages one listing reads: a safety net against a forge that pages forever. */
export const MAX_PAGES = 50;

/**
 * The error for a listing that still had pages after {@link MAX_PAGES}. Thrown rather than
 * answering part of the list: a caller comparing open pull requests with live previews must never
 * take a cut list for the whole one.
 */
export function tooManyPages(what: string): ForgeApiError {
  return new ForgeApiError(`${what}: more than ${MAX_PAGES} pages; Landfall stops there rather than answer part of the list`, 0, false);
}
