// The sync pipeline against real git, real Redis and the Kubernetes API test server.
import t from 'tap';
import { configMap, deployment, service, syncHarness } from '../support/sync.js';

const actions = (record: { changes: { kind: string; name: string; action: string }[] }) =>
  Object.fromEntries(record.changes.map((c) => [`${c.kind}/${c.name}`, c.action]));

t.test('first push deploys; a second commit changes one object and deletes another', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const first = await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/svc.yaml': service('web'),
    'deploy/cm.yaml': configMap('settings', { color: 'blue' }),
    'deploy/old.yaml': configMap('old'),
  });
  const one = await h.run({ sha: first });
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.equal(one.sha, first);
  t.same(actions(one), { 'ConfigMap/old': 'created', 'ConfigMap/settings': 'created', 'Service/web': 'created', 'Deployment/web': 'created' });
  t.same(
    one.phases.map((p) => p.name),
    ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'apply', 'health', 'prune'],
  );
  t.ok(
    one.phases.every((p) => p.finishedAt !== undefined && p.finishedAt >= p.startedAt),
    'every phase timed',
  );
  t.same(one.health.map((e) => [e.kind, e.status]).sort(), [
    ['ConfigMap', 'Current'],
    ['ConfigMap', 'Current'],
    ['Deployment', 'Current'],
    ['Service', 'Current'],
  ]);
  const live = h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' })!;
  t.match(live.metadata, { labels: { 'app.kubernetes.io/managed-by': 'landfall', 'landfall.dev/app': 'web' } });
  t.ok(
    (live.metadata as any).managedFields.some((m: any) => m.manager === 'landfall' && m.operation === 'Apply'),
    'field manager landfall',
  );
  const inventory = h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'landfall.web' })!;
  t.equal(JSON.parse((inventory as any).data.inventory).length, 4, 'the inventory lists four objects');
  t.equal(inventory.metadata!.annotations?.['applyset.kubernetes.io/contains-group-kinds'], 'ConfigMap,Deployment.apps,Service');
  t.equal((await h.history.appState('web')).deployedSha, first);

  const second = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { color: 'green' }), 'deploy/old.yaml': null });
  h.server.clearRequests();
  const two = await h.run({ sha: second });
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  t.same(actions(two), { 'ConfigMap/settings': 'configured', 'Service/web': 'unchanged', 'Deployment/web': 'unchanged', 'ConfigMap/old': 'deleted' });
  t.same(two.changes.find((c) => c.name === 'settings')?.paths, ['data.color']);
  t.equal(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'old' }), undefined, 'pruned from the cluster');
  t.same((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }) as any).data, { color: 'green' });
  const writes = h.server.requests.filter((r) => (r.method === 'PATCH' && r.query.dryRun !== 'All') || r.method === 'DELETE');
  t.same(
    writes.map((r) => `${r.method} ${r.path}`).sort(),
    [
      'DELETE /api/v1/namespaces/web/configmaps/old',
      'PATCH /api/v1/namespaces/web/configmaps/landfall.web',
      'PATCH /api/v1/namespaces/web/configmaps/landfall.web',
      'PATCH /api/v1/namespaces/web/configmaps/settings',
    ],
    'only the changed object, the prune and the inventory were written',
  );

  h.server.clearRequests();
  const three = await h.run({ sha: second, trigger: 'manual' });
  t.equal(three.result, 'succeeded');
  t.ok(
    three.changes.every((c) => c.action === 'unchanged'),
    'an unchanged re-sync',
  );
  const objectWrites = h.server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All' && !r.path.endsWith('/landfall.web'));
  t.same(objectWrites, [], 'writes nothing but the inventory');
});

t.test('the body sent is the manifest exactly as rendered: a CRD and its custom resource in one commit', async (t) => {
  const h = await syncHarness(t, ', path: deploy, allowClusterScoped: true');
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
  const widget = `apiVersion: example.com/v1
kind: Widget
metadata: { name: gizmo }
spec:
  arbitrary: { nested: [1, 2, { deep: true }] }
  anotherField: hello
`;
  const sha = await h.repo.commit({ 'deploy/crd.yaml': crd, 'deploy/widget.yaml': widget });
  const record = await h.run({ sha });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.same(actions(record), { 'CustomResourceDefinition/widgets.example.com': 'created', 'Widget/gizmo': 'created' });
  const crdApply = h.server.requests.find(
    (r) => r.method === 'PATCH' && r.path.endsWith('/customresourcedefinitions/widgets.example.com') && r.query.dryRun !== 'All',
  );
  t.equal(
    (crdApply?.parsed as any).spec.versions[0].schema.openAPIV3Schema['x-kubernetes-preserve-unknown-fields'],
    true,
    'x-kubernetes-* keys reach the server',
  );
  const widgetApply = h.server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/widgets/gizmo') && r.query.dryRun !== 'All');
  t.same(
    (widgetApply?.parsed as any).spec,
    { arbitrary: { nested: [1, 2, { deep: true }] }, anotherField: 'hello' },
    'every field of the custom resource reaches the server',
  );
  t.ok(h.server.requests.findIndex((r) => r === crdApply) < h.server.requests.findIndex((r) => r === widgetApply), 'the CRD is applied first');
  t.same((h.server.get({ apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'web', name: 'gizmo' }) as any).spec.anotherField, 'hello');
});

