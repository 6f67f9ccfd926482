// A preview namespace on the real control plane: the scaffold (src/previews/scaffold.ts) applied
// to a real kube-apiserver; its Pod Security admission refuses a privileged Pod with its own
// reason (server-side dry-run), as the guard does first with ours, while a Deployment whose pods
// it would refuse is let through (so the guard warns of it); the LimitRange fills in
// resources and the ResourceQuota is enforced; the NetworkPolicy is stored as written; and the
// preview's ServiceAccount, which the worker impersonates, may write its namespace and no other.
import t from 'tap';
import type { KubeApiError } from '../../../src/kube/errors.js';
import { objectId, refOf, type KubeObject } from '../../../src/kube/refs.js';
import { checkPreviewObjects } from '../../../src/previews/guard.js';
import { previewNamespace } from '../../../src/previews/names.js';
import { previewScaffold, previewServiceAccountUser } from '../../../src/previews/scaffold.js';
import { uniqueName } from '../../support/kube.js';
import { previewApp } from '../../support/preview-app.js';
import { realKube, realKubeSkip, waitReal } from '../../support/real-kube.js';

const skip = realKubeSkip();

/** A Pod in `namespace` whose one container has `container` merged in, the pod spec `pod`. */
function pod(name: string, namespace: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { ...spec, containers: [{ name: 'main', image: 'nginx:1.25', ...container }] },
  };
}

/** What Pod Security `restricted` asks of a pod. */
const RESTRICTED_POD = { securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } } };
const RESTRICTED_CONTAINER = { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } };

