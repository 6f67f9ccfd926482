// Kubernetes correctness on the real control plane: each of the ten behaviours of the issue
// "a real cluster gets wrong", with the real API server's apply, merge keys, validation,
// controllers and discovery. test/sync/correctness.test.ts has the cases the test server models.
import t from 'tap';
import { detectDrift } from '../../../src/sync/drift.js';
import { runPlan } from '../../../src/sync/plan.js';
import { realKube, realKubeSkip, waitReal } from '../../support/real-kube.js';
import { failureReason } from '../../../src/status/wording.js';
import { deployment, realSyncHarness } from '../../support/sync.js';
import { uniqueName } from '../../support/kube.js';
import { autoscaler, job, selectorDeployment, twoMounts, widgetCrd, widgetCrdVersions } from '../../support/manifests.js';

const skip = realKubeSkip();
const actions = (record: { changes: { kind: string; name: string; action: string }[] }) =>
  Object.fromEntries(record.changes.map((c) => [`${c.kind}/${c.name}`, c.action]));

t.test('1. list items that share a name: no false change, no false unchanged', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const sha = await h.repo.commit({
    'deploy/web.yaml': twoMounts(),
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app-config }\ndata: { a.conf: a, b.conf: b, c.conf: c }\n',
  });
  t.equal((await h.run({ sha })).result, 'succeeded');
  const before = (await kube.get('apps/v1', 'Deployment', 'web', h.namespace))?.metadata.resourceVersion;
  const again = await h.run({ sha, trigger: 'manual' });
  t.same(actions(again), { 'Deployment/web': 'unchanged', 'ConfigMap/app-config': 'unchanged' }, 'a re-sync writes nothing');
  t.equal((await kube.get('apps/v1', 'Deployment', 'web', h.namespace))?.metadata.resourceVersion, before);
  t.same((await detectDrift(h.deps, h.app, sha)).drift, [], 'and is no drift');
  const next = await h.repo.commit({ 'deploy/web.yaml': twoMounts('c.conf') });
  const changed = await h.run({ sha: next });
  t.equal(actions(changed)['Deployment/web'], 'configured');
  t.same(changed.changes.find((c) => c.kind === 'Deployment')?.paths, ['spec.template.spec.containers[name=web].volumeMounts[1].subPath']);
});

t.test('3. unknown fields and duplicate list keys fail the dry-run at once, naming the field, with nothing written', { skip }, async (t) => {
  const kube = await realKube(t);
  const group = `${uniqueName('strict')}.landfall.test`;
  t.teardown(() =>
    kube.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined),
  );
  await kube.client.apply(
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
          },
        ],
      },
    },
    { fieldManager: 'landfall-test', force: true },
  );
  await waitReal('the CRD served', async () => Boolean(await kube.client.resource(`${group}/v1`, 'Widget')));

  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'a misspelt field of a built-in kind',
      { 'deploy/web.yaml': twoMounts().replace('replicas: 1', 'replicaz: 1') },
      /Deployment\/.*\/web dry-run failed: failed to create typed patch object .*\.spec\.replicaz: field not declared in schema/,
    ],
    [
      'two containers of one name',
      { 'deploy/web.yaml': twoMounts().replace('      volumes:', '        - { name: web, image: nginx:1.26 }\n      volumes:') },
      /duplicate entries for key \[name=\\?"web\\?"\]/,
    ],
    // Server-side apply checks custom resources against their CRD's schema too (with or without
    // fieldValidation=Strict, which Landfall sends as kubectl does): not pruned in silence.
    [
      'a misspelt field of a custom resource',
      { 'deploy/w.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: w }\nspec: { sise: 3 }\n` },
      /Widget\/.*\/w dry-run failed: failed to create typed patch object .*\.spec\.sise: field not declared in schema/,
    ],
  ];
  for (const [what, files, pattern] of cases) {
    t.test(what, async (t) => {
      const h = await realSyncHarness(t, kube, ', path: deploy');
      const sha = await h.repo.commit(files);
      const retriesBefore = h.client.stats.retries;
      const record = await h.run({ sha }, { finalAttempt: false });
      t.equal(record.result, 'failed');
      t.equal(record.error?.code, 'DRY_RUN_FAILED');
      t.equal(record.error?.transient, false, 'permanent: the job is not retried');
      t.match(record.error?.message ?? '', pattern, record.error?.message ?? '');
      t.equal(h.client.stats.retries, retriesBefore, 'the client did not retry it either');
      const inventory = await kube.get('v1', 'ConfigMap', 'landfall.web', h.namespace);
      t.equal(inventory, undefined, 'nothing written');
    });
  }
});

