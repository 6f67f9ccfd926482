// Kubernetes correctness (issue "ten behaviours a real cluster gets wrong"), on the Kubernetes
// API test server where it models the behaviour; test/real/kube/correctness.test.ts runs the
// same cases on the real control plane.
import t from 'tap';
import { detectDrift } from '../../src/sync/drift.js';
import { twoMounts } from '../support/manifests.js';
import { syncHarness } from '../support/sync.js';

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
