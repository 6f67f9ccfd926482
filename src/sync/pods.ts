import type { KubeClient } from '../kube/client.js';
import { groupOf, type KubeObject } from '../kube/refs.js';
import { isRecord } from '../unknown.js';

/** A pod of a workload that will not get better by waiting, and why. */
export interface PodProblem {
  pod: string;
  /** `CrashLoopBackOff`, `ImagePullBackOff`, `Unschedulable`, ... */
  reason: string;
  /** The container and what the kubelet or scheduler said. */
  detail: string;
}

/**
 * Container states a rollout does not recover from without a new commit: a crash loop, an image
 * that cannot be pulled or named, a container that cannot even be created (a missing ConfigMap
 * key or Secret).
 */
const TERMINAL_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

interface ContainerStatus {
  name?: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string } };
}

interface PodShape {
  metadata: KubeObject['metadata'];
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A LabelSelector in the `labelSelector` query syntax. */
export function selectorString(selector: LabelSelector | undefined): string | undefined {
  if (!selector) return undefined;
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** What is wrong with one pod for good, or undefined. */
export function podProblem(pod: PodShape): PodProblem | undefined {
  const name = pod.metadata.name;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { pod: name, reason: 'Unschedulable', detail: scheduled.message ?? 'no node can run it' };
  }
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason || !TERMINAL_WAITING.has(waiting.reason)) continue;
    const exit = status.lastState?.terminated?.exitCode;
    const last = exit !== undefined ? `, last exit code ${exit}${status.restartCount ? ` after ${status.restartCount} restarts` : ''}` : '';
    return { pod: name, reason: waiting.reason, detail: `container ${status.name ?? '?'}${last}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  return undefined;
}

/**
 * The first pod of a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) in a state it
 * will not leave by itself. A Deployment's and a StatefulSet's pods are narrowed to the revision
 * being rolled out, so an old pod's trouble is not blamed on the new one. A Job's failed pods are
 * its own business (it retries them up to its backoffLimit and says when it gives up).
 */
export async function workloadPodProblem(client: KubeClient, workload: KubeObject): Promise<PodProblem | undefined> {
  const group = groupOf(workload.apiVersion);
  const kind = `${group}/${workload.kind}`;
  if (!['apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job'].includes(kind)) return undefined;
  const namespace = workload.metadata.namespace;
  // The selector's shape is the workload kind's schema, which the API server enforced when it stored it.
  const spec = workload.spec as { selector?: LabelSelector } | undefined;
  let selector = selectorString(spec?.selector);
  if (!namespace || !selector) return undefined;
  if (kind === 'apps/Deployment') {
    const hash = await newestTemplateHash(client, workload, selector);
    if (hash) selector += `,pod-template-hash=${hash}`;
  } else if (kind === 'apps/StatefulSet') {
    const revision = isRecord(workload.status) ? workload.status.updateRevision : undefined;
    if (typeof revision === 'string' && revision) selector += `,controller-revision-hash=${revision}`;
  }
  // Cast: a Pod list from the API server; PodShape's fields are all optional and read with ?..
  const pods = (await client.list('v1', 'Pod', { namespace, labelSelector: selector })) as PodShape[];
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const problem = podProblem(pod);
    if (problem) return problem;
  }
  return undefined;
}

/** The `pod-template-hash` of the ReplicaSet a Deployment is rolling out (its current revision). */
async function newestTemplateHash(client: KubeClient, deployment: KubeObject, selector: string): Promise<string | undefined> {
  const revision = deployment.metadata.annotations?.['deployment.kubernetes.io/revision'];
  if (!revision) return undefined;
  const sets = await client.list('apps/v1', 'ReplicaSet', {
    ...(deployment.metadata.namespace ? { namespace: deployment.metadata.namespace } : {}),
    labelSelector: selector,
  });
  const owned = sets.filter((rs) => {
    const owners = rs.metadata.ownerReferences;
    return Array.isArray(owners) && owners.some((o) => isRecord(o) && o.uid === deployment.metadata.uid);
  });
  const current = owned.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision);
  return current?.metadata.labels?.['pod-template-hash'];
}
