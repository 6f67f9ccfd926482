import type { HealthStatus } from './health.js';

/**
 * What a step did to one object (after Flux's ChangeSet), in the order summaries list them.
 * `recreated`: deleted and created again, because a field that cannot change did.
 */
export const CHANGE_ACTIONS = ['created', 'configured', 'recreated', 'unchanged', 'deleted', 'skipped', 'failed'] as const;

/** One of {@link CHANGE_ACTIONS}. */
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

/** One object in a change set. Holds field paths, never values, so Secrets stay secret. */
export interface ChangeEntry {
  id: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: ChangeAction;
  /** Where the object was rendered from (`deploy/web.yaml#2`). */
  source?: string;
  /** Changed field paths, for `configured` (and plans). */
  paths?: string[];
  message?: string;
}

/** One object's health at the end of a sync. */
export interface HealthEntry {
  id: string;
  kind: string;
  namespace?: string;
  name: string;
  status: HealthStatus;
  reason: string;
  message: string;
}
