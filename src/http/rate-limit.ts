/** Per-source limits for the webhook routes. */
export interface RateLimitSettings {
  /** Sustained deliveries per second from one source, per forge. */
  perSecond: number;
  /** How many may arrive at once above the sustained rate. */
  burst: number;
  /** Refused requests (bad signature, malformed, wrong API token) per minute before a source is shut out for the rest of the minute. */
  failuresPerMinute: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
  failures: number;
  windowStart: number;
}

/** The verdict for one request: go on, or wait this many seconds. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number; reason: string };

/**
 * Rate limiting per (forge, source address): a token bucket for volume, and a failure budget, so
 * a source that keeps sending deliveries that fail verification is shut out while deliveries from
 * every other source (the forge's own) go on unaffected. Bounded memory: the least recently seen
 * sources are forgotten first.
 */
export function createRateLimiter(settings: RateLimitSettings, maxSources = 10_000, now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();

  function bucket(key: string): Bucket {
    let b = buckets.get(key);
    if (b) {
      // Re-insert to keep the map in least-recently-used order.
      buckets.delete(key);
    } else {
      b = { tokens: settings.burst, refilledAt: now(), failures: 0, windowStart: now() };
      const oldest = buckets.keys().next();
      if (buckets.size >= maxSources && !oldest.done) buckets.delete(oldest.value);
    }
    buckets.set(key, b);
    return b;
  }

  /** The source's failure budget: spent means shut out until its minute is over. */
  function shutOut(b: Bucket, t: number): RateDecision | undefined {
    if (t - b.windowStart >= 60_000) {
      b.failures = 0;
      b.windowStart = t;
    }
    if (b.failures < settings.failuresPerMinute) return undefined;
    return { ok: false, retryAfterSeconds: Math.ceil((b.windowStart + 60_000 - t) / 1000), reason: 'too many refused requests from this source' };
  }

  return {
    /** Takes one token; says when to come back if there is none or the source is shut out. */
    take(key: string): RateDecision {
      const b = bucket(key);
      const t = now();
      const refused = shutOut(b, t);
      if (refused) return refused;
      b.tokens = Math.min(settings.burst, b.tokens + ((t - b.refilledAt) / 1000) * settings.perSecond);
      b.refilledAt = t;
      if (b.tokens < 1) return { ok: false, retryAfterSeconds: 1, reason: 'too many deliveries from this source' };
      b.tokens -= 1;
      return { ok: true };
    },
    /**
     * Whether the source is shut out by its failure budget, without taking a token: for a second
     * look once a body has arrived (others from the same source may have failed meanwhile), and
     * for API token checks, which have no volume limit of their own.
     */
    check(key: string): RateDecision {
      return shutOut(bucket(key), now()) ?? { ok: true };
    },
    /** Counts a refused request against its source. */
    fail(key: string): void {
      bucket(key).failures++;
    },
  };
}

/** The limiter {@link createRateLimiter} makes. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
