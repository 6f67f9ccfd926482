import { LARGE_BODY_BYTES, LARGE_BODY_SHARE } from '../config/schema.js';

/** One request's share of the budget: taken as its body is admitted, given back once. */
export interface BodyLease {
  /** Bytes this request holds. */
  readonly held: number;
  /** Counts `bytes` (at most {@link LARGE_BODY_BYTES} in all) that the caller keeps itself; false when they cannot be spared. */
  take(bytes: number): boolean;
  /**
   * A buffer of `bytes` to read a body into, counted against the budget; undefined when it
   * cannot be spared. What `take` counted is given back: the caller moves those bytes into it.
   */
  alloc(bytes: number): Buffer | undefined;
  /** Gives back everything this request holds; later calls do nothing. Buffers from `alloc` must not be used after it. */
  release(): void;
}

/** Webhook body bytes held by the process at once, across every request. */
export interface BodyBudget {
  readonly limit: number;
  /** Bytes held now. */
  inFlight(): number;
  /** A new, empty lease for a request from `source` (its address). */
  lease(source: string): BodyLease;
}

/** The limits of a {@link BodyBudget}. */
export interface BodyBudgetLimits {
  /** Bytes held at once by everyone (`server.maxInFlightBytes`). */
  limit: number;
  /** Bytes held at once by one source address (`server.maxBodyBytes`: one largest body's worth). */
  perSource: number;
}

/** A used stretch of the large-body region. */
interface Extent {
  start: number;
  end: number;
}

/**
 * A process-wide ceiling on webhook body bytes in flight, so that no number of concurrent
 * uploads takes the process past its memory limit: above it the answer is 503. One source
 * address holds at most `perSource` of it, so a single client trickling many bodies at once
 * cannot spend the budget of everyone else.
 *
 * Bodies over {@link LARGE_BODY_BYTES} are read into one region of {@link LARGE_BODY_SHARE} of
 * the ceiling, allocated once and reused for the life of the process. So they share that part
 * between them and always leave room for ordinary deliveries, and their memory is the same pages
 * each time: allocating and freeing tens of megabytes per request would leave the C allocator
 * holding freed memory (glibc raises its mmap threshold after the first large free), and the
 * process's resident size would climb far above what it holds.
 */
export function createBodyBudget(limits: BodyBudgetLimits, onChange?: (inFlight: number) => void): BodyBudget {
  const { limit, perSource } = limits;
  const regionSize = Math.floor(limit * LARGE_BODY_SHARE);
  let region: Buffer | undefined;
  // Sorted by start; a handful at most (the region holds few bodies over 1 MiB).
  const extents: Extent[] = [];
  let used = 0;
  // Only sources holding something are here, so it is as large as the requests in flight.
  const bySource = new Map<string, number>();

  /** First fit in the region; undefined when no gap is large enough. */
  function place(bytes: number): Extent | undefined {
    let at = 0;
    let index = 0;
    for (; index < extents.length; index++) {
      const next = extents[index];
      if (next === undefined) break; // never: index < extents.length
      if (next.start - at >= bytes) break;
      at = next.end;
    }
    if (regionSize - at < bytes && index === extents.length) return undefined;
    const extent = { start: at, end: at + bytes };
    extents.splice(index, 0, extent);
    return extent;
  }

  return {
    limit,
    inFlight: () => used,
    lease(source): BodyLease {
      let held = 0;
      let counted = 0;
      const owned: Extent[] = [];
      let released = false;
      const add = (bytes: number) => {
        used += bytes;
        held += bytes;
        const mine = (bySource.get(source) ?? 0) + bytes;
        if (mine === 0) bySource.delete(source);
        else bySource.set(source, mine);
        onChange?.(used);
      };
      const fits = (bytes: number) => !released && used + bytes <= limit && (bySource.get(source) ?? 0) + bytes <= perSource;
      return {
        get held() {
          return held;
        },
        take(bytes) {
          if (counted + bytes > LARGE_BODY_BYTES || !fits(bytes)) return false;
          counted += bytes;
          add(bytes);
          return true;
        },
        alloc(bytes) {
          if (!fits(bytes - counted)) return undefined;
          const extent = bytes > LARGE_BODY_BYTES ? place(bytes) : undefined;
          if (bytes > LARGE_BODY_BYTES && !extent) return undefined;
          add(bytes - counted);
          counted = 0;
          if (!extent) return Buffer.allocUnsafe(bytes);
          owned.push(extent);
          region ??= Buffer.allocUnsafeSlow(regionSize);
          return region.subarray(extent.start, extent.end);
        },
        release() {
          if (released) return;
          for (const extent of owned) extents.splice(extents.indexOf(extent), 1);
          add(-held);
          released = true;
        },
      };
    },
  };
}
