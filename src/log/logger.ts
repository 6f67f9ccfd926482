import { pino, type Logger, type DestinationStream } from 'pino';
import { createScrubber } from './redact.js';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** Values that must never reach a log line, whatever field or message they hide in. */
  secrets?: Iterable<string>;
  /** Where lines go; stdout by default. Tests pass a stream to capture them. */
  destination?: DestinationStream;
}

/**
 * The process logger: JSON lines, static messages with structured fields. Secrets are removed
 * from the finished line by the logger itself, so no call site has to remember to redact, and
 * well-known credential headers are censored by path as a second layer.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const scrub = createScrubber(options.secrets ?? []);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'landfall' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-gitlab-token"]',
          'req.headers["private-token"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-gitlab-token"]',
        ],
        censor: '[REDACTED]',
      },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