t.test('2. an object made by client-side kubectl apply is adopted; a field then removed in Git is gone from the cluster', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const ns = h.namespace;
  const made = await kube.kubectl(['apply', '-n', ns, '-f', '-'], {
    input: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, labels: { team: shop } }\ndata: { a: "1", b: "2" }\n---\n${twoMounts().replace('metadata: { name: web }', 'metadata: { name: web, annotations: { owner: ops } }')}`,
  });
  t.equal(made.code, 0, made.stderr);
  const before = await kube.get('v1', 'ConfigMap', 'settings', ns);
  t.ok(
    (before?.metadata.managedFields as { manager: string }[]).some((m) => m.manager === 'kubectl-client-side-apply'),
    'made by client-side apply',
  );

  const adopt = await h.repo.commit({
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, labels: { team: shop } }\ndata: { a: "1", b: "2" }\n',
    'deploy/web.yaml': twoMounts().replace('metadata: { name: web }', 'metadata: { name: web, annotations: { owner: ops } }'),
  });
  const one = await h.run({ sha: adopt });
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.ok(
    one.changes.every((c) => /took over the fields of kubectl-client-side-apply/.test(c.message ?? '')),
    'both taken over',
  );
  const adopted = await kube.get('v1', 'ConfigMap', 'settings', ns);
  t.notOk(
    (adopted?.metadata.managedFields as { manager: string }[]).some((m) => m.manager === 'kubectl-client-side-apply'),
    'kubectl owns nothing now',
  );

  const drop = await h.repo.commit({
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { a: "1" }\n',
    'deploy/web.yaml': twoMounts(),
  });
  const two = await h.run({ sha: drop });
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  const cm = await kube.get('v1', 'ConfigMap', 'settings', ns);
  t.same(cm?.data, { a: '1' }, 'the data key Git dropped is gone');
  t.notOk(cm?.metadata.labels?.team, 'the label Git dropped is gone');
  t.notOk((await kube.get('apps/v1', 'Deployment', 'web', ns))?.metadata.annotations?.owner, 'the annotation Git dropped is gone');
});

t.test("2. a key removed from a Secret's stringData is gone from the cluster", { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy');
  const one = await h.repo.commit({
    'deploy/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { user: admin, password: hunter2 }\n',
  });
  t.equal((await h.run({ sha: one })).result, 'succeeded');
  t.same((await kube.get('v1', 'Secret', 'creds', h.namespace))?.data, { user: 'YWRtaW4=', password: 'aHVudGVyMg==' });
  const two = await h.repo.commit({ 'deploy/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { user: admin }\n' });
  const record = await h.run({ sha: two });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.same((await kube.get('v1', 'Secret', 'creds', h.namespace))?.data, { user: 'YWRtaW4=' }, 'the password is gone');
  const again = await h.run({ sha: two, trigger: 'manual' });
  t.same(
    again.changes.map((c) => c.action),
    ['unchanged'],
    'and a re-sync is unchanged',
  );
});

t.test('5. pods that will not recover fail the sync soon, naming the pod and the reason', { skip }, async (t) => {
  const kube = await realKube(t);
  const withPods = (behaviour: string, extra = '') =>
    deployment('web').replace('metadata: { labels: { app: web } }', `metadata: { labels: { app: web, landfall.dev/test-behaviour: ${behaviour} } }`) + extra;
  const cases: [string, string, RegExp, RegExp][] = [
    [
      'a crash loop',
      withPods('fail'),
      /^Deployment\/\S+\/web pod web-[a-z0-9]+-[a-z0-9]+ CrashLoopBackOff: container web, last exit code 1 after 4 restarts: back-off/,
      /^Deployment \S+\/web pod web-\S+ CrashLoopBackOff$/,
    ],
    [
      'an image that cannot be pulled',
      withPods('image-pull'),
      /^Deployment\/\S+\/web pod web-\S+ ImagePullBackOff: container web: Back-off pulling image "nginx:1.25"/,
      /ImagePullBackOff$/,
    ],
    [
      'pods no node can run',
      deployment('web').replace('ports: [ { containerPort: 8080 } ]', 'resources: { requests: { cpu: "5000" } }'),
      /^Deployment\/\S+\/web pod web-\S+ Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu/,
      /Unschedulable$/,
    ],
  ];
  for (const [what, manifest, message, short] of cases) {
    t.test(what, async (t) => {
      const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 5m, failFastAfter: 2s');
      const sha = await h.repo.commit({ 'deploy/web.yaml': manifest });
      const started = Date.now();
      const record = await h.run({ sha });
      const took = Date.now() - started;
      t.equal(record.result, 'failed');
      t.equal(record.error?.code, 'HEALTH_FAILED');
      t.match(record.error?.message ?? '', message, record.error?.message ?? '');
      t.match(failureReason(record.error?.message ?? ''), short, 'the commit status names the pod and why');
      t.ok(took < 60_000, `failed in ${Math.round(took / 1000)} s, long before the 5 min timeout`);
      const web = record.health.find((e) => e.kind === 'Deployment');
      t.equal(web?.status, 'Failed', 'the health report says so too');
    });
  }
  t.test('with failFastAfter: off, the same crash loop waits for the timeout', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 8s, failFastAfter: off');
    const sha = await h.repo.commit({ 'deploy/web.yaml': withPods('fail') });
    const record = await h.run({ sha });
    t.equal(record.error?.code, 'HEALTH_TIMEOUT', record.error?.message ?? '');
  });
});

t.test('6. a custom resource in the commit that brings its CRD deploys (three fresh CRDs in a row)', { skip }, async (t) => {
  const kube = await realKube(t);
  for (let i = 0; i < 3; i++) {
    const group = `${uniqueName('crd')}.landfall.test`;
    t.teardown(() =>
      kube.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined),
    );
    const h = await realSyncHarness(t, kube, ', path: deploy, allowClusterScoped: true');
    const sha = await h.repo.commit({
      'deploy/crd.yaml': widgetCrd(`widgets.${group}`, group),
      'deploy/w.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: ${i} }\n`,
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same((await kube.get(`${group}/v1`, 'Widget', 'w1', h.namespace))?.spec, { size: i });
  }
});

