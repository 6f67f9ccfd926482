// Whole syncs on the real control plane (kube-apiserver, etcd, controller-manager, scheduler,
// kwok nodes): real git, real Redis, real kustomize and helm, and the real API server's apply,
// dry-run, controllers and garbage collector. Nothing about Kubernetes is simulated here.
import t from 'tap';
import { runPlan } from '../../../src/sync/plan.js';
import { detectDrift } from '../../../src/sync/drift.js';
import type { KubeObject } from '../../../src/kube/refs.js';
import { auditedWrites, auditOffset, realKube, realKubeSkip, waitReal } from '../../support/real-kube.js';
import { configMap, deployment, realSyncHarness, service } from '../../support/sync.js';
import { uniqueName } from '../../support/kube.js';

const skip = realKubeSkip();

const actions = (record: { changes: { kind: string; name: string; action: string }[] }) =>
  Object.fromEntries(record.changes.map((c) => [`${c.kind}/${c.name}`, c.action]));

/** Resource versions of every object an app's record names, by `Kind/name`. */
async function versions(
  h: { client: { get(ref: { apiVersion: string; kind: string; name: string; namespace?: string }): Promise<KubeObject | undefined> } },
  record: { changes: { apiVersion: string; kind: string; name: string; namespace?: string }[] },
) {
  const out: Record<string, string | undefined> = {};
  for (const c of record.changes) {
    const live = await h.client.get({ apiVersion: c.apiVersion, kind: c.kind, name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) });
    out[`${c.kind}/${c.name}`] = live?.metadata.resourceVersion as string | undefined;
  }
  return out;
}

t.test('push, change, prune and an unchanged re-sync on a real API server', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const ns = h.namespace;
  const first = await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/svc.yaml': service('web'),
    'deploy/cm.yaml': configMap('settings', { color: 'blue' }),
    'deploy/old.yaml': configMap('old'),
  });
  const one = await h.run({ sha: first });
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.same(actions(one), { 'ConfigMap/old': 'created', 'ConfigMap/settings': 'created', 'Service/web': 'created', 'Deployment/web': 'created' });
  t.ok(
    one.health.every((e) => e.status === 'Current'),
    'every object Current',
  );

  // The real controllers rolled the Deployment out: a ReplicaSet it owns, and Ready pods on kwok's node.
  const replicaSets = await h.client.list('apps/v1', 'ReplicaSet', { namespace: ns, labelSelector: 'app=web' });
  t.equal(replicaSets.length, 1, 'one ReplicaSet');
  t.equal((replicaSets[0]!.metadata.ownerReferences as { kind: string; name: string }[])[0]?.name, 'web', 'owned by the Deployment');
  const pods = await h.client.list('v1', 'Pod', { namespace: ns, labelSelector: 'app=web' });
  t.equal(pods.length, 2, 'two pods');
  for (const pod of pods) {
    const status = pod.status as { phase: string; conditions: { type: string; status: string }[] };
    t.equal(status.phase, 'Running');
    t.ok(
      status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      `${pod.metadata.name} Ready`,
    );
    t.equal((pod.spec as { nodeName: string }).nodeName, 'kwok-node-0', 'scheduled by the real scheduler');
  }
  const live = (await kube.get('apps/v1', 'Deployment', 'web', ns)) as KubeObject & { status: { readyReplicas: number } };
  t.equal(live.status.readyReplicas, 2);
  t.ok(
    (live.metadata.managedFields as { manager: string; operation: string }[]).some((m) => m.manager === 'landfall' && m.operation === 'Apply'),
    'applied as field manager landfall',
  );

  const second = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { color: 'green' }), 'deploy/old.yaml': null });
  const two = await h.run({ sha: second });
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  t.same(actions(two), { 'ConfigMap/settings': 'configured', 'Service/web': 'unchanged', 'Deployment/web': 'unchanged', 'ConfigMap/old': 'deleted' });
  t.same(two.changes.find((c) => c.name === 'settings')?.paths, ['data.color']);
  t.equal(await kube.get('v1', 'ConfigMap', 'old', ns), undefined, 'pruned from the cluster');
  t.same((await kube.get('v1', 'ConfigMap', 'settings', ns))?.data, { color: 'green' });

  const before = await versions(h, two);
  const inventoryBefore = (await kube.get('v1', 'ConfigMap', 'landfall.web', ns))?.metadata.resourceVersion;
  const offset = kube.info ? auditOffset(kube.info) : 0;
  const three = await h.run({ sha: second, trigger: 'manual' });
  t.equal(three.result, 'succeeded', three.error?.message ?? '');
  t.ok(
    three.changes.every((c) => c.action === 'unchanged'),
    'an unchanged re-sync',
  );
  t.same(await versions(h, three), Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'ConfigMap/old')), 'no object has a new resourceVersion');
  t.equal((await kube.get('v1', 'ConfigMap', 'landfall.web', ns))?.metadata.resourceVersion, inventoryBefore, 'nor has the inventory');
  if (kube.info) {
    const writes = auditedWrites(kube.info, offset, (e) => e.objectRef?.namespace === ns && e.userAgent?.startsWith('landfall') === true);
    t.same(
      writes.map((e) => `${e.verb} ${e.requestURI}`),
      [],
      'the audit log records no write from Landfall',
    );
  }
});

