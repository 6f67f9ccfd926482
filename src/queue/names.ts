/**
 * The name of every queue, written once (BullMQ adds the configured prefix). A leaf: it imports
 * nothing, so the web role, metrics and the CLI can name a queue without loading its worker.
 */
export const QUEUES = { sync: 'sync', plan: 'plan', status: 'status', reconcile: 'reconcile', preview: 'preview' } as const;

/** A queue's name. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
