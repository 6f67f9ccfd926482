import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics/families.js';
import type { Notifier } from '../notify.js';
import type { History } from '../store/history.js';
import type { SyncRecord } from '../model/records.js';
import { failureReason, short } from '../status/wording.js';
import type { SyncListener } from '../sync/pipeline.js';
import type { PlanListener } from '../sync/plan.js';

/** Calls several listeners; one that throws never stops the others or the sync. */
export function combineListeners<L extends object>(log: Logger, ...listeners: L[]): L {
  const names = new Set(listeners.flatMap((l) => Object.keys(l)));
  const combined: Record<string, (...args: unknown[]) => void> = {};
  for (const name of names) {
    combined[name] = (...args: unknown[]) => {
      for (const listener of listeners) {
        const fn: unknown = Reflect.get(listener, name);
        if (typeof fn !== 'function') continue;
        try {
          const result: unknown = fn.apply(listener, args);
          if (result instanceof Promise) result.catch((err: Error) => log.warn({ err: err.message, hook: name }, 'listener failed'));
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : String(err), hook: name }, 'listener failed');
        }
      }
    };
  }
  // Cast: `combined` has a function under every name any listener has, which is all L's callers
  // use, but TypeScript cannot follow a name-by-name copy of a generic interface.
  return combined as unknown as L;
}

/** Metrics, notifications and drift bookkeeping for finished syncs. */
export function createSyncEventsListener(deps: { config: Config; metrics?: Metrics; notifier?: Notifier; history: History; log: Logger }): SyncListener {
  const page = (record: SyncRecord) => `${deps.config.server.publicUrl}/syncs/${encodeURIComponent(record.id)}`;
  return {
    finished(record, final) {
      if (record.result === 'failed' && !final) return;
      deps.metrics?.syncs.inc({ app: record.app, result: record.result, trigger: record.trigger });
      for (const phase of record.phases) {
        if (phase.finishedAt !== undefined)
          deps.metrics?.syncPhaseSeconds.observe({ app: record.app, phase: phase.name }, (phase.finishedAt - phase.startedAt) / 1000);
      }
      if (record.result === 'failed') {
        void deps.notifier?.notify({
          event: 'sync-failed',
          app: record.app,
          ...(record.sha ? { sha: record.sha } : {}),
          message: `sync of ${short(record.sha ?? record.requestedSha ?? '')} failed: ${failureReason(record.error?.message ?? '')}`,
          url: page(record),
        });
      }
      if (record.result === 'succeeded' && record.trigger === 'heal') {
        void (async () => {
          const drift = await deps.history.drift(record.app);
          const healed = drift?.drift ?? [];
          await deps.history.setDrift(record.app, {
            ...(drift ?? { health: [] }),
            checkedAt: drift?.checkedAt ?? Date.now(),
            drift: [],
            healedAt: Date.now(),
            healedBy: record.id,
          });
          deps.metrics?.driftedObjects.set({ app: record.app }, 0);
          await deps.notifier?.notify({
            event: 'drift-healed',
            app: record.app,
            ...(record.sha ? { sha: record.sha } : {}),
            message: `drift healed: ${record.changes.filter((c) => c.action === 'configured' || c.action === 'created').length} object(s) put back as Git says`,
            url: page(record),
            objects: healed.map((d) => `${d.kind}/${d.namespace ? `${d.namespace}/` : ''}${d.name}`),
          });
        })().catch((err: Error) => deps.log.warn({ err: err.message }, 'heal bookkeeping failed'));
      }
    },
  };
}

/** Metrics for finished plans. */
export function createPlanEventsListener(metrics?: Metrics): PlanListener {
  return {
    finished(record, final) {
      if (record.result === 'failed' && !final) return;
      metrics?.plans.inc({ app: record.app, result: record.result });
    },
    superseded(record) {
      metrics?.plans.inc({ app: record.app, result: 'superseded' });
    },
  };
}
