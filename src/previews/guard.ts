import { groupOf, objectId, refOf, type KubeObject } from '../kube/refs.js';
import { NETWORK_POLICY_NAME, PREVIEW_SERVICE_ACCOUNT } from './scaffold.js';

/**
 * What the guard reads of an object: the fields of the sync engine's `DesiredObject`
 * (src/sync/validate.ts), which it accepts as is; declared here so previews/ does not import the
 * engine that calls it.
 */
export interface GuardedObject {
  obj: KubeObject;
  /** Where it came from: `deploy/web.yaml#2`. */
  source: string;
  /** `namespace_name_group_Kind`, as validation computed it. */
  id: string;
  /** Whether the kind is namespaced, from discovery. */
  namespaced: boolean;
}

/** What a preview may apply, and why the rest may not. */
export interface PreviewCheck<T extends GuardedObject> {
  /** The objects to apply, every one in the preview namespace (copies where it was moved there). */
  objects: T[];
  /** Why the preview cannot be applied, one line per problem, each naming the object and its file; empty when it can. */
  problems: string[];
  /** Objects left out because the preview's scaffold stands in for them, with why. */
  skipped: string[];
  /**
   * What will go wrong after applying, though it is not refused here: pod templates that Pod
   * Security `restricted` will keep from running, strings that point at the app's own namespace.
   */
  warnings: string[];
}

/** RBAC kinds: a preview cannot grant permissions (its identity, bound to `edit`, has none to grant). */
const RBAC_KINDS = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

/** Core kinds the scaffold creates itself, from `previews.quota` and `previews.limits`. */
const REPLACED_BY_SCAFFOLD: Record<string, string> = {
  ResourceQuota: 'previews.quota',
  LimitRange: 'previews.limits',
};

/** The objects of the scaffold (src/previews/scaffold.ts) a preview's manifests might name, by `group/Kind`. */
const SCAFFOLD_OBJECTS: Record<string, string[]> = {
  'networking.k8s.io/NetworkPolicy': [NETWORK_POLICY_NAME],
  '/ServiceAccount': [PREVIEW_SERVICE_ACCOUNT],
};

/** The only capability Pod Security `restricted` lets a container add. */
const ALLOWED_CAPABILITY = 'NET_BIND_SERVICE';

/** Where each workload kind keeps its pod spec; the key is `group/Kind`. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  '/Pod': ['spec'],
  '/PodTemplate': ['template', 'spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mapsIn(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isMap) : [];
}

/** `Kind name (source)`, how a problem names its object. */
function who(object: GuardedObject): string {
  const meta = object.obj.metadata;
  const name = typeof meta.name === 'string' && meta.name ? meta.name : `${typeof meta.generateName === 'string' ? meta.generateName : ''}*`;
  return `${object.obj.kind} ${name} (${object.source})`;
}

/** The pod spec of a workload, with the path to it, or undefined for other kinds. */
function podSpecOf(obj: KubeObject): { path: string; spec: Record<string, unknown> } | undefined {
  const path = POD_SPEC_PATHS[`${groupOf(obj.apiVersion)}/${obj.kind}`];
  if (!path) return undefined;
  let node: unknown = obj;
  for (const key of path) node = isMap(node) ? node[key] : undefined;
  return isMap(node) ? { path: path.join('.'), spec: node } : undefined;
}

/**
 * What Pod Security `restricted` refuses outright and what it sees on the host: privileged
 * containers, the host's network, PID and IPC namespaces, hostPath volumes, host ports, and added
 * capabilities other than NET_BIND_SERVICE. One line each, with the field to change.
 */
function podProblems(path: string, spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) problems.push(`${path}.${field} is true: previews may not share the node's namespaces; remove it`);
  }
  for (const volume of mapsIn(spec.volumes)) {
    if (volume.hostPath !== undefined) {
      problems.push(
        `${path}.volumes[${String(volume.name)}] is a hostPath volume: previews may not mount the node's files; use an emptyDir or a PersistentVolumeClaim`,
      );
    }
  }
  for (const list of CONTAINER_LISTS) {
    for (const container of mapsIn(spec[list])) {
      const at = `${path}.${list}[${String(container.name)}]`;
      const context = isMap(container.securityContext) ? container.securityContext : {};
      if (context.privileged === true) problems.push(`${at}.securityContext.privileged is true: previews may not run privileged containers; remove it`);
      const added = isMap(context.capabilities) && Array.isArray(context.capabilities.add) ? context.capabilities.add : [];
      const extra = added.filter((c) => c !== ALLOWED_CAPABILITY).map(String);
      if (extra.length > 0) {
        problems.push(`${at}.securityContext.capabilities.add has ${extra.join(', ')}: previews may add ${ALLOWED_CAPABILITY} only; remove the others`);
      }
      for (const port of mapsIn(container.ports)) {
        if (typeof port.hostPort === 'number' && port.hostPort !== 0) {
          problems.push(`${at}.ports hostPort ${port.hostPort}: previews may not take ports of the node; remove hostPort and reach the pod through a Service`);
        }
      }
    }
  }
  return problems;
}

