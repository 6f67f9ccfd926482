import { createHash } from 'node:crypto';

// Declared in model/ so previews/ can label its objects without importing the sync engine.
export { APP_LABEL, MANAGED_BY } from '../model/labels.js';
/** Annotation that keeps an object from ever being pruned. */
export const PRUNE_ANNOTATION = 'landfall.dev/prune';
/** Annotation that lets Landfall delete an object and create it again when a field that cannot change did. */
export const RECREATE_ANNOTATION = 'landfall.dev/recreate';
/** The field manager of every write Landfall makes. */
export const FIELD_MANAGER = 'landfall';
/** ApplySet member label (KEP-3659). */
export const PART_OF = 'applyset.kubernetes.io/part-of';

/** The ApplySet id of an app's inventory parent, as kubectl computes it. */
export function applySetId(parentName: string, parentNamespace: string): string {
  const digest = createHash('sha256').update(`${parentName}.${parentNamespace}.ConfigMap.`).digest('base64url');
  return `applyset-${digest}-v1`;
}

/** Name of the ConfigMap holding an app's inventory, in the app's namespace. */
export function inventoryName(app: string): string {
  return `landfall.${app}`;
}
