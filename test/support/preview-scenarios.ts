/**
 * The preview lifecycle's scenarios, run on the Kubernetes API test server
 * (test/previews/lifecycle.test.ts) and on the real control plane (test/real/kube/previews.test.ts)
 * alike: only where the API server itself answers (Pod Security admission, RBAC of the preview's
 * identity) do the real-cluster tests add their own.
 */
import type { Test } from 'tap';
import type { KubeClient } from '../../src/kube/client.js';
import { previewHarness, type PreviewHarness } from './previews.js';
import type { RealKube } from './real-kube.js';
import { waitFor } from './kube.js';

/** A Deployment the `restricted` Pod Security level admits. */
export function restrictedDeployment(name: string, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: ${name}
          image: ${image}
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
`;
}

/** The app's manifests: a Deployment whose image tag and a ConfigMap whose host a preview substitutes. */
export function appFiles(note: string): Record<string, string> {
  return {
    'deploy/web.yaml': restrictedDeployment('web', 'registry.test/web:IMAGE_TAG'),
    'deploy/settings.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { host: web.example.test, note: "${note}" }\n`,
  };
}

const get = (client: KubeClient, kind: string, name: string, namespace: string) =>
  client.get({ apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1', kind, name, namespace });
const note = async (client: KubeClient, namespace: string) =>
  ((await get(client, 'ConfigMap', 'settings', namespace)) as { data?: Record<string, string> } | undefined)?.data?.note;

/** Waits until a namespace is gone (the real namespace controller deletes its contents first). */
async function gone(client: KubeClient, namespace: string): Promise<void> {
  await waitFor(`namespace ${namespace} gone`, async () => !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })), {
    timeoutMs: 120_000,
  });
}

