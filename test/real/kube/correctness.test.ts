// Kubernetes correctness on the real control plane: each of the ten behaviours of the issue
// "a real cluster gets wrong", with the real API server's apply, merge keys, validation,
// controllers and discovery. test/sync/correctness.test.ts has the cases the test server models.
import t from 'tap';
import { detectDrift } from '../../../src/sync/drift.js';
import { realKube, realKubeSkip } from '../../support/real-kube.js';
import { realSyncHarness } from '../../support/sync.js';
import { uniqueName, waitFor } from '../../support/kube.js';
import { twoMounts } from '../../support/manifests.js';

const skip = realKubeSkip();
const actions = (record: { changes: { kind: string; name: string; action: string }[] }) =>
  Object.fromEntries(record.changes.map((c) => [`${c.kind}/${c.name}`, c.action]));

t.test('1. list items that share a name: no false change, no false unchanged', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const sha = await h.repo.commit({ 'deploy/web.yaml': twoMounts(), 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app-config }\ndata: { a.conf: a, b.conf: b, c.conf: c }\n' });
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
  t.teardown(() => kube.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined));
  await kube.client.apply(
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }] },
    },
    { fieldManager: 'landfall-test', force: true },
  );
  await waitFor('the CRD served', async () => Boolean(await kube.client.resource(`${group}/v1`, 'Widget')));

  const cases: [string, Record<string, string>, RegExp][] = [
    ['a misspelt field of a built-in kind', { 'deploy/web.yaml': twoMounts().replace('replicas: 1', 'replicaz: 1') }, /Deployment\/.*\/web dry-run failed: failed to create typed patch object .*\.spec\.replicaz: field not declared in schema/],
    ['two containers of one name', { 'deploy/web.yaml': twoMounts().replace('      volumes:', '        - { name: web, image: nginx:1.26 }\n      volumes:') }, /duplicate entries for key \[name=\\?"web\\?"\]/],
    // Server-side apply checks custom resources against their CRD's schema too (with or without
    // fieldValidation=Strict, which Landfall sends as kubectl does): not pruned in silence.
    ['a misspelt field of a custom resource', { 'deploy/w.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: w }\nspec: { sise: 3 }\n` }, /Widget\/.*\/w dry-run failed: failed to create typed patch object .*\.spec\.sise: field not declared in schema/],
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
