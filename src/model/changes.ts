/**
 * The words of a change set and a health report, declared once: what happened to each object, and
 * where it is in becoming what was asked (kstatus's vocabulary). Each is a zod schema, so stored
 * copies are read back validated and the API's JSON Schema is derived from the same words.
 */
import { z } from 'zod';

/** kstatus's vocabulary: where an object is in becoming what was asked. */
export const HEALTH_STATUSES = ['Current', 'InProgress', 'Failed', 'Terminating', 'NotFound'] as const;

/** One of {@link HEALTH_STATUSES}. */
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/**
 * What a step did to one object (after Flux's ChangeSet), in the order summaries list them.
 * `recreated`: deleted and created again, because a field that cannot change did.
 */
export const CHANGE_ACTIONS = ['created', 'configured', 'recreated', 'unchanged', 'deleted', 'skipped', 'failed'] as const;

/** One of {@link CHANGE_ACTIONS}. */
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

/** One object in a change set. Holds field paths, never values, so Secrets stay secret. */
export const changeEntrySchema = z.object({
  id: z.string(),
  apiVersion: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  action: z.enum(CHANGE_ACTIONS),
  /** Where the object was rendered from (`deploy/web.yaml#2`). */
  source: z.string().optional(),
  /** Changed field paths, for `configured` (and plans). */
  paths: z.array(z.string()).optional(),
  message: z.string().optional(),
});

/** One object in a change set. */
export type ChangeEntry = z.infer<typeof changeEntrySchema>;

/** One object's health at the end of a sync. */
export const healthEntrySchema = z.object({
  id: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  status: z.enum(HEALTH_STATUSES),
  reason: z.string(),
  message: z.string(),
});

/** One object's health at the end of a sync. */
export type HealthEntry = z.infer<typeof healthEntrySchema>;

/** One object that no longer matches Git. */
export const driftEntrySchema = z.object({
  id: z.string(),
  apiVersion: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  /** Deleted by hand. */
  missing: z.boolean().optional(),
  /** Fields Landfall manages whose live values differ from Git. */
  paths: z.array(z.string()).optional(),
});

/** One object that no longer matches Git. */
export type DriftEntry = z.infer<typeof driftEntrySchema>;
