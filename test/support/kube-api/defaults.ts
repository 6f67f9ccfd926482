/**
 * Server defaulting (kube.md B7 §8). Drift detection compares a dry-run result with the live
 * object, and both carry these defaults, so a comparison that forgets them passes here only if
 * it would pass on a real cluster. The list is deliberately limited to what real objects of
 * these kinds show in `kubectl get -o yaml`; README lists what is not defaulted.
 */
import { isObject, type JsonObject, type KubeObject, type TypeInfo } from './types.js';

/** What defaulting needs besides the object. */
export interface DefaultingContext {
  /** True when the write creates the object. */
  created: boolean;
  /** The stored object before this write (updates only). */
  old?: KubeObject;
  /** A fresh ClusterIP from the service range. */
  allocateClusterIP(): string;
  /** A fresh node port from 30000–32767. */
  allocateNodePort(): number;
}

function child(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function setDefault(target: JsonObject, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}

function list(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (digests included). */
export function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return lastPart.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  if (isObject(probe.httpGet)) setDefault(probe.httpGet, 'scheme', 'HTTP');
}

function defaultContainer(c: JsonObject): void {
  setDefault(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  for (const port of list(c.ports)) setDefault(port, 'protocol', 'TCP');
  for (const env of list(c.env)) {
    if (isObject(env.valueFrom) && isObject(env.valueFrom.fieldRef)) setDefault(env.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

/** Defaults of a PodSpec, inside a pod or a workload's template. */
export function defaultPodSpec(spec: JsonObject, forJob: boolean): void {
  // Jobs must state Never or OnFailure themselves; validation refuses anything else.
  if (!forJob) setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  for (const c of list(spec.containers)) defaultContainer(c);
  for (const c of list(spec.initContainers)) defaultContainer(c);
  for (const v of list(spec.volumes)) {
    for (const source of ['configMap', 'secret', 'projected']) {
      const s = v[source];
      if (isObject(s)) setDefault(s, 'defaultMode', 420);
    }
  }
}

function defaultTemplate(spec: JsonObject, forJob: boolean): void {
  if (!isObject(spec.template)) return;
  defaultPodSpec(child(spec.template, 'spec'), forJob);
}

function defaultDeployment(spec: JsonObject): void {
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  const strategy = child(spec, 'strategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = child(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxSurge', '25%');
    setDefault(rolling, 'maxUnavailable', '25%');
  }
  defaultTemplate(spec, false);
}

function defaultStatefulSet(spec: JsonObject): void {
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  setDefault(spec, 'revisionHistoryLimit', 10);
  const strategy = child(spec, 'updateStrategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') setDefault(child(strategy, 'rollingUpdate'), 'partition', 0);
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
  setDefault(retention, 'whenDeleted', 'Retain');
  setDefault(retention, 'whenScaled', 'Retain');
  for (const claim of list(spec.volumeClaimTemplates)) {
    setDefault(claim, 'apiVersion', 'v1');
    setDefault(claim, 'kind', 'PersistentVolumeClaim');
    setDefault(child(claim, 'spec'), 'volumeMode', 'Filesystem');
    setDefault(claim, 'status', { phase: 'Pending' });
  }
  defaultTemplate(spec, false);
}

function defaultDaemonSet(spec: JsonObject): void {
  setDefault(spec, 'revisionHistoryLimit', 10);
  const strategy = child(spec, 'updateStrategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = child(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxSurge', 0);
    setDefault(rolling, 'maxUnavailable', 1);
  }
  defaultTemplate(spec, false);
}

function defaultJobSpec(spec: JsonObject, obj: KubeObject, ctx: DefaultingContext, generateSelector: boolean): void {
  const parallelismSet = spec.parallelism !== undefined;
  setDefault(spec, 'parallelism', 1);
  if (!parallelismSet) setDefault(spec, 'completions', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  // The Job registry generates the selector and template labels from the uid on create, so a
  // re-apply of the same manifest leaves the template alone (and template changes are refused).
  if (generateSelector && ctx.created && spec.manualSelector !== true && spec.selector === undefined) {
    const uid = obj.metadata?.uid ?? '';
    const name = obj.metadata?.name ?? '';
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    if (isObject(spec.template)) {
      const meta = child(spec.template, 'metadata');
      const labels = child(meta, 'labels');
      labels['batch.kubernetes.io/controller-uid'] = uid;
      labels['batch.kubernetes.io/job-name'] = name;
      labels['controller-uid'] = uid;
      labels['job-name'] = name;
    }
  }
  defaultTemplate(spec, true);
}

function defaultService(spec: JsonObject, ctx: DefaultingContext): void {
  setDefault(spec, 'type', 'ClusterIP');
  const type = spec.type;
  const old = ctx.old && isObject(ctx.old.spec) ? ctx.old.spec : undefined;
  if (type !== 'ExternalName') {
    // The registry keeps allocated values when a write leaves them out (patchAllocatedValues).
    if ((spec.clusterIP === undefined || spec.clusterIP === '') && old?.clusterIP) spec.clusterIP = old.clusterIP;
    if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = ctx.allocateClusterIP();
    if (
      old &&
      spec.clusterIP !== old.clusterIP &&
      Array.isArray(spec.clusterIPs) &&
      Array.isArray(old.clusterIPs) &&
      spec.clusterIPs[0] === old.clusterIPs[0]
    ) {
      // Changing only clusterIP rewrites clusterIPs to match, so validation reports clusterIPs[0].
      spec.clusterIPs = [spec.clusterIP];
    }
    setDefault(spec, 'clusterIPs', [spec.clusterIP]);
    setDefault(spec, 'ipFamilies', ['IPv4']);
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  }
  setDefault(spec, 'sessionAffinity', 'None');
  const needsNodePort = type === 'NodePort' || type === 'LoadBalancer';
  const oldPorts = list(old?.ports);
  for (const port of list(spec.ports)) {
    setDefault(port, 'protocol', 'TCP');
    if (type !== 'ExternalName') setDefault(port, 'targetPort', port.port);
    if (needsNodePort && port.nodePort === undefined) {
      const previous = oldPorts.find((p) => p.port === port.port && (p.protocol ?? 'TCP') === port.protocol);
      port.nodePort = previous?.nodePort ?? ctx.allocateNodePort();
    }
  }
  if (needsNodePort) setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
}

function defaultCronJob(spec: JsonObject): void {
  setDefault(spec, 'concurrencyPolicy', 'Allow');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'successfulJobsHistoryLimit', 3);
  setDefault(spec, 'failedJobsHistoryLimit', 1);
  // Job-level defaults land on the Jobs the CronJob creates, not on its template.
  if (isObject(spec.jobTemplate)) defaultTemplate(child(spec.jobTemplate, 'spec'), true);
}

/** The status a freshly created object of this type starts with (status-bearing types only). */
export function initialStatus(type: TypeInfo): JsonObject | undefined {
  if (!type.hasStatus) return undefined;
  if (!type.builtin) return undefined;
  switch (type.kind) {
    case 'Namespace':
      return { phase: 'Active' };
    case 'PersistentVolumeClaim':
    case 'Pod':
      return { phase: 'Pending' };
    case 'PersistentVolume':
      return { phase: 'Pending' };
    case 'Service':
    case 'Ingress':
      return { loadBalancer: {} };
    default:
      return {};
  }
}

/** Fills server defaults into an object, in place. */
export function applyDefaults(obj: KubeObject, type: TypeInfo, ctx: DefaultingContext): void {
  if (!type.builtin) return;
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  const meta = obj.metadata ?? (obj.metadata = {});
  switch (`${type.group}/${type.kind}`) {
    case '/Namespace': {
      // The API server (since 1.21) enforces this label on every namespace.
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name ?? '' };
      setDefault(child(obj, 'spec'), 'finalizers', ['kubernetes']);
      break;
    }
    case '/Secret': {
      setDefault(obj, 'type', 'Opaque');
      if (isObject(obj.stringData)) {
        const data = child(obj, 'data');
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      break;
    }
    case '/Service':
      defaultService(child(obj, 'spec'), ctx);
      break;
    case '/Pod': {
      const podSpec = child(obj, 'spec');
      defaultPodSpec(podSpec, false);
      setDefault(podSpec, 'serviceAccountName', 'default');
      setDefault(podSpec, 'serviceAccount', podSpec.serviceAccountName);
      setDefault(podSpec, 'enableServiceLinks', true);
      setDefault(podSpec, 'priority', 0);
      setDefault(podSpec, 'preemptionPolicy', 'PreemptLowerPriority');
      break;
    }
    case '/PersistentVolumeClaim':
      if (spec) setDefault(spec, 'volumeMode', 'Filesystem');
      break;
    case 'apps/Deployment':
      defaultDeployment(child(obj, 'spec'));
      break;
    case 'apps/StatefulSet':
      defaultStatefulSet(child(obj, 'spec'));
      break;
    case 'apps/DaemonSet':
      defaultDaemonSet(child(obj, 'spec'));
      break;
    case 'apps/ReplicaSet': {
      const rsSpec = child(obj, 'spec');
      setDefault(rsSpec, 'replicas', 1);
      defaultTemplate(rsSpec, false);
      break;
    }
    case 'batch/Job':
      defaultJobSpec(child(obj, 'spec'), obj, ctx, true);
      break;
    case 'batch/CronJob':
      defaultCronJob(child(obj, 'spec'));
      break;
    case 'networking.k8s.io/NetworkPolicy': {
      if (!spec) break;
      if (spec.policyTypes === undefined) spec.policyTypes = spec.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      if (spec) setDefault(spec, 'conversion', { strategy: 'None' });
      break;
    }
    default:
      break;
  }
}
