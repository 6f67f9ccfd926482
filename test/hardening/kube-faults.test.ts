// Kubernetes API faults: 500s, 429s, timeouts and dropped connections are retried; a sync cut off
// half-way is completed by its next attempt; an API down for longer fails the sync with a clear
// status, retried later.
import t from 'tap';
import { startFlow } from '../support/flow.js';
import { configMap, syncHarness } from '../support/sync.js';
import { until } from '../support/workers.js';

t.test('timeouts and dropped connections are retried inside a sync', async (t) => {
  const h = await syncHarness(t, ', path: deploy', { kubeTimeoutMs: 300 });
  await h.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/b.yaml': configMap('b') });
  h.server.failNext({ method: 'PATCH', delayMs: 1_000, times: 2 });
  h.server.failNext({ method: 'GET', drop: true, times: 2 });
  h.server.failNext({ method: 'PATCH', status: 429, headers: { 'Retry-After': '0' } });
  const record = await h.run();
  t.equal(record.result, 'succeeded', record.error?.message ?? '');
  t.ok(h.client.stats.retries >= 5, `${h.client.stats.retries} retries`);
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'b' }));
});

t.test('an API that stays down: a clear retrying status, then the next attempt completes what the first began', async (t) => {
  const flow = await startFlow(t, 'github', '', { workerYaml: ', attempts: 5, retryBackoff: 300ms' });
  const c1 = await flow.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/b.yaml': configMap('b', { x: '1' }) });
  // Both pass their dry-run and the first is written; then the API fails the second's write for a while.
  flow.kube.failNext({ method: 'PATCH', pathRegex: /configmaps\/b$/, query: { dryRun: null }, status: 503, times: 6 });
  const jobId = await flow.push(c1);
  await flow.api.waitFor((api) => /^Retrying after attempt 1: /.test(api.statuses.latest(c1, 'landfall/web')?.description ?? ''), 20_000);
  const retrying = flow.api.statuses.latest(c1, 'landfall/web')!;
  t.equal(retrying.state, 'pending', 'pending, not failure, while it is retried');
  t.match(retrying.description, /ConfigMap web\/b .*unable to handle the request/);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'success', 20_000);
  const record = await flow.history.get(jobId);
  t.equal(record?.result, 'succeeded');
  t.ok((record?.attempt ?? 0) >= 2, `finished by attempt ${record?.attempt}`);
  t.same(record?.changes.map((c) => `${c.name}:${c.action}`).sort(), ['a:unchanged', 'b:created'], 'the second attempt completed what the first began');
});

t.test('an API down for good: the sync fails with a clear status after its attempts', async (t) => {
  const flow = await startFlow(t, 'gitea', '', { workerYaml: ', attempts: 2, retryBackoff: 100ms' });
  const c1 = await flow.repo.commit({ 'deploy/a.yaml': configMap('a') });
  flow.kube.failNext({ status: 503, times: 10_000 });
  const jobId = await flow.push(c1);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'failure', 30_000);
  t.match(flow.api.statuses.latest(c1, 'landfall/web')?.description, /^Failed: .*unable to handle the request/);
  const record = await until('the record', async () => flow.history.get(jobId));
  t.equal(record.attempt, 2);
  t.equal(record.error?.transient, true, 'recorded as a transient failure a later push or reconcile retries');
});
