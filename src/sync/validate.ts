import type { AppConfig } from '../config/schema.js';
import type { ResourceInfo } from '../kube/client.js';
import { describeRef, groupOf, objectId, refOf, versionOf, type KubeObject } from '../kube/refs.js';
import { SyncError } from './errors.js';
import { classify, HOOK_LABEL, hookKey, type HookSpec } from './hooks.js';
import { APP_LABEL, MANAGED_BY, PART_OF } from './labels.js';
import type { RenderedObject } from './render/types.js';
import { stringDataAsData } from './takeover.js';
import { errorMessage } from '../unknown.js';

/** An object ready to apply: validated, namespaced, labelled, with its source and identity. */
export interface DesiredObject {
  obj: KubeObject;
  source: string;
  id: string;
  namespaced: boolean;
  /** Served by a CRD in this same commit, not yet known to the cluster. */
  newKind: boolean;
  /** The wave it is applied in (0 when absent); hooks have none. */
  wave?: number;
  /** Set when the object is a hook: it runs at a point of the sync instead of being applied. */
  hook?: HookSpec;
}

/** Looks up whether the cluster serves a kind, and its scope. */
export type ResourceLookup = (apiVersion: string, kind: string) => Promise<ResourceInfo | undefined>;

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** The API server (etcd) refuses objects larger than about 1.5 MiB; say so before trying. */
const MAX_OBJECT_BYTES = 1_572_864;
/** RBAC objects may carry ':' in their names (system:aggregate-to-view). */
const RBAC_NAME = /^[^/%]+$/;

/**
 * Checks every rendered object before anything is written, and collects every problem: required
 * fields, duplicates, scope from discovery (or from a CRD in the same commit), the app's
 * namespace policy and its permission for cluster-scoped objects. Fills in the app's namespace
 * where a namespaced object names none, and adds Landfall's labels.
 */
