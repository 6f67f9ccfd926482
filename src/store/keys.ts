/**
 * Redis key names for everything Landfall stores outside BullMQ's own keys. One function per
 * key so that nothing else builds key strings, and every key carries the configured prefix.
 */
export function createKeys(prefix: string) {
  return {
    /** Marker of a delivery already accepted (24 h), for de-duplication. */
    delivery: (forge: string, id: string) => `${prefix}:delivery:${forge}:${id}`,
    /** Generation of an app's pending sync job; a worker bumps it when it starts that job. */
    syncGeneration: (app: string) => `${prefix}:app:${app}:gen`,
    /** The newest revision a webhook asked for (hash: sha, ref, deliveryId, receivedAt). */
    desired: (app: string) => `${prefix}:app:${app}:desired`,
    /** Commits announced since the pending sync was queued, so each can be told it was superseded. */
    queuedShas: (app: string) => `${prefix}:app:${app}:queued`,
  };
}

/** The key builder for one prefix. */
export type Keys = ReturnType<typeof createKeys>;
