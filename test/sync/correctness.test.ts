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

t.test('3. a server-side apply the API server answers 500 "failed to create typed patch object" is permanent, not retried', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  const sha = await h.repo.commit({ 'deploy/web.yaml': twoMounts() });
  const message = 'failed to create typed patch object (/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="web"]';
  h.server.failNext({ method: 'PATCH', pathRegex: /deployments\/web$/, status: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code: 500 } });
  const record = await h.run({ sha }, { finalAttempt: false });
  t.equal(record.result, 'failed');
  t.equal(record.error?.transient, false, 'permanent: no retry');
  t.match(record.error?.message, 'Deployment/web/web dry-run failed: failed to create typed patch object');
  t.match(record.error?.message, 'duplicate entries for key [name="web"]');
  t.equal(h.server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/web')).length, 1, 'asked once');
  t.ok(h.server.requests.every((r) => r.method !== 'PATCH' || r.query.fieldValidation === 'Strict'), 'every apply asks for strict field validation');
});