t.test('Kustomize and Helm render and deploy', { skip }, async (t) => {
  const kube = await realKube(t);
  t.test('kustomize overlay', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: overlays/prod, healthTimeout: 90s');
    const sha = await h.repo.commit({
      'base/kustomization.yaml': 'resources: [web.yaml]\n',
      'base/web.yaml': deployment('web'),
      'overlays/prod/kustomization.yaml': 'resources: [../../base]\nnamePrefix: prod-\nimages: [ { name: nginx, newTag: "1.27" } ]\n',
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    const live = (await kube.get('apps/v1', 'Deployment', 'prod-web', h.namespace)) as KubeObject & {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    t.equal(live.spec.template.spec.containers[0]!.image, 'nginx:1.27');
  });
  t.test('helm chart with values', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: chart, helm: { values: { replicas: 3 } }, healthTimeout: 90s');
    const sha = await h.repo.commit({
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/values.yaml': 'replicas: 1\n',
      'chart/templates/web.yaml': deployment('{{ .Release.Name }}-app').replace('replicas: 2', 'replicas: {{ .Values.replicas }}'),
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    const live = (await kube.get('apps/v1', 'Deployment', 'web-app', h.namespace)) as KubeObject & { status: { readyReplicas: number } };
    t.equal(live.status.readyReplicas, 3, 'three pods Ready');
  });
});

t.test('a force-push to an older commit rolls the cluster back', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy');
  const a = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { version: 'a' }) });
  t.equal((await h.run({ sha: a })).result, 'succeeded');
  const b = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { version: 'b' }), 'deploy/extra.yaml': configMap('extra') });
  t.equal((await h.run({ sha: b })).result, 'succeeded');
  t.same((await kube.get('v1', 'ConfigMap', 'settings', h.namespace))?.data, { version: 'b' });
  await h.repo.forcePush(a);
  const back = await h.run({ sha: a });
  t.equal(back.result, 'succeeded', back.error?.message ?? '');
  t.equal(back.sha, a);
  t.same((await kube.get('v1', 'ConfigMap', 'settings', h.namespace))?.data, { version: 'a' }, 'the older content is back');
  t.equal(await kube.get('v1', 'ConfigMap', 'extra', h.namespace), undefined, 'what the newer commit added is pruned');
});

t.test('drift made with kubectl by another field manager is found and healed', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const sha = await h.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/cm.yaml': configMap('settings', { color: 'blue' }) });
  t.equal((await h.run({ sha })).result, 'succeeded');
  const clean = await detectDrift(h.deps, h.app, sha);
  t.same(clean.drift, [], 'no drift right after the deploy');

  const edit = await kube.kubectl(['-n', h.namespace, 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"red"}}']);
  t.equal(edit.code, 0, edit.stderr);
  const image = await kube.kubectl(['-n', h.namespace, 'set', 'image', 'deployment/web', 'web=nginx:1.26']);
  t.equal(image.code, 0, image.stderr);
  const drifted = await detectDrift(h.deps, h.app, sha);
  const byName = Object.fromEntries(drifted.drift.map((d) => [`${d.kind}/${d.name}`, d.paths]));
  t.same(byName['ConfigMap/settings'], ['data.color'], 'the ConfigMap field kubectl changed');
  t.match(byName['Deployment/web'], [/^spec\.template\.spec\.containers\[(name=web|0)\]\.image$/], 'the image kubectl changed');

  const heal = await h.run({ sha, trigger: 'heal' });
  t.equal(heal.result, 'succeeded', heal.error?.message ?? '');
  t.same((await kube.get('v1', 'ConfigMap', 'settings', h.namespace))?.data, { color: 'blue' }, 'healed');
  const live = (await kube.get('apps/v1', 'Deployment', 'web', h.namespace)) as KubeObject & {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  t.equal(live.spec.template.spec.containers[0]!.image, 'nginx:1.25');
  t.same((await detectDrift(h.deps, h.app, sha)).drift, [], 'no drift after healing');

  await kube.kubectl(['-n', h.namespace, 'delete', 'configmap', 'settings']);
  const missing = await detectDrift(h.deps, h.app, sha);
  t.same(
    missing.drift.map((d) => [d.name, d.missing]),
    [['settings', true]],
    'an object deleted by hand is missing',
  );
});

