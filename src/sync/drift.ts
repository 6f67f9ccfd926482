import type { Logger } from 'pino';
import type { AppConfig } from '../config/schema.js';
import { objectId, refOf } from '../kube/refs.js';
import type { DriftEntry, HealthEntry } from '../model/changes.js';
import { prepare, type PrepareDeps } from './prepare.js';
import { healthEntry, readLive } from './wait.js';

/** What one drift check found. */
export interface DriftReport {
  app: string;
  sha: string;
  checkedAt: number;
  drift: DriftEntry[];
  health: HealthEntry[];
}

/** What a drift check needs. */
export interface DriftDeps extends PrepareDeps {
  log: Logger;
}

/**
 * Compares the deployed commit with the cluster: prepares it again (render, validate, dry-run with
 * Landfall's field manager) and compares the result with what is live. A difference there is a
 * field Landfall manages that someone changed; an object the dry-run would create was deleted by
 * hand. Fields other managers own (an HPA's replicas, a controller's annotations) are not drift.
 * Objects the last sync verified and nobody wrote since are compared by resourceVersion alone.
 * Also rechecks health (from the objects just read), so a Deployment that degrades after its
 * deploy shows it.
 */
export async function detectDrift(deps: DriftDeps, app: AppConfig, sha: string): Promise<DriftReport> {
  const prepared = await prepare(deps, app, sha, 'drift');
  try {
    const { manager, desired, dry, client } = prepared;
    const changes = await manager.diff(desired, dry);
    const drift: DriftEntry[] = [];
    for (const change of changes) {
      if (change.action === 'unchanged' || change.action === 'skipped') continue;
      const base = {
        id: change.id,
        apiVersion: change.apiVersion,
        kind: change.kind,
        name: change.name,
        ...(change.namespace ? { namespace: change.namespace } : {}),
      };
      drift.push(change.action === 'created' ? { ...base, missing: true } : { ...base, ...(change.paths ? { paths: change.paths } : {}) });
    }
    const watched = desired.filter((d) => !dry.skip.has(d.id)).map((d) => d.obj);
    const live = await readLive(client, watched);
    const health = watched.map((obj) => healthEntry(refOf(obj), live.get(objectId(refOf(obj)))));
    return { app: app.name, sha, checkedAt: Date.now(), drift, health };
  } finally {
    await prepared.dispose().catch(() => undefined);
  }
}
