// Hooks and waves on the real control plane: real Job and Pod controllers (kwok plays the kubelet;
// a pod labelled landfall.dev/test-behaviour: fail exits 1).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import type { KubeObject } from '../../../src/kube/refs.js';
import { findTools } from '../../../src/sync/tools.js';
import { realKube, realKubeSkip, runTool } from '../../support/real-kube.js';
import { configMap, deployment, realSyncHarness } from '../../support/sync.js';

const skip = realKubeSkip();

const job = (name: string, annotations: Record<string, string>, options: { fail?: boolean; generate?: boolean } = {}) => `apiVersion: batch/v1
kind: Job
metadata:
  ${options.generate ? 'generateName' : 'name'}: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  backoffLimit: 0
  template:
    metadata: { labels: { app: ${name.replace(/-$/, '')}${options.fail ? ', landfall.dev/test-behaviour: fail' : ''} } }
    spec:
      restartPolicy: Never
      containers: [ { name: main, image: busybox:1.36, command: [sh, -c, 'echo done'] } ]
`;

const image = async (get: () => Promise<KubeObject | undefined>) =>
  ((await get()) as { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined)?.spec.template.spec.containers[0]?.image;

t.test('a migration Job completes before the Deployment changes; when it fails, the Deployment is untouched', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  const web = () => kube.get('apps/v1', 'Deployment', 'web', h.namespace);
  await h.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:1.25'), 'deploy/migrate.yaml': job('migrate', { 'landfall.dev/hook': 'pre-sync' }) });
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  const migrate = (await kube.get('batch/v1', 'Job', 'migrate', h.namespace)) as KubeObject & { status: { completionTime?: string } };
  const webObj = await web();
  t.ok(migrate.status.completionTime, 'the Job completed');
  t.ok(
    Date.parse(String(migrate.status.completionTime)) <= Date.parse(String(webObj?.metadata.creationTimestamp)) + 1_000,
    'before the Deployment was created',
  );

  await h.repo.commit({
    'deploy/web.yaml': deployment('web', 'nginx:1.26'),
    'deploy/migrate.yaml': job('migrate', { 'landfall.dev/hook': 'pre-sync' }, { fail: true }),
  });
  const two = await h.run();
  t.equal(two.result, 'failed');
  t.match(two.error?.message, /^pre-sync hook Job\/\S+\/migrate failed: BackoffLimitExceeded: .*; pod migrate-\S+: container main exited 1 \(Error\)/);
  t.equal(await image(web), 'nginx:1.25', 'the Deployment is untouched');
});

t.test('a generateName hook runs on two syncs in a row', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  await h.repo.commit({
    'deploy/cm.yaml': configMap('settings', { v: '1' }),
    'deploy/seed.yaml': job('seed-', { 'argocd.argoproj.io/hook': 'PreSync' }, { generate: true }),
  });
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  const first = one.steps?.[0]?.hooks?.[0]?.name;
  t.match(first, /^seed-[a-z0-9]{5}$/);
  await h.repo.commit({ 'deploy/cm.yaml': configMap('settings', { v: '2' }) });
  const two = await h.run();
  t.equal(two.result, 'succeeded', two.error?.message ?? '');
  const second = two.steps?.[0]?.hooks?.[0]?.name;
  t.match(second, /^seed-[a-z0-9]{5}$/);
  t.not(second, first);
  const jobs = await kube.client.list('batch/v1', 'Job', { namespace: h.namespace, labelSelector: 'landfall.dev/hook=seed' });
  t.same(
    jobs.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name),
    [second],
    'the earlier run was deleted before the new one',
  );
});

t.test('a failing post-sync smoke test fails the sync after a successful apply; the objects stay', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s');
  await h.repo.commit({
    'deploy/web.yaml': deployment('web'),
    'deploy/smoke.yaml': job('smoke', { 'helm.sh/hook': 'post-install,post-upgrade' }, { fail: true }),
  });
  const one = await h.run();
  t.equal(one.result, 'failed');
  t.match(one.error?.message, /^post-sync hook Job\/\S+\/smoke failed/);
  t.ok(await kube.get('apps/v1', 'Deployment', 'web', h.namespace), 'the Deployment stays');
  t.same(
    one.steps?.map((s) => [s.type, s.result]),
    [
      ['wave', 'succeeded'],
      ['post-sync', 'failed'],
    ],
  );
});

