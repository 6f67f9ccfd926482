// The objects each preview namespace gets before the app's own: in apply order, labelled as
// Landfall's preview, from the app's previews: settings.
import t from 'tap';
import {
  NETWORK_POLICY_NAME,
  PREVIEW_SERVICE_ACCOUNT,
  previewLabels,
  previewScaffold,
  previewSelector,
  previewServiceAccountUser,
} from '../../src/previews/scaffold.js';
import { previewApp } from '../support/preview-app.js';

const LABELS = {
  'app.kubernetes.io/managed-by': 'landfall',
  'landfall.dev/app': 'shop-pr-7',
  'landfall.dev/preview': 'shop',
  'landfall.dev/pull-request': '7',
};

t.test('the scaffold, in apply order, every object labelled as the preview', async (t) => {
  const objects = previewScaffold(previewApp(), 7);
  t.same(
    objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`),
    [
      'v1 Namespace -/pv-shop-7',
      'v1 LimitRange pv-shop-7/landfall-preview',
      'v1 ResourceQuota pv-shop-7/landfall-preview',
      'networking.k8s.io/v1 NetworkPolicy pv-shop-7/landfall-preview-ingress',
      'v1 ServiceAccount pv-shop-7/landfall-preview',
      'rbac.authorization.k8s.io/v1 RoleBinding pv-shop-7/landfall-preview',
    ],
    'namespace first; limits before the quota counts requests; the network policy before any pod; the identity last',
  );
  for (const o of objects) t.match(o.metadata.labels, LABELS, `${o.kind} is labelled`);
  t.same(previewLabels({ name: 'shop' }, 7), LABELS);
  t.equal(previewSelector({ name: 'shop' }), 'app.kubernetes.io/managed-by=landfall,landfall.dev/preview=shop');
  t.equal(previewSelector({ name: 'shop' }, 7), 'app.kubernetes.io/managed-by=landfall,landfall.dev/preview=shop,landfall.dev/pull-request=7');
});

t.test('the Namespace enforces, warns and audits Pod Security "restricted"', async (t) => {
  const [namespace] = previewScaffold(previewApp(), 7);
  t.same(namespace?.metadata.labels, {
    ...LABELS,
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/audit-version': 'latest',
  });
});

t.test('quota and limits come from previews.quota and previews.limits, quantities as strings', async (t) => {
  const byKind = (objects: ReturnType<typeof previewScaffold>, kind: string) => objects.find((o) => o.kind === kind);
  const defaults = previewScaffold(previewApp(), 7);
  t.same(byKind(defaults, 'ResourceQuota')?.spec, {
    hard: {
      'requests.cpu': '2',
      'requests.memory': '4Gi',
      'limits.cpu': '4',
      'limits.memory': '8Gi',
      pods: '20',
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    },
  });
  t.same(byKind(defaults, 'LimitRange')?.spec, {
    limits: [{ type: 'Container', default: { cpu: '500m', memory: '512Mi' }, defaultRequest: { cpu: '50m', memory: '64Mi' } }],
  });
  const custom = previewScaffold(
    previewApp('{ quota: { pods: 3, "requests.storage": 10Gi }, limits: { default: { cpu: 1 }, defaultRequest: { memory: 32Mi } } }'),
    7,
  );
  t.same(byKind(custom, 'ResourceQuota')?.spec, { hard: { pods: '3', 'requests.storage': '10Gi' } });
  t.same(byKind(custom, 'LimitRange')?.spec, { limits: [{ type: 'Container', default: { cpu: '1' }, defaultRequest: { memory: '32Mi' } }] });
});

t.test('the NetworkPolicy admits ingress from the namespace itself and the ingress namespaces only; egress is open', async (t) => {
  const policy = (previews: string) => previewScaffold(previewApp(previews), 7).find((o) => o.kind === 'NetworkPolicy');
  t.equal(policy('{}')?.metadata.name, NETWORK_POLICY_NAME);
  t.same(policy('{}')?.spec, {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [
          { podSelector: {} },
          { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ingress-nginx'] }] } },
        ],
      },
    ],
  });
  t.same(policy('{ ingressNamespaces: [traefik, monitoring] }')?.spec, {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [
          { podSelector: {} },
          { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['traefik', 'monitoring'] }] } },
        ],
      },
    ],
  });
  t.same(
    policy('{ ingressNamespaces: [] }')?.spec,
    { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
    'the namespace alone',
  );
});

t.test('the preview identity: a ServiceAccount bound to edit in its own namespace only', async (t) => {
  const objects = previewScaffold(previewApp(), 7);
  const account = objects.find((o) => o.kind === 'ServiceAccount');
  const binding = objects.find((o) => o.kind === 'RoleBinding');
  t.equal(account?.metadata.name, PREVIEW_SERVICE_ACCOUNT);
  t.equal(account?.automountServiceAccountToken, false, 'it is for impersonation, not for pods');
  t.same(binding?.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' });
  t.same(binding?.subjects, [{ kind: 'ServiceAccount', name: 'landfall-preview', namespace: 'pv-shop-7' }]);
  t.equal(binding?.metadata.namespace, 'pv-shop-7', 'a RoleBinding: the rights hold in this namespace alone');
  t.equal(previewServiceAccountUser('pv-shop-7'), 'system:serviceaccount:pv-shop-7:landfall-preview');
});

t.test('each call returns fresh objects; an app without previews has no scaffold', async (t) => {
  const app = previewApp();
  const first = previewScaffold(app, 7);
  first[0]!.metadata.labels!.x = 'changed';
  (first[2]!.spec as { hard: Record<string, string> }).hard.pods = '99';
  t.notOk(previewScaffold(app, 7)[0]!.metadata.labels!.x);
  t.equal(app.previews?.quota.pods, 20, 'the config is not shared with the objects');
  t.throws(() => previewScaffold({ name: 'shop', previews: undefined }, 7), /has no previews: block/);
});