t.test('7. a field that cannot change: refused with what to do, or deleted and created again when allowed', { skip }, async (t) => {
  const kube = await realKube(t);
  t.test('without recreate', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web') }) })).result, 'succeeded');
    const record = await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web2') }) });
    t.equal(record.error?.code, 'IMMUTABLE_FIELD', record.error?.message ?? '');
    t.match(
      record.error?.message ?? '',
      /^Deployment\/\S+\/web dry-run failed: spec\.selector cannot change on an existing Deployment\. To replace it, annotate it landfall\.dev\/recreate: "true"/,
    );
  });
  t.test('with the annotation: a Deployment with a new selector', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web') }) })).result, 'succeeded');
    const uid = (await kube.get('apps/v1', 'Deployment', 'web', h.namespace))?.metadata.uid;
    const record = await h.run({ sha: await h.repo.commit({ 'deploy/web.yaml': selectorDeployment('web2', 'landfall.dev/recreate: "true"') }) });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same(
      record.changes.map((c) => [c.action, c.paths]),
      [['recreated', ['spec.selector']]],
    );
    const live = (await kube.get('apps/v1', 'Deployment', 'web', h.namespace)) as any;
    t.same(live.spec.selector, { matchLabels: { app: 'web2' } });
    t.not(live.metadata.uid, uid, 'a new object');
    t.equal(live.status.readyReplicas, 1, 'rolled out');
  });
  t.test('with recreate: true on the app: a Job with a new template runs again', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: deploy, recreate: true, healthTimeout: 90s');
    t.equal((await h.run({ sha: await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'busybox:1.36') }) })).result, 'succeeded');
    const record = await h.run({ sha: await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'busybox:1.37') }) });
    t.equal(record.result, 'succeeded', record.error?.message ?? '');
    t.same(
      record.changes.map((c) => [c.action, c.paths]),
      [['recreated', ['spec.template']]],
    );
    const live = (await kube.get('batch/v1', 'Job', 'migrate', h.namespace)) as any;
    t.equal(live.spec.template.spec.containers[0].image, 'busybox:1.37');
  });
});

