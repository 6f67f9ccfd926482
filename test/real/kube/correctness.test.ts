// Kubernetes correctness on the real control plane: each of the ten behaviours of the issue
// "a real cluster gets wrong", with the real API server's apply, merge keys, validation,
// controllers and discovery. test/sync/correctness.test.ts has the cases the test server models.
import t from 'tap';
import { detectDrift } from '../../../src/sync/drift.js';
import { realKube, realKubeSkip } from '../../support/real-kube.js';
import { realSyncHarness } from '../../support/sync.js';
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
