// Kubernetes correctness (issue "ten behaviours a real cluster gets wrong"), on the Kubernetes
// API test server where it models the behaviour; test/real/kube/correctness.test.ts runs the
// same cases on the real control plane.
import t from 'tap';
import { detectDrift } from '../../src/sync/drift.js';
import { runPlan } from '../../src/sync/plan.js';
import { autoscaler, job, selectorDeployment, twoMounts, widgetCrd, widgetCrdVersions } from '../support/manifests.js';
import { deployment, syncHarness } from '../support/sync.js';

const actions = (record: { changes: { kind: string; name: string; action: string }[] }) =>
  Object.fromEntries(record.changes.map((c) => [`${c.kind}/${c.name}`, c.action]));

t.test('1. list items that share a name: no false change, no false unchanged', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({ 'deploy/web.yaml': twoMounts() });
  t.equal((await h.run({ sha })).result, 'succeeded');
  const again = await h.run({ sha, trigger: 'manual' });
  t.same(actions(again), { 'Deployment/web': 'unchanged' }, 'a re-sync writes nothing');
  t.same((await detectDrift(h.deps, h.app, sha)).drift, [], 'and is no drift');
  const next = await h.repo.commit({ 'deploy/web.yaml': twoMounts('c.conf') });
  const changed = await h.run({ sha: next });
  t.same(actions(changed), { 'Deployment/web': 'configured' });
  t.same(changed.changes[0]?.paths, ['spec.template.spec.containers[name=web].volumeMounts[1].subPath']);
});

t.test('3. a server-side apply the API server answers 500 "failed to create typed patch object" is permanent, not retried', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({ 'deploy/web.yaml': twoMounts() });
  const message =
    'failed to create typed patch object (/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="web"]';
  h.server.failNext({
    method: 'PATCH',
    pathRegex: /deployments\/web$/,
    status: 500,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code: 500 },
  });
  const record = await h.run({ sha }, { finalAttempt: false });
  t.equal(record.result, 'failed');
  t.equal(record.error?.transient, false, 'permanent: no retry');
  t.match(record.error?.message, 'Deployment/web/web dry-run failed: failed to create typed patch object');
  t.match(record.error?.message, 'duplicate entries for key [name="web"]');
  t.equal(h.server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/web')).length, 1, 'asked once');
  t.ok(
    h.server.requests.every((r) => r.method !== 'PATCH' || r.query.fieldValidation === 'Strict'),
    'every apply asks for strict field validation',
  );
});

