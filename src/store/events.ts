/**
 * The events stream's one codec: the intake appends an entry per accepted sync or plan, the status
 * dispatcher reads them. Field names are short, since every accepted push writes one entry;
 * {@link EVENT_FIELDS} names them for the intake's Lua script, which writes sync entries itself.
 */
import { z } from 'zod';
import { StoredDataError } from './codec.js';

/** Entries kept in the events stream (the status dispatcher reads them within seconds). */
export const EVENTS_KEPT = 10_000;

/** The stream field of each event property. */
export const EVENT_FIELDS = { kind: 'k', app: 'a', sha: 's', jobId: 'j', at: 't', number: 'n', ref: 'r' } as const;

/** The stream's word for each event kind. */
export const EVENT_KINDS = { sync: 's', plan: 'p' } as const;

/** An accepted event: a sync queued for an app's commit, or a plan for a pull request's head. `at`: 0 when unknown. */
export type QueuedEvent =
  | { kind: 'sync'; app: string; sha: string; jobId: string; at: number }
  | { kind: 'plan'; app: string; sha: string; jobId: string; at: number; number: number; ref: string };

const F = EVENT_FIELDS;

/** A stream entry's fields; entries without a kind are syncs (the first version wrote none). */
const entrySchema = z
  .object({
    [F.kind]: z.enum([EVENT_KINDS.sync, EVENT_KINDS.plan]).default(EVENT_KINDS.sync),
    [F.app]: z.string().min(1),
    [F.sha]: z.string().min(1),
    [F.jobId]: z.string().min(1),
    [F.at]: z.string().optional(),
    [F.number]: z.string().optional(),
    [F.ref]: z.string().optional(),
  })
  .transform((e): QueuedEvent => {
    const common = { app: e[F.app], sha: e[F.sha], jobId: e[F.jobId], at: Number(e[F.at]) || 0 };
    return e[F.kind] === EVENT_KINDS.plan ? { kind: 'plan', ...common, number: Number(e[F.number]) || 0, ref: e[F.ref] ?? '' } : { kind: 'sync', ...common };
  });

/** An event as the field-value list XADD takes after the entry id. */
export function encodeEvent(event: QueuedEvent): string[] {
  const common = [F.kind, EVENT_KINDS[event.kind], F.app, event.app, F.sha, event.sha, F.jobId, event.jobId, F.at, String(event.at)];
  return event.kind === 'plan' ? [...common, F.number, String(event.number), F.ref, event.ref] : common;
}

/**
 * An entry as XREADGROUP returns its fields (a flat field-value list) read back as an event.
 * An entry that is not one (another version's, or written by hand) throws a
 * {@link StoredDataError} naming the stream and entry.
 */
export function decodeEvent(stream: string, id: string, fields: readonly string[]): QueuedEvent {
  const entry: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] ?? ''] = fields[i + 1] ?? '';
  const parsed = entrySchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StoredDataError(`${stream} entry ${id}`, issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid', { cause: parsed.error });
  }
  return parsed.data;
}