/**
 * What else Pod Security `restricted` requires of every pod (runAsNonRoot, no privilege
 * escalation, all capabilities dropped, a RuntimeDefault or Localhost seccomp profile): without
 * it, the API server refuses a Pod, and lets a Deployment, Job or other workload through with a
 * warning while its controller can create no pod. Reported as warnings, not refused: the API
 * server is the judge of these, and a cluster may exempt some pods.
 */
function restrictedGaps(path: string, spec: Record<string, unknown>): string[] {
  const pod = isMap(spec.securityContext) ? spec.securityContext : {};
  const podSeccomp = isMap(pod.seccompProfile) ? pod.seccompProfile.type : undefined;
  const gaps = new Set<string>();
  for (const list of CONTAINER_LISTS) {
    for (const container of mapsIn(spec[list])) {
      const context = isMap(container.securityContext) ? container.securityContext : {};
      if ((context.runAsNonRoot ?? pod.runAsNonRoot) !== true) gaps.add('runAsNonRoot: true');
      if (context.allowPrivilegeEscalation !== false) gaps.add('allowPrivilegeEscalation: false');
      const drop = isMap(context.capabilities) && Array.isArray(context.capabilities.drop) ? context.capabilities.drop : [];
      if (!drop.includes('ALL')) gaps.add('capabilities.drop: [ALL]');
      const seccomp = isMap(context.seccompProfile) ? context.seccompProfile.type : podSeccomp;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') gaps.add('seccompProfile.type: RuntimeDefault');
    }
  }
  return gaps.size === 0
    ? []
    : [`${path}: Pod Security "restricted" will not let its pods run without ${[...gaps].join(', ')} (in each container's securityContext)`];
}

/** Each string of `value` (deeply), for the look for references to the app's own namespace. */
function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const item of value) yield* strings(item);
  else if (isMap(value)) for (const item of Object.values(value)) yield* strings(item);
}

/**
 * Checks what the preview of an app may apply in its `namespace` and places every object there,
 * collecting every problem rather than stopping at the first (as validation does). Takes the
 * objects validation returned for the app (`appNamespace` being the app's own namespace, filled in
 * where a manifest names none).
 *
 * Refused: cluster-scoped objects (a preview owns one namespace, and what is cluster-wide is
 * shared with the app and every other preview); Namespaces other than the app's own; RBAC
 * objects (the preview's identity, bound to `edit`, may not grant permissions, and the API server
 * would refuse it); objects in a third namespace; DaemonSets (a preview is one copy of an app, not
 * a pod on every node of a shared cluster, and node agents need the host access refused next);
 * and pod templates (Pod, Deployment, StatefulSet, ReplicaSet, ReplicationController, Job,
 * CronJob, PodTemplate) that are privileged, use the host's network, PID or IPC namespace,
 * hostPath volumes or host ports, or add capabilities other than NET_BIND_SERVICE, so the reason
 * is plain before the API server's Pod Security admission gives its own.
 *
 * Moved silently: namespaced objects in the app's own namespace (or naming none) are copied into
 * `namespace`, their `id` recomputed. Skipped, with a note: the app's own Namespace object, and
 * its ResourceQuotas and LimitRanges, which the scaffold's stand in for.
 *
 * Pure: the input objects are never modified.
 */
