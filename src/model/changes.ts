/**
 * The words of a change set and a health report, declared once: what happened to each object, and
 * where it is in becoming what was asked (kstatus's vocabulary).
 */

/** kstatus's vocabulary: where an object is in becoming what was asked. */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound';

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

/** One object that no longer matches Git. */
export interface DriftEntry {
  id: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** Deleted by hand. */
  missing?: boolean;
  /** Fields Landfall manages whose live values differ from Git. */
  paths?: string[];
}