t.test('8. a finished Job its TTL removed is not created again, and is no drift, until its manifest changes', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const ttl = '\n  ttlSecondsAfterFinished: 0';
  const first = await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'busybox:1.36', ttl) });
  t.equal((await h.run({ sha: first })).result, 'succeeded');
  await waitReal('the TTL controller to remove the finished Job', async () => !(await kube.get('batch/v1', 'Job', 'migrate', h.namespace)));
  const again = await h.run({ sha: first, trigger: 'manual' });
  t.equal(again.result, 'succeeded', again.error?.message ?? '');
  t.same(
    again.changes.map((c) => c.action),
    ['skipped'],
  );
  t.equal(await kube.get('batch/v1', 'Job', 'migrate', h.namespace), undefined, 'not created (and run) again');
  t.same((await detectDrift(h.deps, h.app, first)).drift, [], 'not drift');
  const changed = await h.repo.commit({ 'deploy/job.yaml': job('migrate', 'busybox:1.37', ttl) });
  const rerun = await h.run({ sha: changed });
  t.same(
    rerun.changes.map((c) => c.action),
    ['created'],
    'a new manifest runs again',
  );
});

t.test("9. a Deployment an HPA scales keeps the HPA's replicas, with no drift and no fight", { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  // replicas 2 in Git, minReplicas 3: the real HPA controller scales it to 3 (it needs no metrics for that).
  const sha = await h.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/hpa.yaml': autoscaler('web', 3, 5) });
  t.equal((await h.run({ sha })).result, 'succeeded');
  await waitReal(
    'the HPA to scale the Deployment to 3',
    async () => ((await kube.get('apps/v1', 'Deployment', 'web', h.namespace)) as any)?.spec.replicas === 3,
  );
  t.same((await detectDrift(h.deps, h.app, sha)).drift, [], 'no drift');
  const again = await h.run({ sha, trigger: 'manual' });
  t.equal(again.result, 'succeeded', again.error?.message ?? '');
  t.same(again.changes.map((c) => `${c.kind}:${c.action}`).sort(), ['Deployment:unchanged', 'HorizontalPodAutoscaler:unchanged']);
  t.equal(again.changes.find((c) => c.kind === 'Deployment')?.message, 'spec.replicas is left to HorizontalPodAutoscaler/web', 'the sync says so');
  t.equal(((await kube.get('apps/v1', 'Deployment', 'web', h.namespace)) as any).spec.replicas, 3, "the HPA's replicas stay");
  const head = await h.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:1.26'), 'deploy/hpa.yaml': autoscaler('web', 3, 5) }, 'new image', 'feature');
  const { listener: _l, ...planDeps } = h.deps;
  const plan = await runPlan(planDeps, {
    app: h.app,
    data: {
      app: 'web',
      forge: 'github',
      repo: 'acme/web',
      number: 9,
      action: 'opened',
      headSha: head,
      headBranch: 'feature',
      headRepo: 'acme/web',
      baseBranch: 'main',
      receivedAt: Date.now(),
    },
    jobId: 'plan-web-9',
    attempt: 1,
    finalAttempt: true,
  });
  const planned = plan.changes.find((c) => c.kind === 'Deployment');
  t.same(
    [planned?.action, planned?.paths, planned?.message],
    ['configured', ['spec.template.spec.containers[name=web].image'], 'spec.replicas is left to HorizontalPodAutoscaler/web'],
    'the plan says so too',
  );
});

t.test('10. objects of a kind no longer served stay in the inventory and are reported, then pruned once it is served again', { skip }, async (t) => {
  const kube = await realKube(t);
  const group = `${uniqueName('gone')}.landfall.test`;
  const name = `widgets.${group}`;
  t.teardown(() => kube.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name }).catch(() => undefined));
  const h = await realSyncHarness(t, kube, ', path: deploy, allowClusterScoped: true');
  const one = await h.repo.commit({
    'deploy/crd.yaml': widgetCrdVersions(name, group, true, true),
    'deploy/w.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 1 }\n`,
  });
  t.equal((await h.run({ sha: one })).result, 'succeeded');
  const two = await h.repo.commit({ 'deploy/crd.yaml': widgetCrdVersions(name, group, false, true), 'deploy/w.yaml': null });
  const record = await h.run({ sha: two });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.match(
    record.changes.find((c) => c.kind === 'Widget'),
    { action: 'skipped', message: new RegExp(`^Widget in ${group.replaceAll('.', '\\.')}/v1 is no longer served by the cluster`) },
  );
  t.ok(await kube.get(`${group}/v2`, 'Widget', 'w1', h.namespace), 'the object is still there (read through v2)');
  const three = await h.repo.commit({ 'deploy/crd.yaml': widgetCrdVersions(name, group, true, true) });
  const again = await h.run({ sha: three });
  t.equal(again.changes.find((c) => c.kind === 'Widget')?.action, 'deleted', 'pruned once v1 is served again');
  await waitReal('the Widget to be gone', async () => !(await kube.get(`${group}/v2`, 'Widget', 'w1', h.namespace)));
});