t.test("2. fields of an earlier tool are taken over on adoption, and a Secret's stringData is applied as data", async (t) => {
  t.test('an object made by client-side kubectl apply', async (t) => {
    const h = await syncHarness(t, ', path: deploy');
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' };
    h.server.put(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'web', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"a":"1","b":"2"}}' } },
        data: { a: '1', b: '2' },
      },
      { manager: 'kubectl-client-side-apply' },
    );
    const adopt = await h.repo.commit({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { a: "1", b: "2" }\n' });
    const one = await h.run({ sha: adopt });
    t.equal(one.result, 'succeeded', one.error?.message ?? '');
    t.match(one.changes[0]?.message, /took over the fields of kubectl-client-side-apply/);
    const adopted = h.server.get(ref) as any;
    t.same(
      adopted.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`),
      ['landfall/Apply'],
      'Landfall alone owns the fields',
    );
    t.notOk(adopted.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], "kubectl's last-applied annotation is gone");
    const drop = await h.repo.commit({ 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { a: "1" }\n' });
    const two = await h.run({ sha: drop });
    t.same(
      two.changes.map((c) => [c.action, c.paths]),
      [['configured', ['data.b']]],
    );
    t.same((h.server.get(ref) as any).data, { a: '1' }, 'the field Git dropped is gone');
  });
  t.test('a key removed from stringData', async (t) => {
    const h = await syncHarness(t, ', path: deploy');
    const one = await h.repo.commit({
      'deploy/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { user: admin, password: hunter2 }\n',
    });
    t.equal((await h.run({ sha: one })).result, 'succeeded');
    const sent = h.server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/secrets/creds') && r.query.dryRun !== 'All');
    t.same((sent?.parsed as any)?.data, { user: 'YWRtaW4=', password: 'aHVudGVyMg==' }, 'applied as data');
    t.notOk((sent?.parsed as any)?.stringData, 'no stringData sent');
    const two = await h.repo.commit({ 'deploy/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { user: admin }\n' });
    const record = await h.run({ sha: two });
    t.same(
      record.changes.map((c) => [c.action, c.paths]),
      [['configured', ['data.password']]],
    );
    t.same((h.server.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'web', name: 'creds' }) as any).data, { user: 'YWRtaW4=' });
  });
});

t.test('6. a custom resource in the commit that brings its CRD waits for the kind to be served', async (t) => {
  const h = await syncHarness(t, ', path: deploy, allowClusterScoped: true', { serverOptions: { crdServeDelayMs: 300 } });
  const sha = await h.repo.commit({
    'deploy/crd.yaml': widgetCrd('widgets.example.com', 'example.com'),
    'deploy/w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n',
  });
  const record = await h.run({ sha });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.same((h.server.get({ apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'web', name: 'w1' }) as any)?.spec, { size: 3 });
});

t.test('7. a field that cannot change: refused with what to do, or deleted and created again when allowed', async (t) => {
  t.test('without recreate, the dry-run refuses and says how to proceed', async (t) => {
    const h = await syncHarness(t, ', path: deploy');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web') }) })).result, 'succeeded');
    const record = await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web2') }) });
    t.equal(record.result, 'failed');
    t.equal(record.error?.code, 'IMMUTABLE_FIELD');
    t.equal(record.error?.transient, false);
    t.match(
      record.error?.message,
      'Deployment/web/web dry-run failed: spec.selector cannot change on an existing Deployment. To replace it, annotate it landfall.dev/recreate: "true" (or set recreate: true on the app)',
    );
  });
  t.test('with the annotation, the plan says so and the sync recreates it', async (t) => {
    const h = await syncHarness(t, ', path: deploy');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web') }) })).result, 'succeeded');
    const uid = (h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }) as any).metadata.uid;
    const head = await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web2', 'landfall.dev/recreate: "true"') }, 'new selector', 'feature');
    const { listener: _l, ...planDeps } = h.deps;
    const plan = await runPlan(planDeps, {
      app: h.app,
      data: {
        app: 'web',
        forge: 'github',
        repo: 'acme/web',
        number: 3,
        action: 'opened',
        headSha: head,
        headBranch: 'feature',
        headRepo: 'acme/web',
        baseBranch: 'main',
        receivedAt: Date.now(),
      },
      jobId: 'plan-web-3',
      attempt: 1,
      finalAttempt: true,
    });
    t.same(
      plan.changes.map((c) => [c.action, c.paths, c.message]),
      [['recreated', ['spec.selector'], 'will be deleted and created again: spec.selector cannot change']],
    );
    const merged = await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web2', 'landfall.dev/recreate: "true"') });
    const record = await h.run({ sha: merged });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same(
      record.changes.map((c) => c.action),
      ['recreated'],
    );
    const live = h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }) as any;
    t.same(live.spec.selector, { matchLabels: { app: 'web2' } });
    t.not(live.metadata.uid, uid, 'a new object');
  });
  t.test('with recreate: true on the app, a Job with a new template runs again', async (t) => {
    const h = await syncHarness(t, ', path: deploy, recreate: true');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'tool:1') }) })).result, 'succeeded');
    const record = await h.run({ sha: await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'tool:2') }) });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same(
      record.changes.map((c) => [c.action, c.paths]),
      [['recreated', ['spec.template']]],
    );
  });
});

t.test('8. a finished Job its TTL removed is not created again, and is no drift, until its manifest changes', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const ttl = '\n  ttlSecondsAfterFinished: 0';
  const first = await h.repo.commit({
    'deploy/job.yaml': job('migrate', 'tool:1', ttl),
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
  });
  t.equal((await h.run({ sha: first })).result, 'succeeded');
  // The TTL controller's part: the finished Job goes.
  await h.client.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web', name: 'migrate' });
  const again = await h.run({ sha: first, trigger: 'manual' });
  t.equal(again.result, 'succeeded', again.error?.message ?? '');
  t.same(actions(again), { 'Job/migrate': 'skipped', 'ConfigMap/c': 'unchanged' });
  t.match(again.changes.find((c) => c.kind === 'Job')?.message, 'finished and was removed by its ttlSecondsAfterFinished');
  t.equal(h.server.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web', name: 'migrate' }), undefined, 'not created again');
  t.same((await detectDrift(h.deps, h.app, first)).drift, [], 'not drift');
  const changed = await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'tool:2', ttl) });
  const rerun = await h.run({ sha: changed });
  t.same(actions(rerun), { 'Job/migrate': 'created', 'ConfigMap/c': 'unchanged' }, 'a new manifest runs again');
});

t.test("9. fields owned elsewhere on purpose: an HPA's replicas and ignoreFields are left alone and are no drift", async (t) => {
  const h = await syncHarness(t, ', path: deploy, ignoreFields: [ { kind: ConfigMap, paths: [ /data/tuned ] } ]');
  const files = {
    'deploy/web.yaml': deployment('web'),
    'deploy/hpa.yaml': autoscaler('web', 3, 5),
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { tuned: "1", fixed: "1" }\n',
  };
  const sha = await h.repo.commit(files);
  t.equal((await h.run({ sha })).result, 'succeeded');
  // The autoscaler and an operator change what Landfall leaves alone.
  h.server.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }, { spec: { replicas: 4 } }, 'kube-controller-manager');
  h.server.edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'c' }, { data: { tuned: '7' } }, 'ops');
  t.same((await detectDrift(h.deps, h.app, sha)).drift, [], 'no drift');
  const again = await h.run({ sha, trigger: 'manual' });
  t.same(actions(again), { 'Deployment/web': 'unchanged', 'HorizontalPodAutoscaler/web': 'unchanged', 'ConfigMap/c': 'unchanged' });
  t.equal(again.changes.find((c) => c.kind === 'Deployment')?.message, 'spec.replicas is left to HorizontalPodAutoscaler/web');
  t.equal(
    (h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }) as any).spec.replicas,
    4,
    "the autoscaler's replicas stay",
  );
  t.same((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'c' }) as any).data, { tuned: '7', fixed: '1' }, 'the ignored key stays');
  // Other fields are still Git's.
  const next = await h.repo.commit({ ...files, 'deploy/web.yaml': deployment('web', 'nginx:1.26') });
  const changed = await h.run({ sha: next });
  t.same(changed.changes.find((c) => c.kind === 'Deployment')?.paths, ['spec.template.spec.containers[name=web].image']);
  t.equal((h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }) as any).spec.replicas, 4);
});

t.test('10. objects of a kind no longer served stay in the inventory and are reported, then pruned once it is served again', async (t) => {
  const h = await syncHarness(t, ', path: deploy, allowClusterScoped: true');
  const crd = (v1: boolean, v2: boolean) => widgetCrdVersions('widgets.example.com', 'example.com', v1, v2);
  const one = await h.repo.commit({
    'deploy/crd.yaml': crd(true, true),
    'deploy/w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 1 }\n',
  });
  t.equal((await h.run({ sha: one })).result, 'succeeded');
  const two = await h.repo.commit({ 'deploy/crd.yaml': crd(false, true), 'deploy/w.yaml': null });
  const record = await h.run({ sha: two });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  const entry = record.changes.find((c) => c.kind === 'Widget');
  t.equal(entry?.action, 'skipped');
  t.match(entry?.message, 'Widget in example.com/v1 is no longer served by the cluster, so it can be neither read nor pruned; it stays in the inventory');
  const inventory = JSON.parse((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'landfall.web' }) as any).data.inventory);
  t.ok(
    inventory.some((e: any) => e.kind === 'Widget' && e.apiVersion === 'example.com/v1'),
    'still in the inventory',
  );
  const three = await h.repo.commit({ 'deploy/crd.yaml': crd(true, true) });
  const again = await h.run({ sha: three });
  t.equal(again.changes.find((c) => c.kind === 'Widget')?.action, 'deleted', 'pruned once its version is served again');
});
