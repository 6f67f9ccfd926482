import { LARGE_BODY_BYTES, LARGE_BODY_SHARE } from '../config/schema.js';

/** One request's share of the budget: taken as its body is admitted, given back once. */
export interface BodyLease {
  /** Bytes this request holds. */
  readonly held: number;
  /** Takes `bytes` more; false (and nothing taken) when the budget cannot spare them. */
  take(bytes: number): boolean;
  /** Gives back everything this request holds; later calls do nothing. */
  release(): void;
}

/** Webhook body bytes held by the process at once, across every request. */
export interface BodyBudget {
  readonly limit: number;
  /** Bytes held now. */
  inFlight(): number;
  /** A new, empty lease. */
  lease(): BodyLease;
}

/**
 * A process-wide ceiling on webhook body bytes in flight, so that no number of concurrent
 * uploads takes the process past its memory limit: above it the answer is 503. Requests whose
 * bodies grow past {@link LARGE_BODY_BYTES} share only {@link LARGE_BODY_SHARE} of the ceiling
 * between them, which keeps room for ordinary deliveries however many large ones arrive.
 */
export function createBodyBudget(limit: number, onChange?: (inFlight: number) => void): BodyBudget {
  let used = 0;
  let large = 0;
  const largeCeiling = Math.floor(limit * LARGE_BODY_SHARE);

  return {
    limit,
    inFlight: () => used,
    lease(): BodyLease {
      let held = 0;
      let released = false;
      return {
        get held() {
          return held;
        },
        take(bytes) {
          if (released) return false;
          if (bytes === 0) return true;
          if (used + bytes > limit) return false;
          const after = held + bytes;
          // Once a body is large, all of it counts against the large share, not only the excess.
          const largeAdded = after > LARGE_BODY_BYTES ? (held > LARGE_BODY_BYTES ? bytes : after) : 0;
          if (large + largeAdded > largeCeiling) return false;
          large += largeAdded;
          used += bytes;
          held = after;
          onChange?.(used);
          return true;
        },
        release() {
          if (released) return;
          released = true;
          used -= held;
          if (held > LARGE_BODY_BYTES) large -= held;
          held = 0;
          onChange?.(used);
        },
      };
    },
  };
}
