import type { KubeClient } from '../kube/client.js';
import { groupKind, type KubeObject, type ObjectRef } from '../kube/refs.js';
import { z } from 'zod';
import { isRecord } from '../unknown.js';
import { APP_LABEL, applySetId, FIELD_MANAGER, inventoryName, MANAGED_BY } from './labels.js';

/** One object an app owns, as recorded in its inventory. */
export interface InventoryEntry {
  /** `namespace_name_group_Kind`. */
  id: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** For a Job that removes itself when finished: the fingerprint of the manifest applied. */
  applied?: string;
}

/** The inventory as stored: checked when read back, so a hand-edited ConfigMap cannot feed pruning garbage. */
const inventoryEntries = z.array(
  z.object({
    id: z.string(),
    apiVersion: z.string(),
    kind: z.string(),
    namespace: z.string().optional(),
    name: z.string(),
    applied: z.string().optional(),
  }),
);

/** Where an app's inventory lives. */
export interface InventoryLocation {
  app: string;
  namespace: string;
}

/** The tool name and version ApplySet tooling annotations carry. */
const TOOLING = 'landfall/v1';

/**
 * An app's inventory, kept in the cluster as an ApplySet parent ConfigMap (`landfall.<app>` in the
 * app's namespace) rather than only in Redis: pruning decisions then survive the loss of Redis,
 * and kubectl's ApplySet tooling can read what Landfall owns.
 */
export function createInventory(client: KubeClient, where: InventoryLocation) {
  const name = inventoryName(where.app);
  const id = applySetId(name, where.namespace);
  const ref: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: where.namespace, name };
  // What the cluster holds, as last read or written: a write that would change nothing is
  // skipped, so an unchanged re-sync writes nothing at all.
  let known: string | undefined;

  return {
    /** The ApplySet id every member is labelled with. */
    id,
    ref,
    /** The recorded entries and revision; empty when the app never deployed here. */
    async read(): Promise<{ entries: InventoryEntry[]; revision?: string }> {
      const obj = await client.get(ref);
      known = obj ? fingerprint(obj) : undefined;
      const text = obj && isRecord(obj.data) ? obj.data.inventory : undefined;
      if (!obj || typeof text !== 'string' || !text) return { entries: [] };
      try {
        const parsed = inventoryEntries.safeParse(JSON.parse(text));
        const revision = obj.metadata.annotations?.['landfall.dev/revision'];
        return { entries: parsed.success ? parsed.data : [], ...(revision ? { revision } : {}) };
      } catch {
        return { entries: [] };
      }
    },
    /** Writes the inventory (server-side apply, Landfall's field manager). */
    async write(entries: InventoryEntry[], revision: string): Promise<void> {
      const sorted = [...new Map(entries.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const kinds = [...new Set(sorted.map((e) => groupKind(e.apiVersion, e.kind)))].sort();
      const namespaces = [...new Set(sorted.map((e) => e.namespace).filter((n): n is string => Boolean(n) && n !== where.namespace))].sort();
      const body: KubeObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace: where.namespace,
          labels: { 'applyset.kubernetes.io/id': id, [MANAGED_BY]: 'landfall', [APP_LABEL]: where.app },
          annotations: {
            'applyset.kubernetes.io/tooling': TOOLING,
            'applyset.kubernetes.io/contains-group-kinds': kinds.join(','),
            ...(namespaces.length ? { 'applyset.kubernetes.io/additional-namespaces': namespaces.join(',') } : {}),
            'landfall.dev/revision': revision,
          },
        },
        data: { inventory: JSON.stringify(sorted) },
      };
      const next = fingerprint(body);
      if (next === known) return;
      await client.apply(body, { fieldManager: FIELD_MANAGER, force: true });
      known = next;
    },
  };
}

/** What of the inventory ConfigMap Landfall writes: its data and its own labels and annotations. */
function fingerprint(obj: KubeObject & { data?: Record<string, string> }): string {
  const labels = obj.metadata.labels ?? {};
  const annotations = obj.metadata.annotations ?? {};
  const pick = (map: Record<string, string>, prefixes: string[]) =>
    Object.entries(map)
      .filter(([k]) => prefixes.some((p) => k.startsWith(p)))
      .sort();
  return JSON.stringify([
    obj.data ?? {},
    pick(labels, ['applyset.kubernetes.io/', MANAGED_BY, APP_LABEL]),
    pick(annotations, ['applyset.kubernetes.io/', 'landfall.dev/']),
  ]);
}

/** The inventory handle's type. */
export type Inventory = ReturnType<typeof createInventory>;
