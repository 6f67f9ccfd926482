import type { HealthStatus } from './health.js';

/** What a step did to one object (after Flux's ChangeSet). */
export type ChangeAction = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'failed';

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
