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
    /** One sync's record (JSON). Not under `sync:`, which is the BullMQ queue's namespace. */
    history: (id: string) => `${prefix}:history:${id}`,
    /** An app's sync ids, newest first. */
    appSyncs: (app: string) => `${prefix}:app:${app}:syncs`,
    /** An app's state (hash): deployed commit, last sync. */
    appState: (app: string) => `${prefix}:app:${app}:state`,
    /** The lock that keeps one sync per app at a time across all workers. */
    appLock: (app: string) => `${prefix}:lock:app:${app}`,
    /** A commit status's desired and last-posted state (hash), by a digest of forge, repo, sha, context. */
    status: (digest: string) => `${prefix}:status:${digest}`,
    /** The lock that serialises posting one status. */
    statusLock: (digest: string) => `${prefix}:lock:status:${digest}`,
    /** Stream of accepted events (queued syncs and plans) for the status dispatcher. */
    events: () => `${prefix}:events`,
    /** Status reports that finally failed, per sync or plan record. */
    statusErrors: (recordId: string) => `${prefix}:history:${recordId}:status-errors`,
    /** The newest head a pull request announced, so older plans are skipped. */
    prHead: (app: string, number: number) => `${prefix}:app:${app}:pr:${number}:head`,
    /** The pull-request comment holding an app's plan: desired body, comment id, last posted (hash). */
    planComment: (app: string, number: number) => `${prefix}:app:${app}:pr:${number}:comment`,
    /** An app's last drift check (JSON). */
    drift: (app: string) => `${prefix}:app:${app}:drift`,
    /** The last webhook check per repository (hash: `<forge>|<repo>` → JSON). */
    webhooks: () => `${prefix}:webhooks`,
    /** A failed delivery Landfall asked the forge to send again (kept as long as forges keep deliveries). */
    redelivered: (forge: string, key: string) => `${prefix}:webhooks:redelivered:${forge}:${key}`,
    /** What the app's last successful sync verified per object (JSON: id → fingerprint, resourceVersion). */
    verified: (app: string) => `${prefix}:app:${app}:verified`,
    /** An app's plan ids, newest first. */
    appPlans: (app: string) => `${prefix}:app:${app}:plans`,
    /** A pull request's preview (hash, see src/previews/store.ts). */
    preview: (app: string, number: number) => `${prefix}:app:${app}:pr:${number}:preview`,
    /** Sequence of a pull request's preview events: a job older than the newest does nothing. */
    previewSeq: (app: string, number: number) => `${prefix}:app:${app}:pr:${number}:preview-seq`,
    /** An app's pull requests that have a preview or wait for one (set of numbers). */
    previews: (app: string) => `${prefix}:app:${app}:previews`,
    /** The pull requests of an app holding one of its `previews.maxOpen` slots (set of numbers). */
    previewSlots: (app: string) => `${prefix}:app:${app}:preview-slots`,
    /** The lock that keeps one preview job per pull request at a time. */
    previewLock: (app: string, number: number) => `${prefix}:lock:preview:${app}:${number}`,
  };
}

/** The key builder for one prefix. */
export type Keys = ReturnType<typeof createKeys>;