t.test('the preview scaffold on a real API server', { skip }, async (t) => {
  const kube = await realKube(t);
  const app = previewApp('{ ingressNamespaces: [ingress-nginx] }', uniqueName('pg'), 'shop');
  const number = 1 + Math.floor(Math.random() * 99_999);
  const namespace = previewNamespace(app, number);
  const scaffold = previewScaffold(app, number);
  // Marked as a test namespace, so a run that dies before its teardown leaves it findable.
  scaffold[0]!.metadata.labels = { ...scaffold[0]!.metadata.labels, 'landfall.dev/test': 'true' };
  t.teardown(() => kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => undefined));
  for (const obj of scaffold) await kube.client.apply(obj, { fieldManager: 'landfall', force: true });

  t.test('every object of the scaffold is accepted and stored as written', async (t) => {
    const ns = await kube.get('v1', 'Namespace', namespace);
    t.match(ns?.metadata.labels, {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'landfall.dev/preview': app.name,
      'landfall.dev/pull-request': String(number),
    });
    for (const obj of scaffold.slice(1)) {
      const live = await kube.get(obj.apiVersion, obj.kind, obj.metadata.name, namespace);
      t.ok(live, `${obj.kind} ${obj.metadata.name} exists`);
      const { apiVersion: _a, kind: _k, metadata: _m, ...body } = obj;
      t.match(live, body, `${obj.kind} as written`);
    }
  });

  t.test("a privileged Pod: the guard refuses it first, and the API server's Pod Security admission with its own reason", async (t) => {
    const privileged = pod('privileged', namespace, { securityContext: { privileged: true } });
    const check = checkPreviewObjects([{ obj: privileged, source: 'deploy/pod.yaml#1', id: objectId(refOf(privileged)), namespaced: true }], namespace, 'shop');
    t.same(check.problems, [
      'Pod privileged (deploy/pod.yaml#1): spec.containers[main].securityContext.privileged is true: previews may not run privileged containers; remove it',
    ]);
    const err = (await kube.client.apply(privileged, { fieldManager: 'landfall', force: true, dryRun: true }).catch((e: unknown) => e)) as KubeApiError;
    t.equal(err.status, 403, 'forbidden');
    t.equal(err.reason, 'Forbidden');
    t.match(err.message, /violates PodSecurity "restricted:latest"/);
    t.match(err.message, /privileged \(container "main" must not set securityContext\.privileged=true\)/);
    t.equal(await kube.get('v1', 'Pod', 'privileged', namespace), undefined, 'a dry-run: nothing was created');
  });

  t.test('a Deployment whose pods "restricted" refuses is let through: why the guard warns about it', async (t) => {
    const web: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } },
      },
    };
    const check = checkPreviewObjects([{ obj: web, source: 'deploy/web.yaml#1', id: objectId(refOf(web)), namespaced: true }], namespace, 'shop');
    t.same(check.problems, []);
    t.match(check.warnings, [
      /^Deployment web \(deploy\/web\.yaml#1\): spec\.template\.spec: Pod Security "restricted" will not let its pods run without runAsNonRoot/,
    ]);
    const answer = await kube.client.apply(web, { fieldManager: 'landfall', force: true, dryRun: true });
    t.equal(answer.metadata.name, 'web', 'the API server accepts the Deployment (with a warning only); its ReplicaSet could create no pod');
  });

  t.test('a Pod that Pod Security "restricted" allows gets the LimitRange defaults', async (t) => {
    const fine = pod('fine', namespace, RESTRICTED_CONTAINER, RESTRICTED_POD);
    const check = checkPreviewObjects([{ obj: fine, source: 'deploy/pod.yaml#1', id: objectId(refOf(fine)), namespaced: true }], namespace, 'shop');
    t.same([check.problems, check.warnings], [[], []], 'nothing for the guard to say');
    const answer = await kube.client.apply(fine, { fieldManager: 'landfall', force: true, dryRun: true });
    t.match(answer.spec, { containers: [{ resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } } }] });
  });

  t.test('the ResourceQuota is enforced', async (t) => {
    // Quota admission refuses everything until the controller has computed the quota's usage.
    await waitReal('the quota controller to compute usage', async () => {
      const quota = await kube.get('v1', 'ResourceQuota', 'landfall-preview', namespace);
      return (quota?.status as { used?: unknown } | undefined)?.used !== undefined;
    });
    const big = pod('big', namespace, { ...RESTRICTED_CONTAINER, resources: { requests: { cpu: '3' }, limits: { cpu: '3' } } }, RESTRICTED_POD);
    const err = (await kube.client.apply(big, { fieldManager: 'landfall', force: true, dryRun: true }).catch((e: unknown) => e)) as KubeApiError;
    t.equal(err.status, 403);
    t.match(err.message, /exceeded quota: landfall-preview/);
    t.match(err.message, /requests\.cpu=3/);
  });

  t.test("the preview's identity writes its own namespace and nothing else", async (t) => {
    const as = `--as=${previewServiceAccountUser(namespace)}`;
    const can = async (args: string[]) => (await kube.kubectl(['auth', 'can-i', ...args, as])).stdout.trim();
    t.equal(await can(['create', 'deployments.apps', '-n', namespace]), 'yes');
    t.equal(await can(['delete', 'secrets', '-n', namespace]), 'yes');
    t.equal(await can(['create', 'configmaps', '-n', 'default']), 'no', 'not another namespace');
    t.equal(await can(['create', 'rolebindings.rbac.authorization.k8s.io', '-n', namespace]), 'no', 'no permissions to grant');
    t.equal(await can(['update', 'resourcequotas', '-n', namespace]), 'no', 'not its own quota');
    t.equal(await can(['create', 'namespaces']), 'no');
    const manifest = (ns: string) => JSON.stringify(pod('as-preview', ns, RESTRICTED_CONTAINER, RESTRICTED_POD));
    const here = await kube.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=landfall', as, '-f', '-'], { input: manifest(namespace) });
    t.equal(here.code, 0, here.stderr);
    const there = await kube.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=landfall', as, '-f', '-'], { input: manifest('default') });
    t.not(there.code, 0);
    t.match(there.stderr, /forbidden/i);
  });
});
