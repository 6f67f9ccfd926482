// Least privilege for real: the Helm chart's own RBAC, rendered for two apps and applied to the
// real API server, and Landfall running with a ServiceAccount token minted by the TokenRequest
// API. Both apps deploy, prune and heal with it; what the app's policy refuses, the API server
// would refuse too.
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../../src/kube/refs.js';
import { createKubeClient } from '../../../src/kube/client.js';
import { findTools } from '../../../src/sync/tools.js';
import { realKube, realKubeSkip, runTool, type RealKube } from '../../support/real-kube.js';
import { configMap, deployment, realSyncHarness } from '../../support/sync.js';
import { uniqueName } from '../../support/kube.js';
import { ROOT } from '../../support/process.js';

const skip = realKubeSkip();
const helmEnv = { HELM_CACHE_HOME: '/tmp/landfall-helm/cache', HELM_CONFIG_HOME: '/tmp/landfall-helm/config', HELM_DATA_HOME: '/tmp/landfall-helm/data' };

/** The chart's RBAC and ServiceAccount for a release in `releaseNs` serving `apps`. */
async function renderChartRbac(releaseNs: string, apps: { name: string; namespace: string }[]): Promise<string> {
  const config = {
    server: { publicUrl: 'https://landfall.test' },
    forges: { github: { webhookSecret: 'x' } },
    apps: apps.map((a) => ({ ...a, forge: 'github', repo: `acme/${a.name}`, branch: 'main' })),
  };
  Object.assign(process.env, helmEnv);
  const rendered = await runTool(findTools().helm, [
    'template',
    'lf',
    `${ROOT}charts/landfall`,
    '--namespace',
    releaseNs,
    '--set-json',
    `config=${JSON.stringify(config)}`,
    '--show-only',
    'templates/serviceaccount.yaml',
    '--show-only',
    'templates/rbac.yaml',
  ]);
  if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  return rendered.stdout;
}

/** A token for the ServiceAccount, from the TokenRequest API, and a kubeconfig that uses it. */
async function serviceAccountKubeConfig(kube: RealKube, namespace: string, name: string): Promise<{ kc: KubeConfig; token: string }> {
  const answer = await kube.client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const admin = kube.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [admin],
    users: [{ name: 'landfall', token: answer.status.token }],
    contexts: [{ name: 'landfall', cluster: admin.name, user: 'landfall' }],
    currentContext: 'landfall',
  });
  return { kc, token: answer.status.token };
}

t.test('the chart RBAC for two apps is enough to deploy, prune and heal both, and no more', { skip }, async (t) => {
  const kube = await realKube(t);
  const releaseNs = await kube.namespace('lf-release');
  const nsA = uniqueName('app-a');
  const nsB = uniqueName('app-b');
  const rbac = await renderChartRbac(releaseNs, [
    { name: 'shop', namespace: nsA },
    { name: 'blog', namespace: nsB },
  ]);
  t.match(rbac, /kind: Role\b/, 'a Role per app namespace');
  t.notMatch(rbac, /kind: ClusterRole\b/, 'no cluster-wide rights for apps that need none');
  // The app namespaces exist first (the harness makes them); then the chart's objects, as admin.
  const [a, b] = [nsA, nsB];
  for (const ns of [a, b]) {
    await kube.client.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'landfall.dev/test': 'true' } } },
      { fieldManager: 'landfall-test', force: true },
    );
    t.teardown(() => kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined));
  }
  // As `helm install --namespace` would: objects that name no namespace go to the release's.
  for (const doc of parseAllDocuments(rbac).map((d) => d.toJS() as KubeObject | null)) {
    if (!doc) continue;
    if (doc.kind === 'ServiceAccount' || doc.kind === 'Role' || doc.kind === 'RoleBinding') doc.metadata.namespace ??= releaseNs;
    await kube.client.apply(doc, { fieldManager: 'helm', force: true });
  }
  const { kc, token } = await serviceAccountKubeConfig(kube, releaseNs, 'lf-landfall');
  const can = await kube.kubectl(['auth', 'can-i', '--list', '-n', a, `--as=system:serviceaccount:${releaseNs}:lf-landfall`]);
  t.match(can.stdout, /deployments\.apps/, 'what kubectl says the ServiceAccount may do in the app namespace');

  for (const ns of [a, b]) {
    t.test(`app in ${ns.split('-').slice(0, 2).join('-')}`, async (t) => {
      const h = await realSyncHarness(t, kube, ', path: deploy, healthTimeout: 90s', { namespace: ns, kubeConfig: kc });
      const first = await h.repo.commit({
        'deploy/web.yaml': deployment('web'),
        'deploy/cm.yaml': configMap('settings', { color: 'blue' }),
        'deploy/old.yaml': configMap('old'),
      });
      const one = await h.run({ sha: first });
      t.equal(one.result, 'succeeded', one.error?.message ?? '');
      const second = await h.repo.commit({ 'deploy/old.yaml': null });
      const two = await h.run({ sha: second });
      t.equal(two.result, 'succeeded', two.error?.message ?? '');
      t.equal(await kube.get('v1', 'ConfigMap', 'old', ns), undefined, 'pruned with the ServiceAccount');
      const edit = await kube.kubectl(['-n', ns, 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"red"}}']);
      t.equal(edit.code, 0, edit.stderr);
      const heal = await h.run({ sha: second, trigger: 'heal' });
      t.equal(heal.result, 'succeeded', heal.error?.message ?? '');
      t.same((await kube.get('v1', 'ConfigMap', 'settings', ns))?.data, { color: 'blue' }, 'healed with the ServiceAccount');
    });
  }

  t.test('what the app may not do, Landfall refuses, and the API server would refuse too', async (t) => {
    const h = await realSyncHarness(t, kube, ', path: deploy', { namespace: a, kubeConfig: kc });
    const sha = await h.repo.commit({
      'deploy/elsewhere.yaml': configMap('elsewhere', { a: '1' }, `\n  namespace: ${b}`),
      'deploy/role.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: ${uniqueName('lf-test')} }\nrules: []\n`,
    });
    const record = await h.run({ sha });
    t.equal(record.result, 'failed');
    t.equal(record.error?.code, 'MANIFEST_INVALID');
    t.match(record.error?.message ?? '', new RegExp(`ConfigMap/${b}/elsewhere is in namespace "${b}", which this app may not deploy to`));
    t.match(record.error?.message ?? '', /ClusterRole\/lf-test-[0-9a-f]+ is cluster-scoped, and this app may not change cluster-scoped objects/);

    const direct = await createKubeClient(kc, { attempts: 1 });
    t.teardown(() => direct.close());
    const outside = await direct
      .apply(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: `${uniqueName('nope')}` } },
        { fieldManager: 'landfall', dryRun: true },
      )
      .then(
        () => undefined,
        (err: { status?: number; message: string }) => err,
      );
    t.equal(outside?.status, 403, `a namespace the chart grants nothing in: ${outside?.message}`);
    const cluster = await direct
      .apply(
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'landfall-should-not' }, rules: [] },
        { fieldManager: 'landfall', dryRun: true },
      )
      .then(
        () => undefined,
        (err: { status?: number; message: string }) => err,
      );
    t.equal(cluster?.status, 403, `a cluster-scoped object: ${cluster?.message}`);
    t.match(
      cluster?.message ?? '',
      /clusterroles\.rbac\.authorization\.k8s\.io "landfall-should-not" is forbidden: User "system:serviceaccount:.*:lf-landfall" cannot patch resource "clusterroles"/,
    );
    t.ok(token.length > 100, 'a real signed token');
  });
});
