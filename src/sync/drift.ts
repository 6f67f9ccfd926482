import type { Logger } from 'pino';
import type { AppConfig, Config } from '../config/schema.js';
import { gitSource } from '../forges/clone.js';
import type { KubeClient } from '../kube/client.js';
import { refOf } from '../kube/refs.js';
import { createResourceManager } from './apply.js';
import type { Git } from './checkout.js';
import { skipFinishedJobs } from './finished-jobs.js';
import { createInventory } from './inventory.js';
import { mapLimit } from './pool.js';
import { renderApp, type RenderLimits, type RenderTools } from './render/index.js';
import type { DriftEntry, HealthEntry } from '../model/changes.js';
import { validateObjects } from './validate.js';
import { checkHealth } from './wait.js';

/** What one drift check found. */
export interface DriftReport {
  app: string;
  sha: string;
  checkedAt: number;
  drift: DriftEntry[];
  health: HealthEntry[];
}

/** What a drift check needs. */
export interface DriftDeps {
  git: Git;
  tools: RenderTools;
  limits: RenderLimits;
  forges: Config['forges'];
  kube(cluster: string): Promise<KubeClient>;
  log: Logger;
}

/**
 * Compares the deployed commit with the cluster: renders it again, dry-runs every object with
 * Landfall's field manager and compares the result with what is live. A difference there is a
 * field Landfall manages that someone changed; an object the dry-run would create was deleted by
 * hand. Fields other managers own (an HPA's replicas, a controller's annotations) are not drift.
 * Also rechecks health, so a Deployment that degrades after its deploy shows it.
 */
export async function detectDrift(deps: DriftDeps, app: AppConfig, sha: string): Promise<DriftReport> {
  const checkout = await deps.git.checkout(gitSource(app, deps.forges), sha);
  try {
    const rendered = await renderApp(checkout.dir, app, deps.limits, deps.tools);
    const client = await deps.kube(app.cluster);
    const inventory = createInventory(client, { app: app.name, namespace: app.namespace });
    const desired = await validateObjects(rendered.objects, app, (v, k) => client.resource(v, k), inventory.id);
    const manager = createResourceManager({ client, foreignManagers: app.takeOverFieldsFrom, recreate: app.recreate, ignoreFields: app.ignoreFields });
    const dry = await manager.dryRunAll(desired, new Set());
    skipFinishedJobs(desired, (await inventory.read()).entries, dry);
    const changes = await manager.diff(desired, dry);
    const drift: DriftEntry[] = [];
    for (const change of changes) {
      if (change.action === 'unchanged' || change.action === 'skipped') continue;
      const base = { id: change.id, apiVersion: change.apiVersion, kind: change.kind, name: change.name, ...(change.namespace ? { namespace: change.namespace } : {}) };
      drift.push(change.action === 'created' ? { ...base, missing: true } : { ...base, ...(change.paths ? { paths: change.paths } : {}) });
    }
    const health = await mapLimit(desired.filter((d) => !dry.skip.has(d.id)), 8, (d) => checkHealth(client, refOf(d.obj)));
    return { app: app.name, sha, checkedAt: Date.now(), drift, health };
  } finally {
    await checkout.dispose().catch(() => undefined);
  }
}
