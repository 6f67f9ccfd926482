import type { Job } from 'bullmq';
import type { z } from 'zod';

/** Counts what status posting did, for metrics. */
export interface StatusCounters {
  posted(forge: string): void;
  failed(forge: string): void;
}

/** What a handler says of a job that finally failed, for the log and its record. */
export interface FailedPost {
  forge: string;
  /** The record the post was about, to note the failure on. */
  recordId?: string;
  /** What could not be posted, in a few words (`landfall/web succeeded on abc1234`). */
  what: string;
  /** Fields for the log line. */
  log: Record<string, unknown>;
}

/**
 * One kind of status-queue job. The worker parses the job's data with `schema`, serialises jobs
 * of one `slot` with a lock, waits out a forge's Retry-After and turns permanent errors into
 * failures BullMQ does not retry; the handler does the one thing its kind is for.
 */
export interface StatusJobHandler<S extends z.ZodType> {
  /** The job's data. */
  schema: S;
  /** The status slot whose posts must not overlap; none for jobs that post to no slot. */
  slot?(data: z.output<S>): string;
  /** Does the job; returns what happened, in a word (BullMQ keeps it as the job's result). */
  run(data: z.output<S>, job: Job): Promise<string>;
  /** Describes a post that finally failed; notifications are only logged. */
  failedPost?(data: z.output<S>): Promise<FailedPost>;
  /** Logs a failed attempt (notifications: every one, since they are not statuses). */
  attemptFailed?(data: z.output<S>, err: Error): void;
}
