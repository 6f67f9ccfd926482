/**
 * The Redis hashes the status queue works from, with their codecs: a status slot (the status a
 * forge should show on a commit, and what was posted) and a plan comment (the body a pull request
 * should carry, and what was posted). The reporter writes them; the handlers read them.
 */
import { z } from 'zod';
import { FORGE_IDS } from '../config/schema.js';
import { SYNC_RESULTS } from '../model/records.js';
import { decodeHash } from '../store/codec.js';

/** A status slot's hash: the desired status, and the last one posted. */
export const statusSlotSchema = z.object({
  forge: z.enum(FORGE_IDS),
  repo: z.string().min(1),
  sha: z.string().min(1),
  context: z.string().min(1),
  state: z.enum(SYNC_RESULTS),
  description: z.string().default(''),
  targetUrl: z.string().default(''),
  /** Branch: GitLab's `ref`; for pull-request plans Bitbucket's `refname`. */
  ref: z.string().optional(),
  recordId: z.string().optional(),
  /** Markdown, for forges that show a report (GitHub check runs). */
  summary: z.string().optional(),
  /** Fingerprint of the last status posted. */
  posted: z.string().optional(),
  /** The report (check run) posted last, and whether it was final ('1'). */
  checkRun: z.string().optional(),
  checkRunDone: z.enum(['0', '1']).optional(),
});

/** A status slot as read. */
export type StatusSlot = z.infer<typeof statusSlotSchema>;

/** A plan comment's hash: the desired body, the comment id once posted, and the last body posted. */
export const commentSlotSchema = z.object({
  forge: z.enum(FORGE_IDS),
  repo: z.string().min(1),
  app: z.string().min(1),
  number: z.coerce.number().int(),
  body: z.string().min(1),
  recordId: z.string().optional(),
  /** The comment's id on the forge. */
  id: z.string().optional(),
  /** Fingerprint of the last body posted. */
  posted: z.string().optional(),
});

/** A plan comment as read. */
export type CommentSlot = z.infer<typeof commentSlotSchema>;

/** Reads a status slot's hash; a hash that does not read throws a `StoredDataError`. */
export function decodeStatusSlot(key: string, fields: Record<string, string>): StatusSlot {
  return decodeHash(statusSlotSchema, key, fields);
}

/** Reads a plan comment's hash; a hash that does not read throws a `StoredDataError`. */
export function decodeCommentSlot(key: string, fields: Record<string, string>): CommentSlot {
  return decodeHash(commentSlotSchema, key, fields);
}

/**
 * What the failure log and the record note say of a slot that could not be posted: whatever of
 * it still reads, since the failure may be that it does not.
 */
export function describeSlot(fields: Record<string, string>): {
  forge: string;
  repo?: string;
  sha?: string;
  context?: string;
  state?: string;
  number?: string;
  recordId?: string;
} {
  const text = (name: string) => (fields[name] ? { [name]: fields[name] } : {});
  return { forge: fields.forge || 'unknown', ...text('repo'), ...text('sha'), ...text('context'), ...text('state'), ...text('number'), ...text('recordId') };
}
