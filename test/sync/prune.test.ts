// The one prune decision, for the sync that prunes and the plan that predicts it.
import t from 'tap';
import { createKubeClient } from '../../src/kube/client.js';
import { decidePrune, planPrune, prune } from '../../src/sync/prune.js';
import type { InventoryEntry } from '../../src/sync/inventory.js';
import { kubeForTest } from '../support/kube.js';

const entry = (name: string, apiVersion = 'v1', kind = 'ConfigMap'): InventoryEntry => ({
  id: `web_${name}__${kind}`,
  apiVersion,
  kind,
  name,
  namespace: 'web',
});
const ours = { 'app.kubernetes.io/managed-by': 'landfall', 'landfall.dev/app': 'web' };

t.test('delete, gone, keep (not ours, opted out), unreadable (kind not served): the same for prune and plan', async (t) => {
  const { kc, server } = await kubeForTest(t);
  server!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  server!.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stale', namespace: 'web', labels: ours } });
  server!.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'adopted-by-another', namespace: 'web', labels: { ...ours, 'landfall.dev/app': 'shop' } },
  });
  server!.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'pinned', namespace: 'web', labels: ours, annotations: { 'landfall.dev/prune': 'disabled' } },
  });
  const client = await createKubeClient(kc, { retryBaseMs: 10, attempts: 1 });
  t.teardown(() => client.close());
  const stale = [entry('stale'), entry('gone'), entry('adopted-by-another'), entry('pinned'), entry('w', 'example.com/v1beta1', 'Widget')];
  t.same(await Promise.all(stale.map(async (e) => (await decidePrune(client, 'web', e)).verdict)), ['delete', 'gone', 'keep', 'keep', 'unreadable']);
  const planned = await planPrune(client, 'web', stale, true);
  t.same(
    planned.map((e) => [e.name, e.action]),
    [
      ['stale', 'deleted'],
      ['adopted-by-another', 'skipped'],
      ['pinned', 'skipped'],
      ['w', 'skipped'],
    ],
    'the plan (gone objects are not mentioned)',
  );
  t.same(
    (await planPrune(client, 'web', stale, false)).map((e) => e.action),
    ['skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
    'prune off',
  );
  const result = await prune(client, 'web', stale);
  t.same(
    result.entries.map((e) => [e.name, e.action]).sort(),
    [
      ['adopted-by-another', 'skipped'],
      ['gone', 'deleted'],
      ['pinned', 'skipped'],
      ['stale', 'deleted'],
      ['w', 'skipped'],
    ].sort(),
  );
  t.same(
    result.kept.map((e) => e.name),
    ['w'],
    'only the unreadable one stays in the inventory',
  );
  t.equal(server!.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'stale' }), undefined, 'deleted');
  t.ok(server!.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'pinned' }), 'kept');
});

t.test('a delete that fails stays in the inventory and is an error', async (t) => {
  const { kc, server } = await kubeForTest(t);
  server!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  server!.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stale', namespace: 'web', labels: ours } });
  server!.deny({ verb: 'delete', resource: 'configmaps' });
  const client = await createKubeClient(kc, { retryBaseMs: 10, attempts: 1 });
  t.teardown(() => client.close());
  const result = await prune(client, 'web', [entry('stale')]);
  t.same(
    result.kept.map((e) => e.name),
    ['stale'],
  );
  t.equal(result.errors.length, 1);
  t.match(result.entries[0], { action: 'failed', message: /ConfigMap\/web\/stale delete failed: .*forbidden/ });
});
