// The resource manager on the Kubernetes API test server: dry-run all or nothing, proven
// unchanged objects skip their dry-run, stages in order, unchanged objects are not written.
import t from 'tap';
import { createKubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/refs.js';
import { createResourceManager } from '../../src/sync/apply.js';
import type { DesiredObject } from '../../src/sync/validate.js';
import { kubeForTest } from '../support/kube.js';

const desiredOf = (obj: KubeObject, newKind = false): DesiredObject => ({
  obj: { ...obj, metadata: { ...obj.metadata, labels: { 'app.kubernetes.io/managed-by': 'landfall', 'landfall.dev/app': 'web', ...obj.metadata.labels } } },
  source: `deploy/${obj.metadata.name}.yaml#1`,
  id: `${obj.metadata.namespace ?? ''}_${obj.metadata.name}_${obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : ''}_${obj.kind}`,
  namespaced: Boolean(obj.metadata.namespace),
  newKind,
});
const cm = (name: string, data: Record<string, string>) => desiredOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'web' }, data });

async function setup(t: { teardown(fn: () => unknown): void }) {
  const { kc, server } = await kubeForTest(t);
  server!.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  const client = await createKubeClient(kc, { retryBaseMs: 10 });
  t.teardown(() => client.close());
  return { server: server!, client, manager: createResourceManager({ client }) };
}

t.test('a failed dry-run fails the whole set and writes nothing', async (t) => {
  const { server, manager } = await setup(t);
  server.failNext({
    method: 'PATCH',
    pathRegex: /configmaps\/b$/,
    status: 422,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Invalid',
      message: 'ConfigMap "b" is invalid: data: Invalid value',
      code: 422,
    },
  });
  const err = await manager.dryRunAll([cm('a', { k: '1' }), cm('b', { k: '2' })], new Set()).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(err?.message, 'ConfigMap/web/b dry-run failed: ConfigMap "b" is invalid');
  t.same(
    server.requests.filter((r) => r.method === 'PATCH' && r.query.dryRun !== 'All'),
    [],
    'no write',
  );
});

t.test('an object the last sync verified, unchanged in Git and on the cluster, skips its dry-run; a write by anyone brings it back', async (t) => {
  const { server, client, manager } = await setup(t);
  const a = cm('a', { k: '1' });
  const b = cm('b', { k: '2' });
  const first = await manager.dryRunAll([a, b], new Set());
  await manager.applyStaged([a, b], first, { waitEstablished: async () => undefined });
  const live = await client.list('v1', 'ConfigMap', { namespace: 'web', labelSelector: 'landfall.dev/app=web' });
  const verified = new Map(
    live.map((o) => [
      `web_${o.metadata.name}__ConfigMap`,
      { fingerprint: first.fingerprints.get(`web_${o.metadata.name}__ConfigMap`)!, resourceVersion: String(o.metadata.resourceVersion) },
    ]),
  );

  server.clearRequests();
  const again = await manager.dryRunAll([cm('a', { k: '1' }), cm('b', { k: '2' })], new Set(), verified);
  t.same([...again.proven].sort(), ['web_a__ConfigMap', 'web_b__ConfigMap'], 'both proven unchanged');
  t.same(
    server.requests.filter((r) => r.query.dryRun === 'All'),
    [],
    'no dry-run sent',
  );
  t.same(
    (await manager.diff([cm('a', { k: '1' }), cm('b', { k: '2' })], again)).map((e) => e.action),
    ['unchanged', 'unchanged'],
  );

  server.edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'b' }, { data: { k: 'edited' } });
  const changedGit = cm('a', { k: 'new' });
  server.clearRequests();
  const third = await manager.dryRunAll([changedGit, cm('b', { k: '2' })], new Set(), verified);
  t.same([...third.proven], [], 'a new manifest and a write on the cluster both need the dry-run');
  t.equal(server.requests.filter((r) => r.query.dryRun === 'All').length, 2);
  t.same(
    (await manager.diff([changedGit, cm('b', { k: '2' })], third)).map((e) => [e.name, e.action, e.paths]),
    [
      ['a', 'configured', ['data.k']],
      ['b', 'configured', ['data.k']],
    ],
  );
});

t.test('stages: a CRD is applied and Established before its custom resource; unchanged objects are not written', async (t) => {
  const { server, manager } = await setup(t);
  const crd = desiredOf({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', kind: 'Widget' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
  const widget = desiredOf({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'web' }, spec: { size: 1 } }, true);
  const objects = [widget, cm('a', { k: '1' }), crd];
  const dry = await manager.dryRunAll(objects, new Set());
  t.ok(dry.deferred.has(widget.id), 'the custom resource waits for its CRD');
  const established: string[] = [];
  const entries = await manager.applyStaged(objects, dry, { waitEstablished: async (crds) => void established.push(...crds.map((c) => c.metadata.name)) });
  t.same(established, ['widgets.example.com']);
  const writes = server.requests.filter((r) => r.method === 'PATCH' && r.query.dryRun !== 'All').map((r) => r.path.split('/').slice(-2).join('/'));
  t.same(writes, ['customresourcedefinitions/widgets.example.com', 'configmaps/a', 'widgets/w'], 'CRD first, the custom resource last');
  t.same(
    entries.map((e) => e.action),
    ['created', 'created', 'created'],
  );

  server.clearRequests();
  const second = await manager.dryRunAll(
    objects.map((o) => ({ ...o, newKind: false })),
    new Set(),
  );
  const again = await manager.applyStaged(
    objects.map((o) => ({ ...o, newKind: false })),
    second,
    { waitEstablished: async () => undefined },
  );
  t.same(
    again.map((e) => e.action),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  t.same(
    server.requests.filter((r) => r.method === 'PATCH' && r.query.dryRun !== 'All'),
    [],
    'nothing written the second time',
  );
});
