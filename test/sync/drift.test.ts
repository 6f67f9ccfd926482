// Drift detection and self-heal through the real reconcile schedulers, workers, Redis, git and
// the Kubernetes API test server.
import t from 'tap';
import { startReceiver } from '../support/receiver.js';
import { configMap, deployment } from '../support/sync.js';
import { until, workerHarness } from '../support/workers.js';

const replicas = (h: Awaited<ReturnType<typeof workerHarness>>) =>
  (h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }) as any)?.spec?.replicas;

t.test('selfHeal: a change by another field manager is found with its field path and healed', async (t) => {
  const receiver = await startReceiver(t);
  const h = await workerHarness(
    t,
    ', path: deploy, driftInterval: 1s',
    '',
    `notifications: { webhook: { url: "${receiver.url}/hook", secret: notify-secret-123 }, slack: { url: "${receiver.url}/slack" } }`,
  );
  const c1 = await h.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/cm.yaml': configMap('settings') });
  await h.startWorker();
  await h.push(c1);
  await until('first deploy', async () => (await h.history.appState('web')).deployedSha === c1);
  t.equal(replicas(h), 2);

  // Someone scales by hand.
  h.server.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }, { spec: { replicas: 5 } }, 'kubectl-edit');
  const found = await receiver.waitFor((b) => b.event === 'drift-found');
  t.match(found, { app: 'web', sha: c1, objects: ['Deployment/web/web spec.replicas'] }, 'drift recorded with the object and field path');
  const healed = await receiver.waitFor((b) => b.event === 'drift-healed');
  t.match(healed.message, /drift healed/);
  t.equal(replicas(h), 2, 'put back as Git says');
  const heal = (await h.records()).find((r) => r.trigger === 'heal');
  t.equal(heal?.result, 'succeeded', 'recorded as a heal sync');
  t.same(heal?.changes.find((c) => c.kind === 'Deployment')?.paths, ['spec.replicas']);
  const drift = await h.history.drift('web');
  t.same(drift?.drift, [], 'drift cleared');
  t.equal(drift?.healedBy, heal?.id);
  const slack = receiver.received.find((r) => r.path === '/slack' && /differ from Git/.test(r.body.text));
  t.match(slack?.body.text, /\*web\*: .*differ from Git/, 'a Slack-compatible message too');
  const signed = receiver.received.find((r) => r.path === '/hook');
  const { createHmac } = await import('node:crypto');
  t.equal(
    signed?.headers['x-landfall-signature'],
    `sha256=${createHmac('sha256', 'notify-secret-123').update(signed!.raw).digest('hex')}`,
    'the generic webhook is signed',
  );

  // Someone deletes an object by hand: it is recreated.
  await fetch(`${h.server.url}/api/v1/namespaces/web/configmaps/settings`, { method: 'DELETE', headers: { authorization: 'Bearer test-token' } });
  await until('the deleted ConfigMap is back', async () => h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }));
  const recreate = (await h.records()).filter((r) => r.trigger === 'heal').at(-1);
  t.equal(recreate?.changes.find((c) => c.name === 'settings')?.action, 'created');
});

t.test('without selfHeal, drift is reported and left alone', async (t) => {
  const h = await workerHarness(t, ', path: deploy, driftInterval: 1s, selfHeal: false');
  const c1 = await h.repo.commit({ 'deploy/web.yaml': deployment('web') });
  await h.startWorker();
  await h.push(c1);
  await until('first deploy', async () => (await h.history.appState('web')).deployedSha === c1);
  h.server.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }, { spec: { replicas: 7 } }, 'kubectl-edit');
  const drift = await until('drift recorded', async () => {
    const d = await h.history.drift('web');
    return d?.drift.length ? d : undefined;
  });
  t.match(drift.drift, [{ kind: 'Deployment', name: 'web', namespace: 'web', paths: ['spec.replicas'] }]);
  t.equal(replicas(h), 7, 'not healed');
  t.notOk(
    (await h.records()).some((r) => r.trigger === 'heal'),
    'no heal sync',
  );
});

t.test('a missed webhook still deploys within one interval', async (t) => {
  const h = await workerHarness(t, ', path: deploy, driftInterval: 1s');
  const c1 = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { v: '1' }) });
  await h.startWorker();
  await h.push(c1);
  await until('first deploy', async () => (await h.history.appState('web')).deployedSha === c1);
  // A commit whose webhook never arrives.
  const c2 = await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { v: '2' }) });
  const started = Date.now();
  await until('the head is deployed', async () => (await h.history.appState('web')).deployedSha === c2, 15_000);
  t.ok(Date.now() - started < 5_000, `deployed ${Date.now() - started} ms after the push, within the 1 s interval plus a sync`);
  t.equal((await h.records()).at(-1)?.trigger, 'reconcile');
  t.equal((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }) as any).data.v, '2');
});

t.test('health is rechecked: a Deployment that degrades after its deploy shows it', async (t) => {
  const h = await workerHarness(t, ', path: deploy, driftInterval: 1s');
  const c1 = await h.repo.commit({ 'deploy/web.yaml': deployment('web') });
  await h.startWorker();
  await h.push(c1);
  await until('first deploy', async () => (await h.history.appState('web')).deployedSha === c1);
  // Its pods stop making progress (the controller reports ProgressDeadlineExceeded on its next rollout).
  h.server.setRollout({ kind: 'Deployment', name: 'web' }, 'fail');
  h.server.edit(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' },
    { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
    'kubectl-rollout',
  );
  const drift = await until('degraded health recorded', async () => {
    const d = await h.history.drift('web');
    return d?.health.some((e) => e.status === 'Failed') ? d : undefined;
  });
  t.match(
    drift.health.find((e) => e.kind === 'Deployment'),
    { status: 'Failed', reason: 'ProgressDeadlineExceeded' },
  );
});
