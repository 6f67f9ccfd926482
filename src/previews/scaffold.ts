import type { AppConfig } from '../config/schema.js';
import type { KubeObject } from '../kube/refs.js';
import { APP_LABEL, MANAGED_BY, MANAGED_BY_LANDFALL, PREVIEW_LABEL, PULL_REQUEST_LABEL } from '../model/labels.js';
import { previewAppName, previewNamespace, previewsOf } from './names.js';

/**
 * The ServiceAccount a preview's objects are written as: the worker impersonates it
 * (`system:serviceaccount:<namespace>:landfall-preview`), and its RoleBinding to the ClusterRole
 * `edit` in the preview namespace is all it may do, so a preview can write nowhere else, and
 * cannot grant permissions (`edit` holds no RBAC rights) or change its own quota (`edit` only reads
 * ResourceQuotas and LimitRanges).
 */
export const PREVIEW_SERVICE_ACCOUNT = 'landfall-preview';

/** The name of the scaffold's ResourceQuota, LimitRange and RoleBinding in each preview namespace. */
export const SCAFFOLD_NAME = 'landfall-preview';

/** The name of the scaffold's NetworkPolicy. */
export const NETWORK_POLICY_NAME = 'landfall-preview-ingress';

/** The well-known label the API server sets on every namespace, its name (Kubernetes 1.22+). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The Pod Security Admission profile previews run under, for all three modes. */
const POD_SECURITY_LEVEL = 'restricted';

/** The user name the API server gives the preview's ServiceAccount, for impersonation. */
export function previewServiceAccountUser(namespace: string): string {
  return `system:serviceaccount:${namespace}:${PREVIEW_SERVICE_ACCOUNT}`;
}

/**
 * The labels on every object of the preview of pull request `number`: Landfall's own (managed-by,
 * the preview's name as its app), plus `landfall.dev/preview: <app>` and
 * `landfall.dev/pull-request: <n>`, by which the previews of an app are found (a label selector of
 * {@link previewSelector}) and torn down.
 */
export function previewLabels(app: Pick<AppConfig, 'name'>, number: number): Record<string, string> {
  return {
    [MANAGED_BY]: MANAGED_BY_LANDFALL,
    [APP_LABEL]: previewAppName(app, number),
    [PREVIEW_LABEL]: app.name,
    [PULL_REQUEST_LABEL]: String(number),
  };
}

/** The label selector of the previews of `app` (every pull request), or of one when `number` is given. */
export function previewSelector(app: Pick<AppConfig, 'name'>, number?: number): string {
  const selector = `${MANAGED_BY}=${MANAGED_BY_LANDFALL},${PREVIEW_LABEL}=${app.name}`;
  return number === undefined ? selector : `${selector},${PULL_REQUEST_LABEL}=${number}`;
}

/** A quantity as the API writes it: numbers in config (`pods: 20`) become strings. */
function quantities(map: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, String(value)]));
}

/**
 * What Landfall creates in the namespace of the preview of pull request `number` before the app's
 * own objects, in the order to apply them:
 *
 * 1. the Namespace, with Pod Security Admission at `restricted` (latest) for enforce, warn and
 *    audit: the API server itself refuses privileged pods, host namespaces, hostPath volumes and
 *    added capabilities, whatever the manifests say;
 * 2. a LimitRange giving containers without resources `previews.limits` (before the quota, so
 *    that no pod is refused for lacking requests the quota counts);
 * 3. a ResourceQuota of `previews.quota` (`spec.hard`);
 * 4. a NetworkPolicy admitting ingress only from pods of the same namespace and from the
 *    namespaces in `previews.ingressNamespaces` (the ingress controller's), before any pod runs;
 *    egress stays open (see below);
 * 5. the ServiceAccount {@link PREVIEW_SERVICE_ACCOUNT} and its RoleBinding to `edit` in this
 *    namespace alone: the identity the worker impersonates to write the app's objects.
 *
 * Egress is left open on purpose. A preview runs the same code as the app, which talks to the
 * cluster's DNS, to APIs and databases outside the cluster, to its image's package mirrors; where
 * DNS runs and what it is labelled differs from cluster to cluster, so a default egress policy
 * would break most previews or need per-cluster knowledge Landfall does not have. What the
 * deny-by-default ingress guards against is others reaching code that is not yet reviewed; the
 * code itself is either pushed by someone with write access or, from a fork, run only once a
 * maintainer approved that exact commit (`previews.forks`). A team that wants egress closed adds
 * a NetworkPolicy with `policyTypes: [Egress]` to its manifests, which previews apply like any
 * namespaced object.
 *
 * Each object carries {@link previewLabels}. Throws for an app without `previews:`.
 */
export function previewScaffold(app: Pick<AppConfig, 'name' | 'previews'>, number: number): KubeObject[] {
  const previews = previewsOf(app);
  const namespace = previewNamespace(app, number);
  const labels = previewLabels(app, number);
  const meta = (name: string) => ({ name, namespace, labels: { ...labels } });
  const podSecurity: Record<string, string> = {};
  for (const mode of ['enforce', 'warn', 'audit']) {
    podSecurity[`pod-security.kubernetes.io/${mode}`] = POD_SECURITY_LEVEL;
    podSecurity[`pod-security.kubernetes.io/${mode}-version`] = 'latest';
  }
  const ingressFrom: Record<string, unknown>[] = [{ podSelector: {} }];
  if (previews.ingressNamespaces.length > 0) {
    ingressFrom.push({
      namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...previews.ingressNamespaces] }] },
    });
  }
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { ...labels, ...podSecurity } } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta(SCAFFOLD_NAME),
      spec: { limits: [{ type: 'Container', default: quantities(previews.limits.default), defaultRequest: quantities(previews.limits.defaultRequest) }] },
    },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(SCAFFOLD_NAME), spec: { hard: quantities(previews.quota) } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(NETWORK_POLICY_NAME),
      // One rule whose `from` lists both peers: a peer matches when either does (OR).
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: ingressFrom }] },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(PREVIEW_SERVICE_ACCOUNT), automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(SCAFFOLD_NAME),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: PREVIEW_SERVICE_ACCOUNT, namespace }],
    },
  ];
}
