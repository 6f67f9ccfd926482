/**
 * The labels Landfall writes on objects, shared by the sync engine (src/sync/labels.ts re-exports
 * the first two) and previews (src/previews/), which sits beside it and does not import it.
 */

/** Label on everything Landfall applies. */
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The value of {@link MANAGED_BY} on Landfall's objects. */
export const MANAGED_BY_LANDFALL = 'landfall';
/** Label naming the app an object belongs to (for a preview, the preview's name: `<app>-pr-<n>`). */
export const APP_LABEL = 'landfall.dev/app';
/** Label on the objects of a pull-request preview, naming the app it previews. */
export const PREVIEW_LABEL = 'landfall.dev/preview';
/** Label on the objects of a pull-request preview: the pull request's number. */
export const PULL_REQUEST_LABEL = 'landfall.dev/pull-request';