t.test('waves -1, 0, 1 apply in order with health between; a later wave failing runs the SyncFail hook', { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 60s, failFastAfter: 5s');
  const wave = (n: number) => `\n  annotations: { landfall.dev/wave: "${n}" }`;
  await h.repo.commit({
    'deploy/db.yaml': deployment('db').replace('  name: db\n', `  name: db${wave(-1)}\n`),
    'deploy/web.yaml': deployment('web'),
    'deploy/done.yaml': configMap('done', { k: 'v' }, wave(1)),
  });
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.same(
    one.steps?.map((s) => [s.wave, s.result]),
    [
      [-1, 'succeeded'],
      [0, 'succeeded'],
      [1, 'succeeded'],
    ],
  );
  const created = async (kind: string, apiVersion: string, name: string) =>
    Date.parse(String((await kube.get(apiVersion, kind, name, h.namespace))?.metadata.creationTimestamp));
  const db = (await kube.get('apps/v1', 'Deployment', 'db', h.namespace)) as KubeObject & {
    status: { conditions: { type: string; lastTransitionTime: string }[] };
  };
  const available = Date.parse(db.status.conditions.find((c) => c.type === 'Available')?.lastTransitionTime ?? '');
  t.ok(available <= (await created('Deployment', 'apps/v1', 'web')), 'db was available before web was created');
  t.ok((await created('Deployment', 'apps/v1', 'web')) <= (await created('ConfigMap', 'v1', 'done')), 'web before wave 1');

  const failing = deployment('web')
    .replace('metadata: { labels: { app: web } }', 'metadata: { labels: { app: web, landfall.dev/test-behaviour: fail } }')
    .replace('  name: web\n', `  name: web${wave(1)}\n`);
  await h.repo.commit({
    'deploy/web.yaml': failing,
    'deploy/done.yaml': null,
    'deploy/page.yaml': job('page-', { 'landfall.dev/hook': 'sync-fail' }, { generate: true }),
  });
  const two = await h.run();
  t.equal(two.result, 'failed');
  t.same(
    two.steps?.map((s) => [s.type, s.result]),
    [
      ['wave', 'succeeded'],
      ['wave', 'failed'],
      ['sync-fail', 'succeeded'],
    ],
  );
  const pages = await kube.client.list('batch/v1', 'Job', { namespace: h.namespace, labelSelector: 'landfall.dev/hook=page' });
  t.equal(pages.length, 1, 'the SyncFail hook ran');
});

const helm = findTools().helm;
const helmSkip =
  skip || (helm && (helm !== 'helm' ? existsSync(helm) : spawnSync('helm', ['version'], { stdio: 'ignore' }).status === 0) ? false : 'helm is not installed');

t.test('a helm create chart with a pre-install Job: the test hook is skipped, the pre-upgrade hook runs', { skip: helmSkip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: chart, healthTimeout: 90s');
  const scratch = await mkdtemp(join(tmpdir(), 'landfall-helm-create-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const made = await runTool(helm, ['create', join(scratch, 'chart')]);
  t.equal(made.code, 0, made.stderr);
  const files: Record<string, string> = {};
  for (const file of await readdir(join(scratch, 'chart'), { recursive: true, withFileTypes: true })) {
    if (file.isFile()) files[relative(scratch, join(file.parentPath, file.name))] = await readFile(join(file.parentPath, file.name), 'utf8');
  }
  files['chart/templates/migrate.yaml'] = job('{{ .Release.Name }}-migrate', {
    'helm.sh/hook': 'pre-install,pre-upgrade',
    'helm.sh/hook-weight': '-5',
    'helm.sh/hook-delete-policy': 'before-hook-creation',
  });
  await h.repo.commit(files, 'helm create chart, with a pre-install Job');
  const one = await h.run();
  t.equal(one.result, 'succeeded', one.error?.message ?? '');
  t.match(one.steps?.[0], { type: 'pre-sync', result: 'succeeded', hooks: [{ kind: 'Job', hook: 'web-migrate', result: 'succeeded' }] });
  t.ok(
    one.log.some((l) => /web-chart-test-connection is not run by a sync \(helm\.sh\/hook: test/.test(l.msg)),
    'the test hook is said to be skipped',
  );
  t.equal(await kube.get('v1', 'Pod', 'web-chart-test-connection', h.namespace), undefined, 'and not created');
  t.ok(await kube.get('apps/v1', 'Deployment', 'web-chart', h.namespace), 'the chart deployed');
});