export async function validateObjects(
  rendered: RenderedObject[],
  app: AppConfig,
  lookup: ResourceLookup,
  applySetId: string,
  /** Receives the objects a sync does not apply (a Helm test hook, an Argo CD Skip), with why. */
  skipped?: string[],
): Promise<DesiredObject[]> {
  const problems: string[] = [];
  const newKinds = crdKinds(rendered);
  const seen = new Map<string, string>();
  const desired: DesiredObject[] = [];

  for (const { obj: raw, source } of rendered) {
    const where = source;
    // Cast: a rendered document: validation below checks every field it reads, so nothing is assumed.
    const obj = raw as Partial<KubeObject>;
    if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) {
      problems.push(`${where}: apiVersion is required`);
      continue;
    }
    if (typeof obj.kind !== 'string' || !obj.kind) {
      problems.push(`${where}: kind is required`);
      continue;
    }
    const meta = obj.metadata && typeof obj.metadata === 'object' ? obj.metadata : undefined;
    const role = classify(meta);
    const generateName = typeof meta?.generateName === 'string' && meta.generateName ? meta.generateName : undefined;
    const label = `${obj.kind} ${typeof meta?.name === 'string' && meta.name ? meta.name : `${generateName ?? ''}*`}`;
    if (role.role === 'invalid') {
      problems.push(`${where}: ${label}: ${role.problem}`);
      continue;
    }
    if (role.role === 'skipped') {
      skipped?.push(`${where}: ${label} is not run by a sync (${role.reason})`);
      continue;
    }
    const generated = role.role === 'hook' && !(typeof meta?.name === 'string' && meta.name) && generateName !== undefined;
    if (!meta || ((typeof meta.name !== 'string' || !meta.name) && !generated)) {
      problems.push(
        generateName
          ? `${where}: ${obj.kind} has metadata.generateName "${generateName}" but no metadata.name: Landfall applies objects with server-side apply, which needs a name. Set metadata.name, or make it a hook (landfall.dev/hook: pre-sync or post-sync, or helm.sh/hook / argocd.argoproj.io/hook), which is created anew on each sync`
          : `${where}: ${obj.kind} has no metadata.name`,
      );
      continue;
    }
    // A generated name is the prefix and a suffix the API server picks: check it with one.
    const name = generated ? `${generateName}x` : meta.name;
    const size = Buffer.byteLength(JSON.stringify(obj));
    if (size > MAX_OBJECT_BYTES) {
      problems.push(
        `${where}: ${obj.kind} ${name} is ${(size / 1_048_576).toFixed(1)} MiB; Kubernetes refuses objects over 1.5 MiB (move the data to a volume or split it)`,
      );
      continue;
    }
    const rbac = groupOf(obj.apiVersion) === 'rbac.authorization.k8s.io';
    if (name.length > 253 || !(rbac ? RBAC_NAME : NAME).test(name)) {
      problems.push(`${where}: ${obj.kind} name "${name}" is not a valid Kubernetes name`);
      continue;
    }
    for (const field of ['labels', 'annotations'] as const) {
      const map = meta[field];
      if (map !== undefined && (typeof map !== 'object' || map === null || Object.values(map).some((v) => typeof v !== 'string'))) {
        problems.push(`${where}: metadata.${field} must map strings to strings (quote numbers and booleans)`);
      }
    }

    let info: ResourceInfo | undefined;
    try {
      info = await lookup(obj.apiVersion, obj.kind);
    } catch (err) {
      throw new SyncError('DISCOVERY_FAILED', `could not ask the cluster about ${obj.kind} in ${obj.apiVersion}: ${errorMessage(err)}`, true, { cause: err });
    }
    const fromCrd = info ? undefined : newKinds.get(`${groupOf(obj.apiVersion)}/${versionOf(obj.apiVersion)}/${obj.kind}`);
    if (!info && !fromCrd) {
      problems.push(`${where}: the cluster does not serve ${obj.kind} in ${obj.apiVersion} (is its CRD installed, or the apiVersion misspelled?)`);
      continue;
    }
    const namespaced = info ? info.namespaced : fromCrd === 'Namespaced';
    // Cast: validation above proved apiVersion, kind and metadata.name present, which is what KubeObject requires.
    const copy = stringDataAsData(structuredClone(obj) as KubeObject);
    if (namespaced) {
      copy.metadata.namespace ||= app.namespace;
      if (!app.allowedNamespaces.includes(copy.metadata.namespace)) {
        problems.push(
          `${where}: ${describeRef(refOf(copy))} is in namespace "${copy.metadata.namespace}", which this app may not deploy to (allowedNamespaces: ${app.allowedNamespaces.join(', ')})`,
        );
        continue;
      }
    } else {
      // Cluster-scoped objects have no namespace; Helm charts often set one anyway, as kubectl tolerates.
      delete copy.metadata.namespace;
      const ownNamespace = copy.kind === 'Namespace' && groupOf(copy.apiVersion) === '' && app.allowedNamespaces.includes(name);
      if (!app.allowClusterScoped && !ownNamespace) {
        problems.push(
          `${where}: ${describeRef(refOf(copy))} is cluster-scoped, and this app may not change cluster-scoped objects (set allowClusterScoped: true to allow it)`,
        );
        continue;
      }
    }
    const id = objectId(refOf(generated ? { ...copy, metadata: { ...copy.metadata, name: `${generateName}*` } } : copy));
    const first = seen.get(id);
    if (first) {
      problems.push(`${where}: ${describeRef(refOf(copy))} is also defined in ${first}`);
      continue;
    }
    seen.set(id, where);
    if (role.role === 'hook') {
      // A hook is not a member of the app's ApplySet: it is not pruned, it is cleaned by its policy.
      const key = hookKey(generated ? generateName : name);
      copy.metadata.labels = { ...copy.metadata.labels, [MANAGED_BY]: 'landfall', [APP_LABEL]: app.name, [HOOK_LABEL]: key };
      const hook: HookSpec = { phase: role.phase, weight: role.weight, deletePolicies: role.deletePolicies, key, generated, source: role.source };
      desired.push({ obj: copy, source, id, namespaced, newKind: !info, hook });
      continue;
    }
    copy.metadata.labels = { ...copy.metadata.labels, [MANAGED_BY]: 'landfall', [APP_LABEL]: app.name, [PART_OF]: applySetId };
    desired.push({ obj: copy, source, id, namespaced, newKind: !info, ...(role.wave !== 0 ? { wave: role.wave } : {}) });
  }

  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    const more = problems.length > shown.length ? `\n(and ${problems.length - shown.length} more)` : '';
    throw new SyncError('MANIFEST_INVALID', `${problems.length} invalid object${problems.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`, false, {
      file: problems[0]?.split(':')[0],
    });
  }
  return desired;
}

/** Kinds defined by CRDs in the render: `group/version/Kind` → scope. */
function crdKinds(rendered: RenderedObject[]): Map<string, string> {
  const kinds = new Map<string, string>();
  for (const { obj } of rendered) {
    if (obj.kind !== 'CustomResourceDefinition' || groupOf(obj.apiVersion ?? '') !== 'apiextensions.k8s.io') continue;
    // Cast: a CustomResourceDefinition's spec, each field read optionally and checked.
    const spec = (obj as { spec?: { group?: string; scope?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] } }).spec;
    if (!spec?.group || !spec.names?.kind) continue;
    for (const version of spec.versions ?? []) {
      if (version.name && version.served !== false) kinds.set(`${spec.group}/${version.name}/${spec.names.kind}`, spec.scope ?? 'Namespaced');
    }
  }
  return kinds;
}