t.test('a plan dry-runs and diffs against the live cluster and writes nothing', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy');
  const base = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { color: 'blue' }), 'deploy/gone.yaml': configMap('gone') });
  t.equal((await h.run({ sha: base })).result, 'succeeded');
  const head = await h.repo.commit(
    { 'deploy/cm.yaml': configMap('settings', { color: 'green' }), 'deploy/gone.yaml': null, 'deploy/new.yaml': configMap('new') },
    'pr',
    'feature',
  );
  const offset = kube.info ? auditOffset(kube.info) : 0;
  const before = (await kube.get('v1', 'ConfigMap', 'settings', h.namespace))?.metadata.resourceVersion;
  const { listener: _listener, ...planDeps } = h.deps;
  const plan = await runPlan(planDeps, {
    app: h.app,
    data: {
      app: 'web',
      forge: 'github',
      repo: 'acme/web',
      number: 7,
      action: 'opened',
      headSha: head,
      headBranch: 'feature',
      headRepo: 'acme/web',
      baseBranch: 'main',
      receivedAt: Date.now(),
    },
    jobId: 'plan-web-7',
    attempt: 1,
    finalAttempt: true,
  });
  t.equal(plan.result, 'succeeded', plan.error?.message ?? '');
  t.same(actions(plan), { 'ConfigMap/settings': 'configured', 'ConfigMap/new': 'created', 'ConfigMap/gone': 'deleted' });
  t.equal((await kube.get('v1', 'ConfigMap', 'settings', h.namespace))?.metadata.resourceVersion, before, 'nothing changed');
  t.equal(await kube.get('v1', 'ConfigMap', 'new', h.namespace), undefined, 'nothing created');
  t.ok(await kube.get('v1', 'ConfigMap', 'gone', h.namespace), 'nothing pruned');
  if (kube.info) {
    const writes = auditedWrites(kube.info, offset, (e) => e.objectRef?.namespace === h.namespace && e.userAgent?.startsWith('landfall') === true);
    t.same(
      writes.map((e) => `${e.verb} ${e.requestURI}`),
      [],
      'the audit log records dry-runs only',
    );
  }
});

t.test('a CRD and its custom resource in one commit, and a Namespace made by the commit', { skip }, async (t) => {
  const kube = await realKube(t);
  const group = `${uniqueName('g')}.landfall.test`;
  const extraNs = uniqueName('made');
  const h = await realSyncHarness(t, kube, `, path: deploy, allowClusterScoped: true, allowedNamespaces: [$NS, ${extraNs}]`);
  t.teardown(async () => {
    await kube.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined);
    await kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: extraNs }).catch(() => undefined);
  });
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.${group} }
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer }
`;
  const sha = await h.repo.commit({
    'deploy/crd.yaml': crd,
    'deploy/widget.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n`,
    'deploy/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${extraNs} }\n`,
    'deploy/in-ns.yaml': configMap('inside', { a: '1' }, `\n  namespace: ${extraNs}`),
  });
  const record = await h.run({ sha });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  const widget = await kube.get(`${group}/v1`, 'Widget', 'w1', h.namespace);
  t.same(widget?.spec, { size: 3 }, 'the custom resource is served and stored');
  t.same((await kube.get('v1', 'ConfigMap', 'inside', extraNs))?.data, { a: '1' }, 'an object in the namespace the commit made');
});

t.test('a rollout that fails is reported with the object and the reason', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 60s');
  const failing = deployment('web').replace('metadata: { labels: { app: web } }', 'metadata: { labels: { app: web, landfall.dev/test-behaviour: fail } }');
  const sha = await h.repo.commit({ 'deploy/web.yaml': failing });
  const record = await h.run({ sha });
  t.equal(record.result, 'failed');
  t.match(record.error?.object ?? '', /Deployment\/.*\/web|Pod\/.*\/web-/, 'names the object');
  t.match(record.error?.message ?? '', /web/, record.error?.message ?? '');
  await waitReal('pods to exist', async () => (await h.client.list('v1', 'Pod', { namespace: h.namespace })).length > 0);
});
