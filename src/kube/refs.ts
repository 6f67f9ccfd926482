/** Any Kubernetes object, kept exactly as rendered or as the server sent it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    // As the API server writes them (and validate.ts checks generateName in manifests).
    generateName?: string;
    uid?: string;
    creationTimestamp?: string;
    ownerReferences?: { uid?: string; kind?: string; name?: string; controller?: boolean }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What names an object: its group, kind, namespace and name (version aside). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The API group of an apiVersion: `apps/v1` → `apps`, `v1` → `` (core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The version part of an apiVersion. */
export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
}

/** An object's identity as Flux and cli-utils write it: `namespace_name_group_Kind`. */
export function objectId(ref: ObjectRef): string {
  // ':' appears in RBAC names (system:controller) and is transcoded as cli-utils does.
  return `${ref.namespace ?? ''}_${ref.name.replaceAll(':', '__')}_${groupOf(ref.apiVersion)}_${ref.kind}`;
}

/** How people read an object's name: `Deployment/prod/web`, `ClusterRole/view`. */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** The ref of an object. */
export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

/** `Kind.group` as the API and ApplySets write group-kinds; core kinds bare. */
export function groupKind(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion);
  return group ? `${kind}.${group}` : kind;
}
