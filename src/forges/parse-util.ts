import type { z } from 'zod';
import { PayloadError } from './types.js';

/** Validates a payload against the fields an adapter reads; the error names the first bad field. */
export function payload<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'body';
  throw new PayloadError(`${what} payload is malformed at ${where}: ${issue?.message ?? 'invalid'}`);
}

/** Splits a full ref into its kind and short name; undefined for refs that are neither branches nor tags. */
export function splitRef(ref: string): { refType: 'branch' | 'tag'; refName: string } | undefined {
  if (ref.startsWith('refs/heads/')) return { refType: 'branch', refName: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { refType: 'tag', refName: ref.slice('refs/tags/'.length) };
  return undefined;
}
