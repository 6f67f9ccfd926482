/**
 * The type registry: which group-versions and resources the server serves, and the discovery
 * documents that describe them (kube.md B7 §2). Built-in types are fixed; types served from
 * CustomResourceDefinitions come and go as the CRD controller establishes or removes them.
 */
import { apiVersionOf, isObject, text, type GenerationRule, type JsonObject, type KubeObject, type TypeInfo } from './types.js';

const ITEM_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];

interface BuiltinRow {
  gv: string;
  kind: string;
  plural: string;
  /** Cluster-scoped when false. */
  namespaced: boolean;
  status: boolean;
  generation: GenerationRule;
  shortNames?: string[];
  all?: boolean;
}

function row(
  gv: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  status: boolean,
  generation: GenerationRule,
  shortNames?: string[],
  all?: boolean,
): BuiltinRow {
  const r: BuiltinRow = { gv, kind, plural, namespaced, status, generation };
  if (shortNames) r.shortNames = shortNames;
  if (all) r.all = all;
  return r;
}

// The built-in types of kube.md B7 §2, plus Endpoints and Lease, which manifests also carry.
// Generation rules follow the registry strategies of kube-apiserver.
const BUILTINS: readonly BuiltinRow[] = [
  row('v1', 'Namespace', 'namespaces', false, true, 'none', ['ns']),
  row('v1', 'ConfigMap', 'configmaps', true, false, 'none', ['cm']),
  row('v1', 'Secret', 'secrets', true, false, 'none'),
  row('v1', 'Service', 'services', true, true, 'none', ['svc'], true),
  row('v1', 'ServiceAccount', 'serviceaccounts', true, false, 'none', ['sa']),
  row('v1', 'Pod', 'pods', true, true, 'none', ['po'], true),
  row('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, true, 'none', ['pvc']),
  row('v1', 'PersistentVolume', 'persistentvolumes', false, true, 'none', ['pv']),
  row('v1', 'LimitRange', 'limitranges', true, false, 'none', ['limits']),
  row('v1', 'ResourceQuota', 'resourcequotas', true, true, 'none', ['quota']),
  row('v1', 'Event', 'events', true, false, 'none', ['ev']),
  row('v1', 'Endpoints', 'endpoints', true, false, 'none', ['ep']),
  row('apps/v1', 'Deployment', 'deployments', true, true, 'spec+annotations', ['deploy'], true),
  row('apps/v1', 'StatefulSet', 'statefulsets', true, true, 'spec', ['sts'], true),
  row('apps/v1', 'DaemonSet', 'daemonsets', true, true, 'spec', ['ds'], true),
  row('apps/v1', 'ReplicaSet', 'replicasets', true, true, 'spec', ['rs'], true),
  row('batch/v1', 'Job', 'jobs', true, true, 'spec', undefined, true),
  row('batch/v1', 'CronJob', 'cronjobs', true, true, 'spec', ['cj'], true),
  row('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, true, 'spec', ['pdb']),
  row('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, true, 'spec', ['hpa'], true),
  row('networking.k8s.io/v1', 'Ingress', 'ingresses', true, true, 'spec', ['ing']),
  row('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true, false, 'spec', ['netpol']),
  row('networking.k8s.io/v1', 'IngressClass', 'ingressclasses', false, false, 'none'),
  row('rbac.authorization.k8s.io/v1', 'Role', 'roles', true, false, 'none'),
  row('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true, false, 'none'),
  row('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false, false, 'none'),
  row('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false, false, 'none'),
  row('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, true, 'spec', ['crd', 'crds']),
  row('storage.k8s.io/v1', 'StorageClass', 'storageclasses', false, false, 'none', ['sc']),
  row('scheduling.k8s.io/v1', 'PriorityClass', 'priorityclasses', false, false, 'none', ['pc']),
  row('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false, false, 'none'),
  row('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false, false, 'none'),
  row('coordination.k8s.io/v1', 'Lease', 'leases', true, false, 'none'),
];

function builtinType(r: BuiltinRow): TypeInfo {
  const slash = r.gv.indexOf('/');
  const group = slash < 0 ? '' : r.gv.slice(0, slash);
  const version = slash < 0 ? r.gv : r.gv.slice(slash + 1);
  const type: TypeInfo = {
    group,
    version,
    kind: r.kind,
    plural: r.plural,
    singular: r.kind.toLowerCase(),
    namespaced: r.namespaced,
    hasStatus: r.status,
    listKind: `${r.kind}List`,
    // Namespaces have no deletecollection in a real server.
    verbs: r.plural === 'namespaces' ? ITEM_VERBS.filter((v) => v !== 'deletecollection') : ITEM_VERBS,
    generation: r.generation,
    builtin: true,
  };
  if (r.shortNames) type.shortNames = r.shortNames;
  if (r.all) type.categories = ['all'];
  return type;
}

/** An `APIResourceList` as `/api/v1` and `/apis/<group>/<version>` answer. */
export interface ApiResourceList {
  kind: 'APIResourceList';
  apiVersion?: string;
  groupVersion: string;
  resources: JsonObject[];
}

/** The registry of served types, one per server instance. */
export interface Registry {
  /** The type served at `group/version/plural`, if any. */
  find(group: string, version: string, plural: string): TypeInfo | undefined;
  /** The type of `kind` in `apiVersion`, if served. */
  findKind(apiVersion: string, kind: string): TypeInfo | undefined;
  /** A type by kind alone, preferring built-ins (for test hooks that name only a kind). */
  findKindAnyVersion(kind: string, group?: string): TypeInfo | undefined;
  /** All versions served for `group/plural` (custom resources may have several). */
  versionsOf(group: string, plural: string): TypeInfo[];
  /** Whether any type is served under `group/version`. */
  servesGroupVersion(group: string, version: string): boolean;
  /** Discovery document for one group-version, or undefined when it is not served. */
  resourceList(group: string, version: string): ApiResourceList | undefined;
  /** `GET /apis`: the APIGroupList. */
  groupList(): JsonObject;
  /** `GET /apis/<group>`: the APIGroup, or undefined when not served. */
  group(name: string): JsonObject | undefined;
  /** Serves the types a CRD defines (replacing what it served before). */
  registerCrd(crd: KubeObject): TypeInfo[];
  /** Stops serving the types of a CRD. */
  unregisterCrd(crdName: string): void;
  /** Every type currently served. */
  all(): TypeInfo[];
  /** Back to the built-ins only. */
  reset(): void;
}

/** Builds a registry holding the built-in types. */
export function createRegistry(): Registry {
  const builtins = BUILTINS.map(builtinType);
  let types: TypeInfo[] = [];
  // `group/version/plural` → type; rebuilt on every CRD change (rare) so lookups stay O(1).
  let index = new Map<string, TypeInfo>();
  const listCache = new Map<string, ApiResourceList>();

  function rebuild(): void {
    index = new Map(types.map((t) => [`${t.group}/${t.version}/${t.plural}`, t]));
    listCache.clear();
  }

  function reset(): void {
    types = [...builtins];
    rebuild();
  }
  reset();

  function resourceList(group: string, version: string): ApiResourceList | undefined {
    const gv = group ? `${group}/${version}` : version;
    const cached = listCache.get(gv);
    if (cached) return cached;
    const served = types.filter((t) => t.group === group && t.version === version);
    if (served.length === 0) return undefined;
    const resources: JsonObject[] = [];
    for (const t of served) {
      const main: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
      if (t.shortNames) main.shortNames = t.shortNames;
      if (t.categories) main.categories = t.categories;
      resources.push(main);
      if (t.hasStatus) {
        resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: SUB_VERBS });
      }
    }
    // Sorted by name so every main resource precedes its subresources: client-node takes the
    // first entry whose kind matches, and `deployments/status` also says kind Deployment.
    resources.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const list: ApiResourceList = group
      ? { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources }
      : { kind: 'APIResourceList', groupVersion: gv, resources };
    listCache.set(gv, list);
    return list;
  }

  function groupDoc(name: string): JsonObject | undefined {
    const versions = [...new Set(types.filter((t) => t.group === name).map((t) => t.version))];
    if (versions.length === 0) return undefined;
    const entries = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions: entries, preferredVersion: entries[0] };
  }

  function registerCrd(crd: KubeObject): TypeInfo[] {
    const name = crd.metadata?.name ?? '';
    types = types.filter((t) => t.crd !== name);
    const spec = isObject(crd.spec) ? crd.spec : {};
    const names = isObject(spec.names) ? spec.names : {};
    const group = text(spec.group ?? '');
    const kind = text(names.kind ?? '');
    const plural = text(names.plural ?? '');
    const added: TypeInfo[] = [];
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    for (const v of versions) {
      if (!isObject(v) || v.served === false) continue;
      const subresources = isObject(v.subresources) ? v.subresources : {};
      const schema = isObject(v.schema) && isObject(v.schema.openAPIV3Schema) ? v.schema.openAPIV3Schema : undefined;
      const type: TypeInfo = {
        group,
        version: String(v.name),
        kind,
        plural,
        singular: text(names.singular ?? kind.toLowerCase()),
        namespaced: spec.scope !== 'Cluster',
        hasStatus: subresources.status !== undefined,
        listKind: text(names.listKind ?? `${kind}List`),
        verbs: ITEM_VERBS,
        generation: 'non-meta',
        builtin: false,
        crd: name,
      };
      if (Array.isArray(names.shortNames)) type.shortNames = names.shortNames.map(String);
      if (Array.isArray(names.categories)) type.categories = names.categories.map(String);
      if (schema) type.schema = schema;
      added.push(type);
    }
    types.push(...added);
    rebuild();
    return added;
  }

  return {
    find: (group, version, plural) => index.get(`${group}/${version}/${plural}`),
    findKind(apiVersion, kind) {
      return types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
    },
    findKindAnyVersion(kind, group) {
      return types.find((t) => t.kind === kind && (group === undefined || t.group === group));
    },
    versionsOf: (group, plural) => types.filter((t) => t.group === group && t.plural === plural),
    servesGroupVersion: (group, version) => types.some((t) => t.group === group && t.version === version),
    resourceList,
    groupList() {
      const groups = [...new Set(types.filter((t) => t.group !== '').map((t) => t.group))];
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => groupDoc(g)) };
    },
    group(name) {
      const doc = groupDoc(name);
      return doc ? { kind: 'APIGroup', apiVersion: 'v1', ...doc } : undefined;
    },
    registerCrd,
    unregisterCrd(crdName) {
      types = types.filter((t) => t.crd !== crdName);
      rebuild();
    },
    all: () => types,
    reset,
  };
}
