// Hooks and waves in a deploy, against real git, real Redis and the Kubernetes API test server.
import t from 'tap';
import type { SyncRecord } from '../../src/model/records.js';
import { configMap, deployment, syncHarness } from '../support/sync.js';

const job = (name: string, annotations: Record<string, string>, image = 'busybox:1.36', generate = false) => `apiVersion: batch/v1
kind: Job
metadata:
  ${generate ? 'generateName' : 'name'}: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [ { name: main, image: ${image} } ]
`;

const pod = (name: string, annotations: Record<string, string>, image = 'busybox:1.36') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  restartPolicy: Never
  containers: [ { name: main, image: ${image} } ]
`;

const writes = (requests: { method: string; path: string; query: Record<string, string> }[]) =>
  requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All' && !r.path.endsWith('/landfall.web')).map((r) => `${r.method} ${r.path}`);

t.test('a pre-sync migration Job runs to completion before the Deployment is applied; a post-sync Pod after it', async (t) => {
  const activities: string[] = [];
  const h = await syncHarness(t, ', path: deploy', { listener: { progress: (_r: SyncRecord, a: string) => activities.push(a) } });
  await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/migrate.yaml': job('upgrade-sql-schema-', { 'argocd.argoproj.io/hook': 'PreSync' }, 'busybox:1.36', true),
    'deploy/smoke.yaml': pod('smoke', { 'helm.sh/hook': 'post-install,post-upgrade' }),
    'deploy/test.yaml': pod('web-test-connection', { 'helm.sh/hook': 'test' }),
  });
  h.server.clearRequests();
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.same(
    writes(h.server.requests),
    ['POST /apis/batch/v1/namespaces/web/jobs', 'PATCH /apis/apps/v1/namespaces/web/deployments/web', 'POST /api/v1/namespaces/web/pods'],
    'the hook is created, then the Deployment applied, then the post-sync Pod created; the test hook is not run',
  );
  t.same(
    one.phases.map((p) => p.name),
    ['resolve', 'checkout', 'render', 'validate', 'dry-run', 'pre-sync', 'apply', 'health', 'prune', 'post-sync'],
  );
  t.same(
    one.steps?.map((s) => [s.type, s.result]),
    [
      ['pre-sync', 'succeeded'],
      ['wave', 'succeeded'],
      ['post-sync', 'succeeded'],
    ],
  );
  t.match(one.steps?.[0]?.hooks, [
    { kind: 'Job', hook: 'upgrade-sql-schema-*', name: /^upgrade-sql-schema-[a-z0-9]{5}$/, result: 'succeeded', message: 'Job completed' },
  ]);
  t.ok(
    one.steps?.every((s) => s.finishedAt !== undefined && s.finishedAt >= s.startedAt),
    'every step timed',
  );
  t.ok(
    one.log.some((l) => /web-test-connection is not run by a sync \(helm\.sh\/hook: test/.test(l.msg)),
    'the test hook is said to be skipped',
  );
  t.same(activities, ['running pre-sync hook upgrade-sql-schema-*', 'running post-sync hook smoke']);
  const inventory = JSON.parse((h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'landfall.web' }) as any).data.inventory);
  t.same(
    inventory.map((e: { kind: string }) => e.kind),
    ['Deployment'],
    'hooks are not in the inventory',
  );
  t.same(
    one.changes.map((c) => c.kind),
    ['Deployment'],
    'hooks are not in the change set',
  );
  const jobs = h.server.list({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web' });
  t.equal(jobs.length, 1);
  t.match(jobs[0]?.metadata?.labels, { 'landfall.dev/app': 'web', 'landfall.dev/hook': 'upgrade-sql-schema', 'landfall.dev/sync-id': one.id });
  t.notOk(jobs[0]?.metadata?.labels?.['applyset.kubernetes.io/part-of'], 'not an ApplySet member');

  // A second sync runs the hook again under a new name, deleting the first run before.
  await h.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:1.26') });
  const two = await h.run();
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  const after = h.server.list({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web' });
  t.equal(after.length, 1, 'the earlier run was deleted before the new one was created');
  t.not(after[0]?.metadata?.name, jobs[0]?.metadata?.name, 'a new name');
  t.equal(after[0]?.metadata?.labels?.['landfall.dev/sync-id'], two.id);
  t.match(
    two.changes.find((c) => c.kind === 'Deployment'),
    { action: 'configured' },
  );
});

t.test('a failing pre-sync hook fails the sync naming it and why; later waves are untouched; SyncFail hooks run', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/migrate.yaml': job('migrate', { 'landfall.dev/hook': 'pre-sync', 'landfall.dev/hook-delete-policy': 'hook-succeeded' }, 'busybox:fail'),
    'deploy/page.yaml': job('page-oncall', { 'argocd.argoproj.io/hook': 'SyncFail' }),
  });
  const one = await h.run();
  t.equal(one.result, 'failed');
  t.match(one.error, {
    code: 'HOOK_FAILED',
    message: /^pre-sync hook Job\/web\/migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit/,
    object: 'Job/web/migrate',
  });
  t.equal(h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }), undefined, 'the Deployment was not applied');
  t.ok(h.server.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web', name: 'migrate' }), 'a failed hook stays for inspection (hook-succeeded only)');
  t.same(
    one.steps?.map((s) => [s.type, s.result]),
    [
      ['pre-sync', 'failed'],
      ['sync-fail', 'succeeded'],
    ],
  );
  t.ok(h.server.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web', name: 'page-oncall' }), 'the SyncFail hook ran');
  t.match(one.log.at(-1)?.msg, /^pre-sync: pre-sync hook Job\/web\/migrate failed/);

  // Fixed: the hook succeeds, is deleted by its policy, and the Deployment is applied.
  await h.repo.commit({ 'deploy/migrate.yaml': job('migrate', { 'landfall.dev/hook': 'pre-sync', 'landfall.dev/hook-delete-policy': 'hook-succeeded' }) });
  const two = await h.run();
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  t.equal(h.server.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web', name: 'migrate' }), undefined, 'deleted on success');
  t.ok(h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }));
});

t.test('a failing post-sync smoke test fails the sync after a successful apply; the objects stay', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/smoke.yaml': pod('smoke', { 'landfall.dev/hook': 'post-sync' }, 'busybox:fail'),
  });
  const one = await h.run();
  t.equal(one.result, 'failed');
  t.match(one.error?.message, /^post-sync hook Pod\/web\/smoke failed: Pod failed: container main exited 1 \(Error\)/);
  t.ok(h.server.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }), 'the applied objects stay');
  t.same(
    one.steps?.map((s) => [s.type, s.result]),
    [
      ['wave', 'succeeded'],
      ['post-sync', 'failed'],
    ],
  );
  t.notOk((await h.history.appState('web')).deployedSha, 'not recorded as deployed');
});

t.test('waves apply in order, each healthy before the next', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  h.server.setRollout({ kind: 'Deployment', name: 'db' }, 'succeed', { delayMs: 300 });
  await h.repo.commit({
    'deploy/db.yaml': deployment('db').replace('  name: db\n', '  name: db\n  annotations: { landfall.dev/wave: "-1" }\n'),
    'deploy/web.yaml': deployment('web'),
    'deploy/cm.yaml': configMap('after', { k: 'v' }, '\n  annotations: { argocd.argoproj.io/sync-wave: "1" }'),
  });
  h.server.clearRequests();
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.same(writes(h.server.requests), [
    'PATCH /apis/apps/v1/namespaces/web/deployments/db',
    'PATCH /apis/apps/v1/namespaces/web/deployments/web',
    'PATCH /api/v1/namespaces/web/configmaps/after',
  ]);
  const index = (pred: (r: { method: string; path: string; query: Record<string, string> }) => boolean) => h.server.requests.findIndex(pred);
  const dbApplied = index((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/db') && r.query.dryRun !== 'All');
  const webApplied = index((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/web') && r.query.dryRun !== 'All');
  const dbHealthy = h.server.requests.findLastIndex((r, i) => i < webApplied && r.method === 'GET' && r.path.endsWith('/deployments/db'));
  t.ok(dbApplied < dbHealthy && dbHealthy < webApplied, 'wave -1 was read healthy before wave 0 was written');
  t.same(
    one.steps?.map((s) => [s.type, s.wave, s.objects]),
    [
      ['wave', -1, 1],
      ['wave', 0, 1],
      ['wave', 1, 1],
    ],
  );
  t.equal(one.health.length, 3);
});

t.test('a later wave failing fails the sync and runs the SyncFail hook', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({
    'deploy/cm.yaml': configMap('first', { k: 'v' }, '\n  annotations: { landfall.dev/wave: "0" }'),
    'deploy/web.yaml': deployment('web', 'nginx:fail').replace('  name: web\n', '  name: web\n  annotations: { landfall.dev/wave: "1" }\n'),
    'deploy/cleanup.yaml': job('cleanup-', { 'landfall.dev/hook': 'sync-fail' }, 'busybox:1.36', true),
  });
  const one = await h.run();
  t.equal(one.result, 'failed');
  t.match(one.error?.message, /Deployment\/web\/web ProgressDeadlineExceeded/);
  t.same(
    one.steps?.map((s) => [s.type, s.wave, s.result]),
    [
      ['wave', 0, 'succeeded'],
      ['wave', 1, 'failed'],
      ['sync-fail', undefined, 'succeeded'],
    ],
  );
  t.equal(h.server.list({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web' }).length, 1, 'the SyncFail hook ran');
});

t.test('a non-hook object with only generateName is refused, saying why and what to do', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/job.yaml': job('seed-', {}, 'busybox:1.36', true) });
  const one = await h.run();
  t.equal(one.result, 'failed');
  t.match(
    one.error?.message,
    /deploy\/job\.yaml#1: Job has metadata\.generateName "seed-" but no metadata\.name: Landfall applies objects with server-side apply, which needs a name\. Set metadata\.name, or make it a hook/,
  );
});

t.test('a path with nothing renderable, never deployed, says what it found', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({ 'deploy/app.jsonnet': '{}', 'deploy/lib/k.libsonnet': '{}', 'deploy/README.md': 'x' });
  const one = await h.run();
  t.equal(one.error?.code, 'EMPTY_RENDER');
  t.match(one.error?.message, /^deploy has nothing Landfall can render: it found .*1 \.jsonnet file \(Jsonnet, which Landfall does not render/);
  t.notMatch(one.error?.message, /refusing to prune/);
});

t.test('self-heal does not run hooks again; drift checks do not see them', async (t) => {
  const h = await syncHarness(t, ', path: deploy');
  await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/migrate.yaml': job('migrate-', { 'landfall.dev/hook': 'pre-sync' }, 'busybox:1.36', true),
  });
  t.equal((await h.run()).result, 'succeeded');
  const { detectDrift } = await import('../../src/sync/drift.js');
  const report = await detectDrift(h.deps, h.app, await h.repo.head());
  t.same(report.drift, [], 'the hook run is no drift');
  t.same(
    report.health.map((e) => e.kind),
    ['Deployment'],
    'and not watched for health',
  );
  h.server.clearRequests();
  const heal = await h.run({ trigger: 'heal' });
  t.equal(heal.result, 'succeeded', heal.error?.message ?? '');
  t.notOk(
    h.server.requests.some((r) => r.method === 'POST'),
    'no hook created',
  );
  t.equal(h.server.list({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'web' }).length, 1);
});
