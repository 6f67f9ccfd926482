import type { Logger } from 'pino';
import type { PhaseName, SyncRecord } from '../model/records.js';
import { SyncError, toSyncError } from './errors.js';

/** Where records are kept (the history store, or anything with its `save`). */
export interface RecordSink {
  save(record: SyncRecord): Promise<void>;
}

/**
 * Keeps one sync's or plan's record as it runs: phases with their times, its own log lines (also
 * logged), and the outcome. Deploys and plans both write theirs through one of these.
 */
export interface Recorder {
  readonly record: SyncRecord;
  /** The phase running now, if any. */
  readonly phase: PhaseName | undefined;
  /** A line for the record's log and the process log. */
  note: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Closes the open phase, opens `name`, and saves. */
  enter(name: PhaseName): Promise<void>;
  /** Closes the open phase. */
  closePhase(): void;
  save(): Promise<void>;
  /** Ends the record `succeeded` (or `result`) and saves it. */
  finish(result?: 'succeeded' | 'superseded'): Promise<void>;
  /**
   * Ends the record `failed` with the error (any error becomes a transient `INTERNAL` SyncError),
   * notes it (`(will retry)` unless `final`), saves, and returns the error to throw.
   */
  fail(err: unknown, final: (error: SyncError) => boolean): Promise<SyncError>;
}

/** A recorder for `record`, saving to `sink` and logging to `log`. */
export function createRecorder(sink: RecordSink, log: Logger, record: SyncRecord): Recorder {
  let phase: PhaseName | undefined;
  const closePhase = () => {
    const open = record.phases.at(-1);
    if (open && open.finishedAt === undefined) open.finishedAt = Date.now();
  };
  const note = (level: 'info' | 'warn' | 'error', msg: string) => {
    record.log.push({ at: Date.now(), level, msg });
    log[level]({ sha: record.sha }, msg);
  };
  return {
    record,
    get phase() {
      return phase;
    },
    note,
    async enter(name) {
      closePhase();
      record.phases.push({ name, startedAt: Date.now() });
      phase = name;
      await sink.save(record);
    },
    closePhase,
    save: () => sink.save(record),
    async finish(result = 'succeeded') {
      closePhase();
      record.result = result;
      record.finishedAt = Date.now();
      await sink.save(record);
    },
    async fail(err, final) {
      closePhase();
      const error = toSyncError(err);
      record.result = 'failed';
      record.finishedAt = Date.now();
      record.error = {
        code: error.code,
        message: error.message,
        transient: error.transient,
        ...(error.object ? { object: error.object } : {}),
        ...(error.file ? { file: error.file } : {}),
      };
      note('error', `${phase ? `${phase}: ` : ''}${error.message}${final(error) ? '' : ' (will retry)'}`);
      await sink.save(record);
      return error;
    },
  };
}