/** Every scenario, as subtests of `t`; `kube` runs them on the real control plane. */
export async function previewScenarios(t: Test, kube?: RealKube): Promise<void> {
  const started = (h: PreviewHarness) => h.sync.client;

  await t.test(
    'a labelled pull request gets a preview in its own namespace; a push updates it; closing it removes every object, then the namespace',
    async (t) => {
      const h = await previewHarness(t, '', kube);
      const client = started(h);
      await h.sync.repo.commit(appFiles('main'), 'app');
      const sha1 = await h.sync.repo.commit(appFiles('first'), 'change', 'feature');
      h.open(7, sha1, 'feature');
      t.equal(await h.run(7, 'labeled'), 'deployed');
      const ns = (await h.store.get('web', 7))?.namespace ?? '';
      t.match(ns, /^pv-web-7/);
      const namespace = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      t.equal(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'restricted Pod Security on the namespace');
      const settings = await get(client, 'ConfigMap', 'settings', ns);
      t.same(settings?.data, { host: 'pr-7.preview.test', note: 'first' }, 'values substituted in the preview');
      const web = (await get(client, 'Deployment', 'web', ns)) as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined;
      t.equal(web?.spec?.template?.spec?.containers?.[0]?.image, `registry.test/web:${sha1}`, 'the image tag is the head commit');
      t.notOk(await get(client, 'ConfigMap', 'settings', h.namespace), "nothing in the app's own namespace");
      for (const kind of ['ResourceQuota', 'LimitRange']) t.ok((await client.list('v1', kind, { namespace: ns })).length > 0, `a ${kind} guards the namespace`);
      t.ok((await client.list('networking.k8s.io/v1', 'NetworkPolicy', { namespace: ns })).length > 0, 'a NetworkPolicy denies by default');
      t.match(h.latest(sha1), { state: 'succeeded', description: 'Preview ready: https://pr-7.preview.test', targetUrl: 'https://pr-7.preview.test' });
      t.match(h.reported.environments.at(-1), { environment: 'web-pr-7', state: 'success', url: 'https://pr-7.preview.test', sha: sha1 });

      const sha2 = await h.sync.repo.commit({ 'deploy/settings.yaml': appFiles('second')['deploy/settings.yaml']! }, 'more', 'feature');
      h.open(7, sha2, 'feature');
      t.equal(await h.run(7, 'updated'), 'deployed', 'a push updates the preview');
      t.equal(await note(client, ns), 'second');
      t.equal((await h.store.get('web', 7))?.sha, sha2);
      t.equal(await h.run(7, 'sweep', { event: false }), 'unchanged', 'a second look at the same head changes nothing');

      h.forge.pullRequests.get(7)!.state = 'closed';
      t.equal(await h.run(7, 'closed'), 'removed');
      t.notOk(await get(client, 'ConfigMap', 'settings', ns), 'its objects are deleted');
      await gone(client, ns);
      t.same(h.reported.retired, ['web-pr-7'], 'the environment is retired');
      t.match(h.latest(sha2)?.description, /^Preview removed: the pull request was closed/);
      t.notOk(await h.store.get('web', 7), 'nothing is remembered of it');
    },
  );

  await t.test('a fork gets no preview until a maintainer approves its exact head commit; a later push needs another approval', async (t) => {
    const h = await previewHarness(t, '', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha1 = await h.sync.repo.commit(appFiles('fork'), 'from a fork', 'fork-change');
    h.open(8, sha1, 'fork-change', { headRepo: 'someone/web', author: 'someone' });
    t.equal(await h.run(8, 'opened'), 'waiting');
    t.match(h.latest(sha1), { state: 'queued', description: new RegExp(`approve this exact commit \\(comment "/landfall preview ${sha1}"\\)`) });
    const say = (author: string, body: string) =>
      h.forge.comments.set(8, [...(h.forge.comments.get(8) ?? []), { id: String(Math.random()), author, body, at: Date.now() }]);
    say('someone', `/landfall preview ${sha1}`);
    t.equal(await h.run(8, 'comment', { event: false }), 'waiting', 'the author of the fork cannot approve it');
    say('maintainer', `/landfall preview ${sha1.slice(0, 12)}`);
    t.equal(await h.run(8, 'comment', { event: false }), 'waiting', 'an abbreviated sha approves nothing');
    say('maintainer', `looks fine\n/landfall preview ${sha1}`);
    t.equal(await h.run(8, 'comment', { event: false }), 'deployed', "a maintainer's comment naming the full sha approves it");
    const sha2 = await h.sync.repo.commit({ 'deploy/settings.yaml': appFiles('fork 2')['deploy/settings.yaml']! }, 'later', 'fork-change');
    h.open(8, sha2, 'fork-change', { headRepo: 'someone/web', author: 'someone' });
    t.equal(await h.run(8, 'updated'), 'waiting', 'the next push waits for its own approval');
    const state = await h.store.get('web', 8);
    t.equal(state?.sha, sha1, 'the approved commit keeps running meanwhile');
    t.equal(state?.status, 'ready');
    t.equal(await note(started(h), state?.namespace ?? ''), 'fork');
  });

  await t.test('maxOpen holds the third preview back, and a freed slot lets it in', async (t) => {
    const h = await previewHarness(t, ', maxOpen: 2', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const shas: string[] = [];
    for (const n of [1, 2, 3]) {
      shas[n] = await h.sync.repo.commit(appFiles(`pr ${n}`), `pr ${n}`, `pr-${n}`);
      h.open(n, shas[n], `pr-${n}`);
    }
    t.equal(await h.run(1, 'labeled'), 'deployed');
    t.equal(await h.run(2, 'labeled'), 'deployed');
    t.equal(await h.run(3, 'labeled'), 'waiting');
    t.match(h.latest(shas[3]!), { state: 'queued', description: /waits for a free slot: 2 of 2 previews are running/ });
    h.forge.pullRequests.get(1)!.state = 'merged';
    t.equal(await h.run(1, 'merged'), 'removed');
    t.match(h.requeued.at(-1)?.data, { number: 3, cause: 'slot' }, 'the waiting pull request gets another look');
    t.equal(await h.run(3, 'slot', { event: false }), 'deployed');
  });

  await t.test('a preview refuses RBAC, cluster-scoped and privileged objects with the reason, and applies nothing of the app', async (t) => {
    const h = await previewHarness(t, '', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(
      {
        'deploy/rbac.yaml':
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: take-over }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects: [ { kind: ServiceAccount, name: default, namespace: default } ]\n',
        'deploy/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [ { name: web, image: web:1, securityContext: { privileged: true } } ]
`,
      },
      'escalate',
      'bad',
    );
    h.open(9, sha, 'bad');
    t.equal(await h.run(9, 'opened'), 'failed');
    const status = h.latest(sha);
    t.equal(status?.state, 'failed');
    const state = await h.store.get('web', 9);
    t.match(state?.reason ?? '', /ClusterRoleBinding/, `the reason names the binding: ${state?.reason}`);
    const record = await h.sync.history.get(state?.syncId ?? '');
    t.match(record?.error?.message, /ClusterRoleBinding take-over/);
    t.match(record?.error?.message, /privileged/);
    t.notOk(
      await started(h).get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'take-over' }),
      'the binding was never written',
    );
    t.notOk(await get(started(h), 'Deployment', 'web', state?.namespace ?? ''), 'nor the Deployment');
  });

  await t.test('waitFor: the preview waits for the CI status, and a failed one gets none', async (t) => {
    const h = await previewHarness(t, ', waitFor: [ci/build]', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('ci'), 'ci', 'ci');
    h.open(10, sha, 'ci');
    h.forge.checks.set(sha, { 'ci/build': 'pending' });
    t.equal(await h.run(10, 'opened'), 'waiting');
    t.match(h.latest(sha)?.description, /waits for ci\/build/);
    t.match(h.requeued.at(-1), { data: { number: 10, cause: 'checks' }, delayMs: 20_000 }, 'it looks again later');
    h.forge.checks.set(sha, { 'ci/build': 'success' });
    t.equal(await h.run(10, 'checks', { event: false }), 'deployed');
    const bad = await h.sync.repo.commit({ 'deploy/settings.yaml': appFiles('broken')['deploy/settings.yaml']! }, 'broken', 'ci');
    h.open(10, bad, 'ci');
    h.forge.checks.set(bad, { 'ci/build': 'failure' });
    t.equal(await h.run(10, 'updated'), 'failed');
    t.match(h.latest(bad), { state: 'failed', description: /ci\/build failed/ });
  });

  await t.test('the sweep removes orphans and expired previews, and deletes nothing while the forge API fails', async (t) => {
    const h = await previewHarness(t, ', ttl: 1h', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('sweep'), 'sweep', 'sweep');
    h.open(11, sha, 'sweep');
    h.open(12, sha, 'sweep');
    t.equal(await h.run(11, 'opened'), 'deployed');
    t.equal(await h.run(12, 'opened'), 'deployed');
    const ns11 = (await h.store.get('web', 11))?.namespace ?? '';

    h.forge.failing = 'connect ECONNREFUSED 127.0.0.1:1';
    h.forge.pullRequests.get(11)!.state = 'closed';
    const [during] = await h.sweep();
    t.match(during?.error, /ECONNREFUSED/);
    t.same(h.requeued, [], 'nothing queued while the forge cannot say what is open');
    t.match(await h.run(11, 'sweep', { event: false }), Error, 'a job that cannot ask the forge fails, to be retried');
    t.ok(await get(started(h), 'ConfigMap', 'settings', ns11), 'and deletes nothing');

    h.forge.failing = undefined;
    h.forge.pullRequests.delete(11);
    t.match(
      await h.run(11, 'sweep', { event: false }),
      /no pull request #11 .*nothing of its preview is removed/,
      'a forge that does not know the pull request (or no longer lets the token see it) removes nothing either',
    );
    t.ok(await get(started(h), 'ConfigMap', 'settings', ns11), 'still there');
    h.open(11, sha, 'sweep').state = 'closed';
    const [after] = await h.sweep();
    t.same(after?.looked, [11], 'the orphan is looked at');
    t.equal(await h.run(11, 'sweep', { event: false }), 'removed');
    await gone(started(h), ns11);

    const twelve = (await h.store.get('web', 12))!;
    await h.store.put({ ...twelve, lastPushAt: Date.now() - 2 * 3_600_000 });
    h.requeued.length = 0;
    const [expiry] = await h.sweep();
    t.same(expiry?.looked, [12], 'an expired preview is looked at');
    t.equal(await h.run(12, 'sweep', { event: false }), 'removed');
    t.equal((await h.store.get('web', 12))?.status, 'expired', 'remembered as expired');
    h.requeued.length = 0;
    t.same((await h.sweep())[0]?.looked, [], 'and not brought back by the next sweep');
    t.equal(await h.run(12, 'updated'), 'deployed', 'a push brings it back');
  });

  await t.test('sleepAfter: the sweep scales an idle preview to zero, and the next push scales it back', async (t) => {
    const h = await previewHarness(t, ', sleepAfter: 1h', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('sleepy'), 'sleepy', 'sleepy');
    h.open(13, sha, 'sleepy');
    t.equal(await h.run(13, 'opened'), 'deployed');
    const state = (await h.store.get('web', 13))!;
    await h.store.put({ ...state, lastPushAt: Date.now() - 2 * 3_600_000 });
    const [report] = await h.sweep();
    t.same(report?.slept, [13], 'the sweep asks for sleep');
    t.match(h.requeued.at(-1)?.data, { number: 13, cause: 'sleep' }, 'through the preview job, under its lock');
    t.equal(await h.run(13, 'sleep', { event: false }), 'slept');
    t.equal((await h.store.get('web', 13))?.status, 'sleeping');
    const replicas = async () =>
      ((await get(started(h), 'Deployment', 'web', state.namespace)) as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
    t.equal(await replicas(), 0, 'its Deployment has no replicas');
    const next = await h.sync.repo.commit({ 'deploy/settings.yaml': appFiles('awake')['deploy/settings.yaml']! }, 'awake', 'sleepy');
    h.open(13, next, 'sleepy');
    t.equal(await h.run(13, 'updated'), 'deployed');
    t.equal(await replicas(), 1, 'a push scales it back');
    t.equal((await h.store.get('web', 13))?.status, 'ready');
  });

  await t.test('a preview namespace the records lost is torn down once its pull request closes', async (t) => {
    const h = await previewHarness(t, '', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('lost'), 'lost', 'lost');
    h.open(14, sha, 'lost');
    t.equal(await h.run(14, 'opened'), 'deployed');
    const ns = (await h.store.get('web', 14))!.namespace;
    await h.store.remove('web', 14);
    t.same((await h.sweep())[0]?.looked, [14], 'the sweep finds it on the cluster');
    h.forge.pullRequests.get(14)!.state = 'closed';
    t.equal(await h.run(14, 'sweep', { event: false }), 'removed');
    t.notOk(await get(started(h), 'ConfigMap', 'settings', ns), 'its objects are gone');
    await gone(started(h), ns);
  });

  await t.test('a namespace Landfall did not create is never taken over', async (t) => {
    const h = await previewHarness(t, '', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('taken'), 'taken', 'taken');
    const { previewNamespace } = await import('../../src/previews/names.js');
    const ns = previewNamespace(h.sync.app, 15);
    await started(h).apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'someone-else' } } },
      { fieldManager: 'test', force: true },
    );
    t.teardown(() =>
      started(h)
        .delete({ apiVersion: 'v1', kind: 'Namespace', name: ns })
        .catch(() => undefined),
    );
    h.open(15, sha, 'taken');
    t.equal(await h.run(15, 'opened'), 'failed');
    t.match((await h.store.get('web', 15))?.reason, /exists and is not the preview of web #15/);
    t.same((await started(h).get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))?.metadata.labels?.team, 'someone-else', 'left as it was');
  });
}