export function checkPreviewObjects<T extends GuardedObject>(objects: readonly T[], namespace: string, appNamespace: string): PreviewCheck<T> {
  const result: PreviewCheck<T> = { objects: [], problems: [], skipped: [], warnings: [] };
  // Namespace names are DNS labels: nothing in one needs escaping in a pattern.
  const svcReference = new RegExp(`[a-z0-9-]+\\.${appNamespace}\\.svc(?![a-z0-9-])(?:\\.[a-z0-9-]+)*`);
  for (const object of objects) {
    const { obj } = object;
    const group = groupOf(obj.apiVersion);
    const name = obj.metadata.name;
    if (group === '' && obj.kind === 'Namespace') {
      if (name === appNamespace || name === namespace) {
        result.skipped.push(`${who(object)}: the preview runs in its own namespace "${namespace}", which Landfall creates`);
      } else {
        result.problems.push(
          `${who(object)}: previews do not create namespaces; the preview runs in "${namespace}" alone. Leave it out of the app's manifests`,
        );
      }
      continue;
    }
    if (!object.namespaced) {
      result.problems.push(
        `${who(object)}: previews apply namespaced objects only; a cluster-scoped object is shared with the app and every other preview. Keep it out of the path the app renders (deploy it with an app of its own)`,
      );
      continue;
    }
    if (group === 'rbac.authorization.k8s.io' && RBAC_KINDS.has(obj.kind)) {
      result.problems.push(
        `${who(object)}: previews may not grant permissions (the preview's identity, bound to the ClusterRole edit in its namespace, can write no RBAC objects). Leave it out of the app's manifests, or give the preview's pods what they need another way`,
      );
      continue;
    }
    const replacedBy = group === '' ? REPLACED_BY_SCAFFOLD[obj.kind] : undefined;
    if (replacedBy) {
      result.skipped.push(`${who(object)}: the preview namespace has its own ${obj.kind}, from ${replacedBy}`);
      continue;
    }
    const problemsBefore = result.problems.length;
    const current = obj.metadata.namespace;
    if (current && current !== appNamespace && current !== namespace) {
      result.problems.push(
        `${who(object)}: names namespace "${current}"; a preview writes only its own namespace "${namespace}". Remove metadata.namespace, or set it to the app's namespace "${appNamespace}" (moved into the preview's)`,
      );
    }
    if (group === 'apps' && obj.kind === 'DaemonSet') {
      result.problems.push(
        `${who(object)}: previews do not run DaemonSets (one pod on every node of a shared cluster is not a preview of an app, and node agents need host access previews refuse). Leave it out of the app's manifests`,
      );
    }
    const scaffold = SCAFFOLD_OBJECTS[`${group}/${obj.kind}`];
    if (scaffold?.includes(name ?? '')) {
      result.problems.push(
        `${who(object)}: has the name of an object Landfall puts in every preview namespace (its ${obj.kind}); a preview may not replace it. Rename it`,
      );
    }
    if (group === '' && obj.kind === 'Service' && isMap(obj.spec) && (obj.spec.type === 'LoadBalancer' || obj.spec.type === 'NodePort')) {
      result.problems.push(
        `${who(object)}: a Service of type ${String(obj.spec.type)} opens the preview outside the cluster, past its NetworkPolicy; previews are reached through the ingress controller (use type ClusterIP and an Ingress)`,
      );
    }
    const pod = podSpecOf(obj);
    if (pod) {
      if (pod.spec.serviceAccountName === PREVIEW_SERVICE_ACCOUNT || pod.spec.serviceAccount === PREVIEW_SERVICE_ACCOUNT) {
        result.problems.push(
          `${who(object)}: runs as the ServiceAccount ${PREVIEW_SERVICE_ACCOUNT}, the identity Landfall writes the preview with; give the pods a ServiceAccount of their own`,
        );
      }
      for (const problem of podProblems(pod.path, pod.spec)) result.problems.push(`${who(object)}: ${problem}`);
      for (const warning of restrictedGaps(pod.path, pod.spec)) result.warnings.push(`${who(object)}: ${warning}`);
    }
    // Secrets are left alone: their data is base64, and naming its contents would leak them.
    if (!(group === '' && obj.kind === 'Secret')) {
      const reference = [...strings(obj)].map((s) => svcReference.exec(s)?.[0]).find((host) => host !== undefined);
      if (reference !== undefined) {
        result.warnings.push(
          `${who(object)}: refers to "${reference}", a Service in the app's own namespace "${appNamespace}", not the preview's; map it in previews.values (".${appNamespace}.svc": ".{namespace}.svc")`,
        );
      }
    }
    if (result.problems.length > problemsBefore) continue;
    if (current === namespace) {
      result.objects.push(object);
      continue;
    }
    const moved: KubeObject = { ...obj, metadata: { ...obj.metadata, namespace } };
    const generated = typeof moved.metadata.name !== 'string' || !moved.metadata.name;
    const ref = refOf(generated ? { ...moved, metadata: { ...moved.metadata, name: `${String(moved.metadata.generateName)}*` } } : moved);
    result.objects.push({ ...object, obj: moved, id: objectId(ref) });
  }
  return result;
}
