import { groupOf, type KubeObject } from '../kube/refs.js';

/** Kinds applied first, and their relative order (after Flux's ReconcileOrder). */
const FIRST = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ClusterRoleBinding',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
/** Kinds applied last (admission webhooks would otherwise reject the objects they guard). */
const LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function rank(kind: string): number {
  const first = FIRST.indexOf(kind);
  if (first !== -1) return first - FIRST.length - 1; // negative: before unknown kinds (0)
  const last = LAST.indexOf(kind);
  return last === -1 ? 0 : last + 1;
}

/**
 * The stage an object is applied in: 0 = CRDs, Namespaces and cluster-wide policy (ClusterRoles and
 * their bindings), after which CRDs must be Established; 1 = `*Class` kinds; 2 = everything else.
 */
export function stageOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): number {
  const group = groupOf(obj.apiVersion);
  if (group === 'apiextensions.k8s.io' || (group === '' && obj.kind === 'Namespace')) return 0;
  if (group === 'rbac.authorization.k8s.io' && (obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding')) return 0;
  if (obj.kind.endsWith('Class')) return 1;
  return 2;
}

/** Compares two objects in apply order: kind rank, then group, kind, namespace, name. */
export function applyOrder(a: KubeObject, b: KubeObject): number {
  return (
    rank(a.kind) - rank(b.kind) ||
    cmp(groupOf(a.apiVersion), groupOf(b.apiVersion)) ||
    cmp(a.kind, b.kind) ||
    cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    cmp(a.metadata.name, b.metadata.name)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
