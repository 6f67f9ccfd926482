/**
 * `previews.sleepAfter`: an idle preview's workloads are scaled to zero, their replica counts
 * kept in an annotation, and scaled back before the next deploy of the preview.
 */
import type { KubeClient } from '../kube/client.js';

/** Where a sleeping workload keeps the replicas it had. */
export const SLEEPING_REPLICAS = 'landfall.dev/sleeping-replicas';

/** The field manager of sleeping and waking, apart from Landfall's apply (its fields stay Landfall's). */
const SLEEP_MANAGER = 'landfall-preview-sleep';

const SCALABLE = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
] as const;

/** Scales every Deployment and StatefulSet of the namespace to zero; answers how many. */
export async function sleepWorkloads(client: KubeClient, namespace: string): Promise<number> {
  let slept = 0;
  for (const { apiVersion, kind } of SCALABLE) {
    for (const obj of await client.list(apiVersion, kind, { namespace })) {
      const spec = obj.spec as { replicas?: unknown } | undefined;
      const replicas = typeof spec?.replicas === 'number' ? spec.replicas : 1;
      if (replicas === 0 || obj.metadata.annotations?.[SLEEPING_REPLICAS]) continue;
      await client.patch(
        { apiVersion, kind, namespace, name: obj.metadata.name },
        { metadata: { annotations: { [SLEEPING_REPLICAS]: String(replicas) } }, spec: { replicas: 0 } },
        { type: 'merge', fieldManager: SLEEP_MANAGER },
      );
      slept++;
    }
  }
  return slept;
}

/** Scales sleeping workloads back to the replicas they had; answers how many. */
export async function wakeWorkloads(client: KubeClient, namespace: string): Promise<number> {
  let woken = 0;
  for (const { apiVersion, kind } of SCALABLE) {
    for (const obj of await client.list(apiVersion, kind, { namespace })) {
      const kept = Number(obj.metadata.annotations?.[SLEEPING_REPLICAS]);
      if (!Number.isInteger(kept)) continue;
      await client.patch(
        { apiVersion, kind, namespace, name: obj.metadata.name },
        { metadata: { annotations: { [SLEEPING_REPLICAS]: null } }, spec: { replicas: kept } },
        { type: 'merge', fieldManager: SLEEP_MANAGER },
      );
      woken++;
    }
  }
  return woken;
}
