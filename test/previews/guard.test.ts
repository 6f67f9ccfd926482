// What a preview may apply: every object moved into the preview namespace or refused with the
// object, its file and what to change; all problems at once, as validation reports them.
import t from 'tap';
import { parse } from 'yaml';
import type { ResourceInfo } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/refs.js';
import { checkPreviewObjects } from '../../src/previews/guard.js';
import { validateObjects, type DesiredObject } from '../../src/sync/validate.js';
import { previewApp } from '../support/preview-app.js';

const served: Record<string, ResourceInfo> = {};
for (const [apiVersion, kind, plural, namespaced] of [
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'Pod', 'pods', true],
  ['v1', 'ResourceQuota', 'resourcequotas', true],
  ['v1', 'LimitRange', 'limitranges', true],
  ['v1', 'Namespace', 'namespaces', false],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'StatefulSet', 'statefulsets', true],
  ['apps/v1', 'DaemonSet', 'daemonsets', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['batch/v1', 'Job', 'jobs', true],
  ['batch/v1', 'CronJob', 'cronjobs', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false],
] as const) {
  served[`${apiVersion}|${kind}`] = { plural, namespaced, kind };
}
const lookup = async (v: string, k: string) => served[`${v}|${k}`];
const NS = 'pv-shop-7';

/** The app's objects as validation hands them over: the app may write `shop` and `other`, and cluster-scoped objects. */
async function desired(files: Record<string, string>): Promise<DesiredObject[]> {
  const app = previewApp('{}', 'shop', 'shop');
  const rendered = Object.entries(files).flatMap(([file, yaml]) =>
    yaml
      .split(/^---$/m)
      .filter((doc) => doc.trim())
      .map((doc, i) => ({ obj: parse(doc) as KubeObject, source: `${file}#${i + 1}` })),
  );
  return validateObjects(rendered, { ...app, allowClusterScoped: true, allowedNamespaces: ['shop', 'other'] }, lookup, 'applyset-x-v1');
}

/** A Deployment `name` whose pod spec is `pod` (YAML flow mapping entries) and whose container adds `container`. */
function deployment(name: string, pod = '', container = '', kind = 'Deployment', apiVersion = 'apps/v1'): string {
  return `apiVersion: ${apiVersion}
kind: ${kind}
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { ${pod}${pod ? ', ' : ''}containers: [{ name: main, image: nginx${container ? `, ${container}` : ''} }] }
`;
}

t.test('namespaced objects of the app are moved into the preview namespace, their id with them', async (t) => {
  const objects = await desired({
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { a: "1" }\n',
    'deploy/own.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: explicit, namespace: shop }\n',
    'deploy/policy.yaml':
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: egress }\nspec: { podSelector: {}, policyTypes: [Egress] }\n',
  });
  const before = structuredClone(objects);
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, []);
  t.same(check.skipped, []);
  t.same(
    check.objects.map((o) => [o.id, o.obj.metadata.namespace, o.source]),
    [
      ['pv-shop-7_settings__ConfigMap', NS, 'deploy/cm.yaml#1'],
      ['pv-shop-7_explicit__ConfigMap', NS, 'deploy/own.yaml#1'],
      ['pv-shop-7_egress_networking.k8s.io_NetworkPolicy', NS, 'deploy/policy.yaml#1'],
    ],
  );
  t.match(check.objects[0]?.obj, { data: { a: '1' }, metadata: { labels: { 'landfall.dev/app': 'shop' } } }, 'the rest of the object as it was');
  t.same(objects, before, 'the input is not modified');
  const again = checkPreviewObjects(check.objects, NS, 'shop');
  t.same(again.objects, check.objects, 'objects already in the preview namespace pass as they are');
});

t.test('every refusal at once, each naming the object, its file and what to do', async (t) => {
  const objects = await desired({
    'deploy/rbac.yaml': [
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: admin-binding }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin }\nsubjects: []\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: leader }\nrules: []\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: leader }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: leader }\nsubjects: []\n',
    ].join('---\n'),
    'deploy/crd.yaml':
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: widgets.example.com }\nspec: { group: example.com, scope: Namespaced, names: { kind: Widget, plural: widgets }, versions: [] }\n',
    'deploy/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: other }\n',
    'deploy/elsewhere.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: far, namespace: other }\n',
    'deploy/agent.yaml': deployment('agent', '', '', 'DaemonSet'),
    'deploy/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: fine }\n',
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, [
    'ClusterRoleBinding admin-binding (deploy/rbac.yaml#1): previews apply namespaced objects only; a cluster-scoped object is shared with the app and every other preview. Keep it out of the path the app renders (deploy it with an app of its own)',
    "Role leader (deploy/rbac.yaml#2): previews may not grant permissions (the preview's identity, bound to the ClusterRole edit in its namespace, can write no RBAC objects). Leave it out of the app's manifests, or give the preview's pods what they need another way",
    "RoleBinding leader (deploy/rbac.yaml#3): previews may not grant permissions (the preview's identity, bound to the ClusterRole edit in its namespace, can write no RBAC objects). Leave it out of the app's manifests, or give the preview's pods what they need another way",
    'CustomResourceDefinition widgets.example.com (deploy/crd.yaml#1): previews apply namespaced objects only; a cluster-scoped object is shared with the app and every other preview. Keep it out of the path the app renders (deploy it with an app of its own)',
    `Namespace other (deploy/ns.yaml#1): previews do not create namespaces; the preview runs in "${NS}" alone. Leave it out of the app's manifests`,
    `ConfigMap far (deploy/elsewhere.yaml#1): names namespace "other"; a preview writes only its own namespace "${NS}". Remove metadata.namespace, or set it to the app's namespace "shop" (moved into the preview's)`,
    "DaemonSet agent (deploy/agent.yaml#1): previews do not run DaemonSets (one pod on every node of a shared cluster is not a preview of an app, and node agents need host access previews refuse). Leave it out of the app's manifests",
  ]);
  t.same(
    check.objects.map((o) => o.id),
    ['pv-shop-7_fine__ConfigMap'],
    'what may be applied is still returned: the caller refuses the whole preview on any problem',
  );
});

