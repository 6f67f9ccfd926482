// Apply order and stages, as a table (after Flux's ReconcileOrder).
import t from 'tap';
import type { KubeObject } from '../../src/kube/refs.js';
import { applyOrder, stageOf } from '../../src/sync/order.js';

const o = (apiVersion: string, kind: string, name = 'x', namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

t.test('stages: definitions and cluster policy, then classes, then the rest', async (t) => {
  const table: [KubeObject, number][] = [
    [o('apiextensions.k8s.io/v1', 'CustomResourceDefinition'), 0],
    [o('v1', 'Namespace'), 0],
    [o('rbac.authorization.k8s.io/v1', 'ClusterRole'), 0],
    [o('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'), 0],
    [o('storage.k8s.io/v1', 'StorageClass'), 1],
    [o('networking.k8s.io/v1', 'IngressClass'), 1],
    [o('rbac.authorization.k8s.io/v1', 'Role'), 2],
    [o('apps/v1', 'Deployment'), 2],
    [o('example.com/v1', 'Widget'), 2],
  ];
  for (const [obj, stage] of table) t.equal(stageOf(obj), stage, `${obj.kind} in stage ${stage}`);
});

t.test('within a stage: kind rank, then group, kind, namespace, name; webhooks last', async (t) => {
  const shuffled = [
    o('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'),
    o('example.com/v1', 'Widget', 'a', 'web'),
    o('apps/v1', 'Deployment', 'b', 'web'),
    o('apps/v1', 'Deployment', 'a', 'web'),
    o('v1', 'Service', 'a', 'web'),
    o('v1', 'ConfigMap', 'a', 'web'),
    o('v1', 'ServiceAccount', 'a', 'web'),
    o('v1', 'Secret', 'a', 'web'),
    o('apps/v1', 'Deployment', 'a', 'api'),
  ];
  const sorted = [...shuffled].sort(applyOrder).map((x) => `${x.kind}/${x.metadata.namespace ?? ''}/${x.metadata.name}`);
  t.same(sorted, [
    'ServiceAccount/web/a',
    'ConfigMap/web/a',
    'Secret/web/a',
    'Service/web/a',
    'Deployment/api/a',
    'Deployment/web/a',
    'Deployment/web/b',
    'Widget/web/a',
    'ValidatingWebhookConfiguration//x',
  ]);
});