t.test('all or nothing: one invalid manifest among valid ones writes nothing', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({
    'deploy/a.yaml': configMap('a'),
    'deploy/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n',
    'deploy/c.yaml': configMap('c'),
  });
  const record = await h.run({ sha });
  t.equal(record.result, 'failed');
  t.equal(record.error?.code, 'MANIFEST_INVALID');
  t.match(record.error?.message, /deploy\/b\.yaml#1: ConfigMap has no metadata\.name/);
  t.notOk(record.thrown && (record.thrown as any).transient, 'permanent');
  t.same(
    h.server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All'),
    [],
    'nothing written',
  );
});

t.test('all or nothing: a failed dry-run writes nothing', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  // The test server refuses an immutable field change like a real one; first deploy a Service.
  await h.repo.commit({
    'deploy/svc.yaml': `apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  clusterIP: 10.96.0.50\n  ports: [ { port: 80 } ]\n`,
  });
  t.equal((await h.run()).result, 'succeeded');
  const sha = await h.repo.commit({
    'deploy/a.yaml': configMap('a'),
    'deploy/svc.yaml': `apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  clusterIP: 10.96.0.99\n  ports: [ { port: 80 } ]\n`,
  });
  h.server.clearRequests();
  const record = await h.run({ sha });
  t.equal(record.result, 'failed');
  t.equal(record.error?.code, 'DRY_RUN_FAILED');
  t.match(
    record.error?.message,
    /^Service\/web\/web dry-run failed: Service "web" is invalid: spec.clusterIPs?(\[0\])?: .*(may not change once set|immutable)/,
  );
  t.equal(record.error?.object, 'Service/web/web');
  t.same(
    h.server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All'),
    [],
    'nothing written',
  );
  t.equal(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'a' }), undefined);
});

t.test('namespace policy: an object aimed outside allowedNamespaces is refused, naming the file', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/evil.yaml': configMap('evil', {}, '\n  namespace: kube-system') });
  const record = await h.run({ sha });
  t.equal(record.error?.code, 'MANIFEST_INVALID');
  t.match(
    record.error?.message,
    /deploy\/evil\.yaml#1: ConfigMap\/kube-system\/evil is in namespace "kube-system", which this app may not deploy to \(allowedNamespaces: web\)/,
  );
  t.same(
    h.server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All'),
    [],
  );
});

t.test('cluster-scoped objects need allowClusterScoped', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({
    'deploy/crb.yaml':
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: pwn }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects: [ { kind: ServiceAccount, name: default, namespace: web } ]\n',
  });
  const record = await h.run({ sha });
  t.match(
    record.error?.message,
    /deploy\/crb\.yaml#1: ClusterRoleBinding\/pwn is cluster-scoped, and this app may not change cluster-scoped objects \(set allowClusterScoped: true/,
  );
  t.equal(h.server.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'pwn' }), undefined);
});

t.test('Kustomize overlay and Helm chart deploy', async (t) => {
  t.test('kustomize', async (t) => {
    const h = await syncHarness(t, ', path: overlays/prod');
    const sha = await h.repo.commit({
      'base/kustomization.yaml': 'resources: [web.yaml]\n',
      'base/web.yaml': deployment('web'),
      'overlays/prod/kustomization.yaml': 'resources: [../../base]\nnamePrefix: prod-\nimages: [ { name: nginx, newTag: "1.27" } ]\n',
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    const live = h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'prod-web' }) as any;
    t.equal(live.spec.template.spec.containers[0].image, 'nginx:1.27');
  });
  t.test('helm', async (t) => {
    const h = await syncHarness(t, ', path: chart, helm: { values: { replicas: 3 } }');
    const sha = await h.repo.commit({
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/values.yaml': 'replicas: 1\n',
      'chart/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  replicas: "{{ .Values.replicas }}"\n',
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'web-config' }) as any).data, { replicas: '3' });
  });
});

t.test('a rollout that fails or hangs fails the sync, naming the Deployment and its condition', async (t) => {
  t.test('ProgressDeadlineExceeded fails at once', async (t) => {
    const h = await syncHarness(t, ', path: deploy');
    const sha = await h.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:fail') });
    const started = Date.now();
    const record = await h.run({ sha });
    t.equal(record.result, 'failed');
    t.equal(record.error?.code, 'HEALTH_FAILED');
    t.match(record.error?.message, /^Deployment\/web\/web ProgressDeadlineExceeded: /);
    t.ok(Date.now() - started < 8_000, 'without waiting for the timeout');
  });
  t.test('a hang fails after healthTimeout', async (t) => {
    const h = await syncHarness(t, ', path: deploy, healthTimeout: 1s');
    const sha = await h.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:hang'), 'deploy/cm.yaml': configMap('ok') });
    const started = Date.now();
    const record = await h.run({ sha });
    t.equal(record.error?.code, 'HEALTH_TIMEOUT');
    t.match(record.error?.message, /^not healthy after 1s: Deployment\/web\/web \w+: /);
    t.ok(Date.now() - started >= 1_000, 'waited the timeout');
    t.equal(record.health.find((e) => e.kind === 'ConfigMap')?.status, 'Current', 'health per object recorded');
  });
});

