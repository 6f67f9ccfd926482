import type { KubeObject } from '../kube/refs.js';
import { groupOf } from '../kube/refs.js';
import type { HealthStatus } from '../model/changes.js';
import { isRecord } from '../unknown.js';

/** An object's health, with the reason in words. */
export interface Health {
  status: HealthStatus;
  reason: string;
  message: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type Obj = KubeObject & { status?: Record<string, unknown>; spec?: Record<string, unknown> };

function conditions(obj: Obj): Condition[] {
  const list: unknown = obj.status?.conditions;
  if (!Array.isArray(list)) return [];
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return list.filter(isRecord).map((c) => ({ type: text(c.type), status: text(c.status), reason: text(c.reason), message: text(c.message) }));
}

function condition(obj: Obj, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' ? value : fallback;
}

const current = (message = 'Resource is current'): Health => ({ status: 'Current', reason: 'Current', message });
const progress = (reason: string, message: string): Health => ({ status: 'InProgress', reason, message });
const failed = (reason: string, message: string): Health => ({ status: 'Failed', reason, message });

/**
 * Computes an object's health with the rules of kstatus (sigs.k8s.io/cli-utils), the library
 * Flux and kubectl use: generation observed, Reconciling/Stalled conditions, then per-kind rules,
 * then a generic Ready condition, else Current.
 */
export function computeHealth(input: KubeObject): Health {
  // Cast: health reads status and spec of any object optionally (Obj only adds those two open records).
  const obj = input as Obj;
  if (obj.metadata.deletionTimestamp) return { status: 'Terminating', reason: 'Terminating', message: 'Resource is being deleted' };
  const generation = obj.metadata.generation;
  const observed = obj.status?.observedGeneration;
  if (typeof generation === 'number' && typeof observed === 'number' && observed !== generation) {
    return progress('LatestGenerationNotObserved', `${obj.kind} generation is ${generation}, but latest observed generation is ${observed}`);
  }
  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') return progress(reconciling.reason ?? 'Reconciling', reconciling.message ?? 'Reconciling');
  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') return failed(stalled.reason ?? 'Stalled', stalled.message ?? 'Stalled');

  const group = groupOf(obj.apiVersion);
  const key = group ? `${group}/${obj.kind}` : obj.kind;
  switch (key) {
    case 'apps/Deployment':
      return deployment(obj);
    case 'apps/StatefulSet':
      return statefulSet(obj);
    case 'apps/DaemonSet':
      return daemonSet(obj);
    case 'apps/ReplicaSet':
      return replicaSet(obj);
    case 'batch/Job':
      return job(obj);
    case 'Pod':
      return pod(obj);
    case 'PersistentVolumeClaim':
      return obj.status?.phase === 'Bound' ? current('PVC is Bound') : progress('NotBound', 'PVC is not Bound');
    case 'Service':
      return obj.spec?.type === 'LoadBalancer' && !obj.spec?.clusterIP ? progress('NoIPAssigned', 'ClusterIP not set') : current('Service is ready');
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crd(obj);
    case 'Secret':
    case 'ConfigMap':
    case 'batch/CronJob':
    case 'policy/PodDisruptionBudget':
      return current();
  }
  const ready = condition(obj, 'Ready');
  if (ready) {
    return ready.status === 'True' ? current(ready.message ?? 'Ready') : progress(ready.reason ?? 'NotReady', ready.message ?? 'Ready condition is not True');
  }
  return current();
}

function deployment(obj: Obj): Health {
  const progressing = condition(obj, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return failed('ProgressDeadlineExceeded', progressing.message ?? 'Progress deadline exceeded');
  }
  const spec = num(obj.spec?.replicas, 1);
  const status = obj.status ?? {};
  const replicas = num(status.replicas);
  const updated = num(status.updatedReplicas);
  const ready = num(status.readyReplicas);
  const available = num(status.availableReplicas);
  if (spec > replicas) return progress('LessReplicas', `Replicas: ${replicas}/${spec}`);
  if (spec > updated) return progress('LessUpdated', `Updated: ${updated}/${spec}`);
  if (replicas > spec) return progress('ExtraPods', `Pending termination: ${replicas - spec}`);
  if (updated > available) return progress('LessAvailable', `Available: ${available}/${updated}`);
  if (spec > ready) return progress('LessReady', `Ready: ${ready}/${spec}`);
  if (obj.spec?.progressDeadlineSeconds !== undefined && !(progressing?.status === 'True' && progressing.reason === 'NewReplicaSetAvailable')) {
    return progress('ReplicaSetNotAvailable', 'Rollout in progress');
  }
  if (condition(obj, 'Available')?.status !== 'True') return progress('DeploymentNotAvailable', 'Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
}

function statefulSet(obj: Obj): Health {
  // Cast: optional fields of a StatefulSet or DaemonSet spec, each read with ?. and compared to literals.
  const strategy = obj.spec?.updateStrategy as { type?: string; rollingUpdate?: { partition?: number } } | undefined;
  if (strategy?.type === 'OnDelete') return current('StatefulSet is using the OnDelete strategy');
  const spec = num(obj.spec?.replicas, 1);
  const status = obj.status ?? {};
  const replicas = num(status.replicas);
  if (spec > replicas) return progress('LessReplicas', `Replicas: ${replicas}/${spec}`);
  if (spec > num(status.readyReplicas)) return progress('LessReady', `Ready: ${num(status.readyReplicas)}/${spec}`);
  if (replicas > spec) return progress('ExtraPods', `Pending termination: ${replicas - spec}`);
  // The API server defaults a RollingUpdate's partition to 0, so this branch is the usual one: as
  // in kstatus, a rolling update is done once enough replicas are updated. `currentRevision` is
  // not read then: the controller moves it only after the whole set is updated and Ready, a
  // moment later, and waiting on it stalls syncs that are finished.
  const partition = strategy?.rollingUpdate?.partition;
  if (typeof partition === 'number') {
    const expected = spec - partition;
    const updated = num(status.updatedReplicas);
    return updated < expected ? progress('PartitionRollout', `updated: ${updated}/${expected}`) : current(`Partition rollout complete. updated: ${updated}`);
  }
  if (spec > num(status.currentReplicas)) return progress('LessCurrent', `current: ${num(status.currentReplicas)}/${spec}`);
  if (status.currentRevision !== status.updateRevision) return progress('RevisionMismatch', 'Waiting for updated revision to match current');
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
}

function daemonSet(obj: Obj): Health {
  const status = obj.status ?? {};
  if (typeof obj.metadata.generation !== 'number' || typeof status.observedGeneration !== 'number')
    return progress('NoObservedGeneration', 'Missing observedGeneration');
  if (typeof status.desiredNumberScheduled !== 'number') return progress('NoDesiredNumber', 'Missing .status.desiredNumberScheduled');
  const desired = status.desiredNumberScheduled;
  if (desired > num(status.currentNumberScheduled)) return progress('LessCurrent', `Current: ${num(status.currentNumberScheduled)}/${desired}`);
  if (desired > num(status.updatedNumberScheduled)) return progress('LessUpdated', `Updated: ${num(status.updatedNumberScheduled)}/${desired}`);
  if (desired > num(status.numberAvailable)) return progress('LessAvailable', `Available: ${num(status.numberAvailable)}/${desired}`);
  if (desired > num(status.numberReady)) return progress('LessReady', `Ready: ${num(status.numberReady)}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}

function replicaSet(obj: Obj): Health {
  if (condition(obj, 'ReplicaFailure')?.status === 'True') return progress('ReplicaFailure', 'Replica Failure condition. Check Pods');
  const spec = num(obj.spec?.replicas, 1);
  const status = obj.status ?? {};
  if (spec > num(status.fullyLabeledReplicas)) return progress('LessLabelled', `Labelled: ${num(status.fullyLabeledReplicas)}/${spec}`);
  if (spec > num(status.availableReplicas)) return progress('LessAvailable', `Available: ${num(status.availableReplicas)}/${spec}`);
  if (spec > num(status.readyReplicas)) return progress('LessReady', `Ready: ${num(status.readyReplicas)}/${spec}`);
  if (num(status.replicas) > spec) return progress('ExtraPods', 'Pending termination');
  return current(`ReplicaSet is available. Replicas: ${num(status.replicas)}`);
}

function job(obj: Obj): Health {
  for (const c of conditions(obj)) {
    if (c.type === 'Complete' && c.status === 'True') return current('Job Completed');
    if (c.type === 'Failed' && c.status === 'True') return failed(c.reason ?? 'JobFailed', c.message ?? 'Job Failed');
    if (c.type === 'Suspended' && c.status === 'True' && obj.spec?.suspend === true) return current('Job is suspended');
  }
  if (!obj.status?.startTime) return progress('JobNotStarted', 'Job not started');
  return current('Job in progress');
}

function pod(obj: Obj): Health {
  const phase = obj.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return current(`Pod ${phase}`);
  if (phase === 'Running') {
    if (condition(obj, 'Ready')?.status === 'True') return current('Pod is Ready');
    // Cast: kstatus reads these optional fields one by one; a missing or odd entry reads as no reason.
    const statuses = Array.isArray(obj.status?.containerStatuses) ? (obj.status.containerStatuses as { state?: { waiting?: { reason?: string } } }[]) : [];
    if (statuses.some((s) => s.state?.waiting?.reason === 'CrashLoopBackOff')) return failed('ContainerCrashLooping', 'Containers are in CrashLoopBackOff');
    return progress('PodRunningNotReady', 'Pod is running but is not Ready');
  }
  if (phase === 'Pending') {
    const scheduled = condition(obj, 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      const stamp = obj.metadata.creationTimestamp;
      const created = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
      if (Number.isFinite(created) && Date.now() - created > 15_000) return failed('PodUnschedulable', scheduled.message ?? 'Pod could not be scheduled');
    }
    return progress('PodPending', 'Pod is pending');
  }
  return progress('PodNotStarted', 'Pod phase not available');
}

function crd(obj: Obj): Health {
  for (const c of conditions(obj)) {
    if (c.type === 'NamesAccepted' && c.status === 'False') return failed('NamesNotAccepted', c.message ?? 'CRD names not accepted');
    if (c.type === 'Established') {
      if (c.status === 'False' && c.reason !== 'Installing') return failed('NotEstablished', c.message ?? 'CRD is not established');
      if (c.status === 'True') return current('CRD is established');
    }
  }
  return progress('Installing', 'Install in progress');
}