t.test("the app's own Namespace, ResourceQuota and LimitRange are skipped: the scaffold's stand in", async (t) => {
  const objects = await desired({
    'deploy/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
    'deploy/quota.yaml': 'apiVersion: v1\nkind: ResourceQuota\nmetadata: { name: q }\nspec: { hard: { pods: "100" } }\n',
    'deploy/limits.yaml': 'apiVersion: v1\nkind: LimitRange\nmetadata: { name: l }\nspec: { limits: [] }\n',
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, []);
  t.same(check.objects, []);
  t.same(check.skipped, [
    `Namespace shop (deploy/ns.yaml#1): the preview runs in its own namespace "${NS}", which Landfall creates`,
    'ResourceQuota q (deploy/quota.yaml#1): the preview namespace has its own ResourceQuota, from previews.quota',
    'LimitRange l (deploy/limits.yaml#1): the preview namespace has its own LimitRange, from previews.limits',
  ]);
});

t.test('pod templates that reach the node are refused, in every workload kind, with the field to change', async (t) => {
  const objects = await desired({
    'deploy/priv.yaml': deployment('priv', '', 'securityContext: { privileged: true }'),
    'deploy/host.yaml': deployment('host', 'hostNetwork: true, hostPID: true, hostIPC: true', '', 'StatefulSet'),
    'deploy/path.yaml': deployment('path', 'volumes: [{ name: logs, hostPath: { path: /var/log } }, { name: tmp, emptyDir: {} }]', '', 'ReplicaSet'),
    'deploy/caps.yaml': deployment('caps', '', 'securityContext: { capabilities: { add: [NET_BIND_SERVICE, NET_ADMIN, SYS_TIME] } }', 'Job', 'batch/v1'),
    'deploy/port.yaml': deployment('port', '', 'ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }]'),
    'deploy/pod.yaml':
      'apiVersion: v1\nkind: Pod\nmetadata: { name: single }\nspec: { initContainers: [{ name: setup, image: busybox, securityContext: { privileged: true } }], containers: [{ name: main, image: nginx }] }\n',
    'deploy/cron.yaml':
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: { name: nightly }\nspec: { schedule: "0 0 * * *", jobTemplate: { spec: { template: { spec: { hostPID: true, restartPolicy: Never, containers: [{ name: main, image: busybox }] } } } } }\n',
    'deploy/bind.yaml': deployment('bind', '', 'securityContext: { capabilities: { add: [NET_BIND_SERVICE] } }'),
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, [
    'Deployment priv (deploy/priv.yaml#1): spec.template.spec.containers[main].securityContext.privileged is true: previews may not run privileged containers; remove it',
    "StatefulSet host (deploy/host.yaml#1): spec.template.spec.hostNetwork is true: previews may not share the node's namespaces; remove it",
    "StatefulSet host (deploy/host.yaml#1): spec.template.spec.hostPID is true: previews may not share the node's namespaces; remove it",
    "StatefulSet host (deploy/host.yaml#1): spec.template.spec.hostIPC is true: previews may not share the node's namespaces; remove it",
    "ReplicaSet path (deploy/path.yaml#1): spec.template.spec.volumes[logs] is a hostPath volume: previews may not mount the node's files; use an emptyDir or a PersistentVolumeClaim",
    'Job caps (deploy/caps.yaml#1): spec.template.spec.containers[main].securityContext.capabilities.add has NET_ADMIN, SYS_TIME: previews may add NET_BIND_SERVICE only; remove the others',
    'Deployment port (deploy/port.yaml#1): spec.template.spec.containers[main].ports hostPort 8080: previews may not take ports of the node; remove hostPort and reach the pod through a Service',
    'Pod single (deploy/pod.yaml#1): spec.initContainers[setup].securityContext.privileged is true: previews may not run privileged containers; remove it',
    "CronJob nightly (deploy/cron.yaml#1): spec.jobTemplate.spec.template.spec.hostPID is true: previews may not share the node's namespaces; remove it",
  ]);
  t.same(
    check.objects.map((o) => o.obj.metadata.name),
    ['bind'],
    'NET_BIND_SERVICE alone is allowed',
  );
});

t.test('what Pod Security "restricted" will refuse later is a warning, once per pod template', async (t) => {
  const hardened =
    'securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: [ALL] }, seccompProfile: { type: RuntimeDefault } }';
  const objects = await desired({
    'deploy/plain.yaml': deployment('plain'),
    'deploy/hardened.yaml': deployment('hardened', '', hardened),
    'deploy/pod-level.yaml': deployment(
      'pod-level',
      'securityContext: { runAsNonRoot: true, seccompProfile: { type: Localhost, localhostProfile: p.json } }',
      'securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }',
    ),
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, []);
  t.same(check.warnings, [
    'Deployment plain (deploy/plain.yaml#1): spec.template.spec: Pod Security "restricted" will not let its pods run without runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop: [ALL], seccompProfile.type: RuntimeDefault (in each container\'s securityContext)',
  ]);
  t.equal(check.objects.length, 3, 'warned about, not refused');
});

t.test("strings that name a Service of the app's own namespace are a warning; Secrets are not read", async (t) => {
  const objects = await desired({
    'deploy/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { DB: "postgres://db.shop.svc.cluster.local:5432/app", CACHE: "redis.shops.svc" }\n',
    'deploy/web.yaml': deployment('web', '', 'env: [{ name: API, value: "http://api.shop.svc:8080" }]'),
    'deploy/secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { url: "postgres://db.shop.svc" }\n',
    'deploy/other.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other }\ndata: { a: "db.shop.svcx and shop.svc" }\n',
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(
    check.warnings.filter((w) => w.includes('refers to')),
    [
      'ConfigMap settings (deploy/cm.yaml#1): refers to "db.shop.svc.cluster.local", a Service in the app\'s own namespace "shop", not the preview\'s; map it in previews.values (".shop.svc": ".{namespace}.svc")',
      'Deployment web (deploy/web.yaml#1): refers to "api.shop.svc", a Service in the app\'s own namespace "shop", not the preview\'s; map it in previews.values (".shop.svc": ".{namespace}.svc")',
    ],
  );
});

t.test('a hook with a generated name keeps its generated id form in the preview namespace', async (t) => {
  const objects = await desired({
    'deploy/migrate.yaml':
      'apiVersion: batch/v1\nkind: Job\nmetadata: { generateName: migrate-, annotations: { landfall.dev/hook: pre-sync } }\nspec: { template: { spec: { restartPolicy: Never, containers: [{ name: m, image: busybox }] } } }\n',
  });
  const check = checkPreviewObjects(objects, NS, 'shop');
  t.same(check.problems, []);
  t.equal(check.objects[0]?.id, 'pv-shop-7_migrate-*_batch_Job');
  t.equal(check.objects[0]?.obj.metadata.namespace, NS);
  t.ok(check.objects[0]?.hook, 'the hook spec travels with it');
});

t.test('a preview may not replace the scaffold, run as its identity, or open itself past the ingress', async (t) => {
  const app = previewApp();
  const objects = [
    {
      obj: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'landfall-preview-ingress' }, spec: { podSelector: {} } },
      source: 'deploy/np.yaml#1',
    },
    { obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'landfall-preview' } }, source: 'deploy/sa.yaml#1' },
    {
      obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'open' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
      source: 'deploy/svc.yaml#1',
    },
    { obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'fine' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } }, source: 'deploy/svc.yaml#2' },
    {
      obj: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'borrow' },
        spec: { serviceAccountName: 'landfall-preview', containers: [{ name: 'c', image: 'x' }] },
      },
      source: 'deploy/pod.yaml#1',
    },
  ].map((o) => ({ ...o, id: `${o.obj.kind}/${o.obj.metadata.name}`, namespaced: true }));
  const checked = checkPreviewObjects(objects, 'pv-shop-1', app.namespace);
  t.equal(checked.problems.length, 4, checked.problems.join('\n'));
  t.match(
    checked.problems[0],
    /NetworkPolicy landfall-preview-ingress \(deploy\/np\.yaml#1\): has the name of an object Landfall puts in every preview namespace/,
  );
  t.match(checked.problems[1], /ServiceAccount landfall-preview .*Rename it/);
  t.match(checked.problems[2], /Service open .*type LoadBalancer opens the preview outside the cluster/);
  t.match(checked.problems[3], /Pod borrow .*runs as the ServiceAccount landfall-preview/);
  t.same(
    checked.objects.map((o) => o.obj.metadata.name),
    ['fine'],
    'a ClusterIP Service is fine',
  );
});