t.test('empty render: refused without allowEmpty, prunes everything with it', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/a.yaml': configMap('a') });
  t.equal((await h.run()).result, 'succeeded');
  await h.repo.commit({ 'deploy/a.yaml': null, 'deploy/README.md': 'nothing here' });
  const refused = await h.run();
  t.equal(refused.error?.code, 'EMPTY_RENDER');
  t.match(refused.error?.message, /rendered no objects; refusing to prune everything/);
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'a' }), 'still there');

  const allowed = await syncHarness(t, ', path: deploy, allowEmpty: true');
  await allowed.repo.commit({ 'deploy/a.yaml': configMap('a') });
  t.equal((await allowed.run()).result, 'succeeded');
  await allowed.repo.commit({ 'deploy/a.yaml': null, 'deploy/README.md': 'nothing here' });
  const emptied = await allowed.run();
  t.equal(emptied.result, 'succeeded', emptied.error?.message ?? '');
  t.same(actions(emptied), { 'ConfigMap/a': 'deleted' });
});

t.test('prune opt-out, objects no longer ours, and prune: false', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({
    'deploy/keep.yaml': configMap('keep', { a: 'b' }, '\n  annotations: { landfall.dev/prune: disabled }'),
    'deploy/adopted.yaml': configMap('adopted'),
    'deploy/gone.yaml': configMap('gone'),
  });
  t.equal((await h.run()).result, 'succeeded');
  // Someone takes `adopted` away from Landfall by relabelling it.
  h.server.edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'adopted' }, { metadata: { labels: { 'landfall.dev/app': 'someone-else' } } });
  await h.repo.commit({ 'deploy/keep.yaml': null, 'deploy/adopted.yaml': null, 'deploy/gone.yaml': null, 'deploy/new.yaml': configMap('new') });
  const record = await h.run();
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.same(actions(record), { 'ConfigMap/new': 'created', 'ConfigMap/keep': 'skipped', 'ConfigMap/adopted': 'skipped', 'ConfigMap/gone': 'deleted' });
  t.match(record.changes.find((c) => c.name === 'keep')?.message, /landfall\.dev\/prune: disabled/);
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'keep' }));
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'adopted' }));

  const off = await syncHarness(t, ', path: deploy, prune: false');
  await off.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/b.yaml': configMap('b') });
  t.equal((await off.run()).result, 'succeeded');
  await off.repo.commit({ 'deploy/b.yaml': null });
  const kept = await off.run();
  t.equal(kept.result, 'succeeded');
  t.ok(off.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'b' }), 'prune: false keeps it');
  t.match(kept.log.map((l) => l.msg).join('\n'), /1 object\(s\) are no longer in Git; prune is off/);
});

t.test('a failed delete stays in the inventory and is retried by the next sync', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/b.yaml': configMap('b') });
  t.equal((await h.run()).result, 'succeeded');
  await h.repo.commit({ 'deploy/b.yaml': null });
  h.server.deny({ verb: 'delete', resource: 'configmaps', name: 'b' });
  const failed = await h.run();
  t.equal(failed.error?.code, 'PRUNE_FAILED');
  t.match(failed.error?.message, /ConfigMap\/web\/b delete failed: .*forbidden/);
  const inventory = JSON.parse((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'landfall.web' }) as any).data.inventory);
  t.ok(
    inventory.some((e: any) => e.name === 'b'),
    'b is still tracked',
  );
  h.server.reset();
  h.server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  // A fresh server lost everything; Landfall re-creates a and, with b gone already, drops it.
  const next = await h.run({ trigger: 'manual' });
  t.equal(next.result, 'succeeded', next.error?.message ?? '');
});

t.test('createNamespace creates the app namespace; objects are dry-run after it exists', async (t) => {
  const h = await syncHarness(t, ', path: deploy, createNamespace: true', { createNamespace: false });
  await h.repo.commit({ 'deploy/a.yaml': configMap('a') });
  const record = await h.run();
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'Namespace', name: 'web' }), 'namespace created');
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'a' }));
  t.same(actions(record), { 'ConfigMap/a': 'created' }, 'the namespace is not part of the change set or inventory');
});

t.test('transient API faults are retried inside a sync', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/a.yaml': configMap('a') });
  h.server.failNext({ method: 'PATCH', status: 500, times: 2 });
  h.server.failNext({ method: 'GET', status: 429, headers: { 'Retry-After': '0' } });
  const record = await h.run();
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.ok(h.client.stats.retries >= 3, `${h.client.stats.retries} retries`);
});

t.test('an API that stays down fails the sync as transient (BullMQ retries it later)', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/a.yaml': configMap('a') });
  h.server.failNext({ status: 503, times: 1000 });
  const record = await h.run();
  t.equal(record.result, 'failed');
  t.equal(record.error?.transient, true);
  t.match(record.error?.message, /unable to handle the request|503/);
});
