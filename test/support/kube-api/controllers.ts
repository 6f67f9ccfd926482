/**
 * Simulated controllers (kube.md B7 §9): rollouts of Deployments, StatefulSets, DaemonSets and
 * ReplicaSets, Jobs, Pods, PVC binding, CRD establishment, namespace termination and garbage
 * collection. They write status the way kube-controller-manager does (operation Update through
 * `/status`, so generation never moves) with the fields and conditions kstatus reads (kube.md
 * A3), and they are deterministic: work is queued by writes and run to completion by the
 * server's scheduler; nothing depends on wall-clock time unless a test asks for a delay.
 */
import { createHash } from 'node:crypto';
import type { Engine } from './engine.js';
import type { Registry } from './registry.js';
import type { Store, StoredObject } from './store.js';
import { deepEqual, isObject, text, type JsonObject, type KubeObject, type OwnerReference } from './types.js';

/** What a rollout does: complete, stay in progress forever, or fail its progress deadline. */
export type RolloutBehaviour = 'succeed' | 'hang' | 'fail';

/** Which objects a rollout rule applies to; every given field must match. */
export interface RolloutMatch {
  kind?: string;
  namespace?: string;
  name?: string;
  /** Tested against every container image of the object's pod template. */
  image?: RegExp | string;
}

/** A rollout rule set by `setRollout`; later rules win. */
export interface RolloutRule {
  match: RolloutMatch;
  behaviour: RolloutBehaviour;
  /** Stay in progress this long (real time) before succeeding or failing. */
  delayMs: number;
}

/** What the controllers need from the server instance. */
export interface ControllerDeps {
  engine: Engine;
  store: Store;
  registry: Registry;
  now(): string;
  rules(): readonly RolloutRule[];
  crdNameConflicts(): ReadonlySet<string>;
  daemonSetNodes: number;
  namespaceDeleteDelayMs: number;
  crdEstablishDelayMs: number;
  /** Real-time delay between a CRD's Established condition and its kinds being served (discovery and paths). */
  crdServeDelayMs: number;
  /** Create `default` ServiceAccount and `kube-root-ca.crt` ConfigMap in new namespaces. */
  namespaceDefaults: boolean;
  /** Runs `fn` after `delayMs` on a timer the scheduler waits for in `settle()`. */
  after(delayMs: number, fn: () => void): void;
  /** Asks the scheduler to run queued work soon. */
  wake(): void;
}

/** The controller manager of one server instance. */
export interface Controllers {
  /** Queues a reconcile of the object at this key. */
  enqueue(record: StoredObject): void;
  /** Reacts to an object leaving storage (garbage collection, namespace and CRD cleanup). */
  removed(record: StoredObject): void;
  /** Runs queued work until none is left; returns how many reconciles ran. */
  run(): number;
  /** True when nothing is queued. */
  idle(): boolean;
  /** Errors thrown by reconciles (a bug in the server or an impossible object). */
  errors: Error[];
  /** Forgets all per-object state (rollout timers, revisions). */
  reset(): void;
}

const KCM = 'kube-controller-manager';

/** Queue key of a record. */
export function recordKey(r: { group: string; plural: string; namespace: string; name: string }): string {
  return `${r.group}/${r.plural}/${r.namespace}/${r.name}`;
}

function hashOf(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value ?? null))
    .digest('hex')
    .slice(0, 10);
}

function spec(obj: KubeObject): JsonObject {
  return isObject(obj.spec) ? obj.spec : {};
}

function status(obj: KubeObject): JsonObject {
  return isObject(obj.status) ? obj.status : {};
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function podSpecOf(obj: KubeObject, kind: string): JsonObject {
  const s = spec(obj);
  if (kind === 'Pod') return s;
  if (kind === 'CronJob') {
    const jt = isObject(s.jobTemplate) && isObject(s.jobTemplate.spec) ? s.jobTemplate.spec : {};
    return isObject(jt.template) && isObject(jt.template.spec) ? jt.template.spec : {};
  }
  return isObject(s.template) && isObject(s.template.spec) ? s.template.spec : {};
}

function imagesOf(obj: KubeObject, kind: string): string[] {
  const pod = podSpecOf(obj, kind);
  const all = [...(Array.isArray(pod.containers) ? pod.containers : []), ...(Array.isArray(pod.initContainers) ? pod.initContainers : [])];
  return all.filter(isObject).map((c) => text(c.image ?? ''));
}

/** A condition with the timestamps kept when nothing about it changed (so reconciles converge). */
function condition(
  previous: unknown,
  type: string,
  value: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
  now: string,
  style: 'deployment' | 'probe' | 'plain',
): JsonObject {
  const prev = Array.isArray(previous) ? previous.filter(isObject).find((c) => c.type === type) : undefined;
  const same = prev && prev.status === value && prev.reason === reason && prev.message === message;
  const transition = prev && prev.status === value ? prev.lastTransitionTime : now;
  if (style === 'deployment') {
    return { type, status: value, lastUpdateTime: same ? prev.lastUpdateTime : now, lastTransitionTime: transition, reason, message };
  }
  if (style === 'probe') return { type, status: value, lastProbeTime: same ? prev.lastProbeTime : now, lastTransitionTime: transition, reason, message };
  return { type, status: value, lastTransitionTime: transition, reason, message };
}

function maxUnavailable(s: JsonObject, replicas: number): number {
  const strategy = isObject(s.strategy) ? s.strategy : {};
  const rolling = isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const value = rolling.maxUnavailable ?? '25%';
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(text(value));
  return m ? Math.floor((replicas * Number(m[1])) / 100) : Number(value) || 0;
}

/** Builds the controllers of one server instance. */
export function createControllers(deps: ControllerDeps): Controllers {
  const { engine, store, registry } = deps;
  const queue = new Map<string, StoredObject>();
  const removals: StoredObject[] = [];
  const errors: Error[] = [];
  // Per-object memory of the real controllers: the Deployment revision per template hash, and
  // which delayed rollouts have waited long enough. Keyed by uid so a recreated object starts over.
  let revisions = new Map<string, { hash: string; revision: number }>();
  let delays = new Map<string, 'waiting' | 'done'>();
  let registeredCrds = new Map<string, string>();

  function behaviourFor(obj: KubeObject, kind: string): { behaviour: RolloutBehaviour; delayMs: number } {
    const images = imagesOf(obj, kind);
    let result: { behaviour: RolloutBehaviour; delayMs: number } = { behaviour: 'succeed', delayMs: 0 };
    if (images.some((i) => /:fail$/.test(i))) result = { behaviour: 'fail', delayMs: 0 };
    else if (images.some((i) => /:hang$/.test(i))) result = { behaviour: 'hang', delayMs: 0 };
    for (const rule of deps.rules()) {
      const m = rule.match;
      if (m.kind !== undefined && m.kind !== kind) continue;
      if (m.namespace !== undefined && m.namespace !== obj.metadata?.namespace) continue;
      if (m.name !== undefined && m.name !== obj.metadata?.name) continue;
      if (m.image !== undefined) {
        const re = m.image;
        if (!images.some((i) => (typeof re === 'string' ? i === re : re.test(i)))) continue;
      }
      result = { behaviour: rule.behaviour, delayMs: rule.delayMs };
    }
    return result;
  }

  /** Whether a delayed outcome may happen now; starts the delay the first time. */
  function delayPassed(record: StoredObject, delayMs: number): boolean {
    if (delayMs <= 0) return true;
    const key = `${record.obj.metadata?.uid ?? ''}/${record.obj.metadata?.generation ?? 0}`;
    const state = delays.get(key);
    if (state === 'done') return true;
    if (state === undefined) {
      delays.set(key, 'waiting');
      deps.after(delayMs, () => {
        delays.set(key, 'done');
        const current = store.get(record.group, record.plural, record.namespace, record.name);
        if (current) enqueue(current);
      });
    }
    return false;
  }

  function writeStatus(record: StoredObject, next: JsonObject, manager = KCM, annotations?: Record<string, string>): void {
    if (deepEqual(record.obj.status, next) && !annotations) return;
    engine.update(
      record,
      (o) => {
        o.status = next;
        if (annotations) o.metadata = { ...(o.metadata ?? {}), annotations: { ...(o.metadata?.annotations ?? {}), ...annotations } };
      },
      manager,
      'status',
    );
  }

  function reconcileDeployment(record: StoredObject): void {
    const obj = record.obj;
    const s = spec(obj);
    const prev = status(obj);
    const n = num(s.replicas, 1);
    const uid = obj.metadata?.uid ?? '';
    const hash = hashOf(s.template);
    const rs = `${obj.metadata?.name ?? ''}-${hash}`;
    const now = deps.now();
    let rev = revisions.get(uid);
    if (!rev || rev.hash !== hash) {
      rev = { hash, revision: (rev?.revision ?? 0) + 1 };
      revisions.set(uid, rev);
    }
    const annotations =
      obj.metadata?.annotations?.['deployment.kubernetes.io/revision'] === String(rev.revision)
        ? undefined
        : { 'deployment.kubernetes.io/revision': String(rev.revision) };
    const { behaviour, delayMs } = behaviourFor(obj, 'Deployment');
    const generation = obj.metadata?.generation ?? 1;
    const done = n === 0 || (behaviour === 'succeed' && delayPassed(record, delayMs));
    const next: JsonObject = { observedGeneration: generation };
    if (done) {
      if (n > 0) Object.assign(next, { replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n });
      next.conditions = [
        condition(prev.conditions, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now, 'deployment'),
        condition(prev.conditions, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`, now, 'deployment'),
      ];
      writeStatus(record, next, KCM, annotations);
      return;
    }
    // In progress: the new ReplicaSet's pods never become available.
    const available = Math.min(num(prev.availableReplicas, 0), n);
    if (available === 0) Object.assign(next, { replicas: n, updatedReplicas: n, unavailableReplicas: n });
    else Object.assign(next, { replicas: available + 1, updatedReplicas: 1, readyReplicas: available, availableReplicas: available, unavailableReplicas: 1 });
    const minAvailable = available >= n - maxUnavailable(s, n);
    const failed = behaviour === 'fail' && delayPassed(record, delayMs);
    next.conditions = [
      minAvailable
        ? condition(prev.conditions, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now, 'deployment')
        : condition(prev.conditions, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now, 'deployment'),
      failed
        ? condition(prev.conditions, 'Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs}" has timed out progressing.`, now, 'deployment')
        : condition(prev.conditions, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`, now, 'deployment'),
    ];
    writeStatus(record, next, KCM, annotations);
  }

  function reconcileStatefulSet(record: StoredObject): void {
    const obj = record.obj;
    const s = spec(obj);
    const prev = status(obj);
    const n = num(s.replicas, 1);
    const revision = `${obj.metadata?.name ?? ''}-${hashOf(s.template)}`;
    const { behaviour, delayMs } = behaviourFor(obj, 'StatefulSet');
    const generation = obj.metadata?.generation ?? 1;
    if (n === 0 || (behaviour === 'succeed' && delayPassed(record, delayMs))) {
      writeStatus(record, {
        observedGeneration: generation,
        replicas: n,
        readyReplicas: n,
        currentReplicas: n,
        updatedReplicas: n,
        availableReplicas: n,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      });
      return;
    }
    // No Failed state for StatefulSets in kstatus: "fail" looks like a rollout that never ends.
    const ready = Math.min(num(prev.readyReplicas, 0), n);
    const current = typeof prev.currentRevision === 'string' ? prev.currentRevision : revision;
    writeStatus(record, {
      observedGeneration: generation,
      replicas: n,
      readyReplicas: ready,
      currentReplicas: current === revision ? 0 : Math.max(n - 1, 0),
      updatedReplicas: current === revision ? Math.min(1, n) : 1,
      availableReplicas: ready,
      currentRevision: current,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  function reconcileDaemonSet(record: StoredObject): void {
    const obj = record.obj;
    const nodes = deps.daemonSetNodes;
    const { behaviour, delayMs } = behaviourFor(obj, 'DaemonSet');
    const generation = obj.metadata?.generation ?? 1;
    const ok = behaviour === 'succeed' && delayPassed(record, delayMs);
    const next: JsonObject = {
      currentNumberScheduled: nodes,
      desiredNumberScheduled: nodes,
      numberMisscheduled: 0,
      numberReady: ok ? nodes : 0,
      observedGeneration: generation,
      updatedNumberScheduled: nodes,
    };
    if (ok) next.numberAvailable = nodes;
    else next.numberUnavailable = nodes;
    writeStatus(record, next);
  }

  function reconcileReplicaSet(record: StoredObject): void {
    const obj = record.obj;
    const n = num(spec(obj).replicas, 1);
    const next: JsonObject = { observedGeneration: obj.metadata?.generation ?? 1, replicas: n };
    if (n > 0) Object.assign(next, { fullyLabeledReplicas: n, readyReplicas: n, availableReplicas: n });
    writeStatus(record, next);
  }

  function reconcileJob(record: StoredObject): void {
    const obj = record.obj;
    const prev = status(obj);
    const conditions = Array.isArray(prev.conditions) ? prev.conditions.filter(isObject) : [];
    // Finished Jobs never change again.
    if (conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return;
    const s = spec(obj);
    const now = deps.now();
    const start = typeof prev.startTime === 'string' ? prev.startTime : now;
    const base: JsonObject = { startTime: start, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
    if (s.suspend === true) {
      writeStatus(record, {
        conditions: [condition(prev.conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now, 'probe')],
      });
      return;
    }
    const { behaviour, delayMs } = behaviourFor(obj, 'Job');
    if (behaviour === 'hang' || !delayPassed(record, delayMs)) {
      writeStatus(record, { ...base, active: num(s.parallelism, 1) });
      return;
    }
    if (behaviour === 'fail') {
      const message = 'Job has reached the specified backoff limit';
      writeStatus(record, {
        ...base,
        failed: num(s.backoffLimit, 6) + 1,
        conditions: [
          condition(undefined, 'FailureTarget', 'True', 'BackoffLimitExceeded', message, now, 'probe'),
          condition(undefined, 'Failed', 'True', 'BackoffLimitExceeded', message, now, 'probe'),
        ],
      });
      return;
    }
    const message = 'Reached expected number of succeeded pods';
    writeStatus(record, {
      ...base,
      completionTime: now,
      succeeded: num(s.completions, 1),
      conditions: [
        condition(undefined, 'SuccessCriteriaMet', 'True', 'CompletionsReached', message, now, 'probe'),
        condition(undefined, 'Complete', 'True', 'CompletionsReached', message, now, 'probe'),
      ],
    });
  }

  function reconcilePod(record: StoredObject): void {
    const obj = record.obj;
    const prev = status(obj);
    const { behaviour } = behaviourFor(obj, 'Pod');
    const now = deps.now();
    const started = typeof prev.startTime === 'string' ? prev.startTime : now;
    const pod = spec(obj);
    const containers = (Array.isArray(pod.containers) ? pod.containers : []).filter(isObject);
    const ok = behaviour === 'succeed';
    if (pod.restartPolicy === 'Never' && behaviour !== 'hang') {
      // A pod that runs to completion (a hook, a test): it exits 0, or 1 when it fails, and
      // then never changes again.
      if (prev.phase === 'Succeeded' || prev.phase === 'Failed') return;
      writeStatus(
        record,
        {
          phase: ok ? 'Succeeded' : 'Failed',
          conditions: [
            { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
            { type: 'Ready', status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: now },
            { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: now },
            { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
          ],
          hostIP: '10.0.0.1',
          podIP: '10.244.0.10',
          startTime: started,
          qosClass: 'BestEffort',
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            started: false,
            state: { terminated: { exitCode: ok ? 0 : 1, reason: ok ? 'Completed' : 'Error', startedAt: started, finishedAt: now } },
          })),
        },
        'kubelet',
      );
      return;
    }
    const cond = (type: string, v: 'True' | 'False'): JsonObject => {
      const c = condition(prev.conditions, type, v, '', '', now, 'probe');
      delete c.reason;
      delete c.message;
      c.lastProbeTime = null;
      return c;
    };
    writeStatus(
      record,
      {
        phase: behaviour === 'hang' ? 'Pending' : 'Running',
        conditions: [
          cond('Initialized', 'True'),
          cond('Ready', ok ? 'True' : 'False'),
          cond('ContainersReady', ok ? 'True' : 'False'),
          cond('PodScheduled', 'True'),
        ],
        hostIP: '10.0.0.1',
        podIP: '10.244.0.10',
        startTime: started,
        qosClass: 'BestEffort',
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: ok,
          restartCount: behaviour === 'fail' ? 5 : 0,
          started: ok,
          state: ok ? { running: { startedAt: started } } : { waiting: { reason: behaviour === 'fail' ? 'CrashLoopBackOff' : 'ContainerCreating' } },
        })),
      },
      'kubelet',
    );
  }

  function reconcilePvc(record: StoredObject): void {
    const obj = record.obj;
    const { behaviour } = behaviourFor(obj, 'PersistentVolumeClaim');
    if (behaviour !== 'succeed') {
      writeStatus(record, { phase: 'Pending' });
      return;
    }
    const s = spec(obj);
    const resources = isObject(s.resources) ? s.resources : {};
    const requests = isObject(resources.requests) ? resources.requests : {};
    const next: JsonObject = { phase: 'Bound' };
    if (Array.isArray(s.accessModes)) next.accessModes = s.accessModes;
    if (requests.storage !== undefined) next.capacity = { storage: requests.storage };
    writeStatus(record, next);
  }

  function reconcileService(record: StoredObject): void {
    const obj = record.obj;
    if (spec(obj).type !== 'LoadBalancer') return;
    const { behaviour } = behaviourFor(obj, 'Service');
    writeStatus(record, { loadBalancer: behaviour === 'succeed' ? { ingress: [{ ip: '127.0.0.1', ipMode: 'VIP' }] } : {} });
  }

  function reconcileCrd(record: StoredObject): void {
    const obj = record.obj;
    const name = obj.metadata?.name ?? '';
    const s = spec(obj);
    const names = isObject(s.names) ? s.names : {};
    const prev = status(obj);
    const now = deps.now();
    if (obj.metadata?.deletionTimestamp) {
      // Delete every custom resource first; the CRD goes when the last one is gone.
      const crs = store.list(text(s.group ?? ''), text(names.plural ?? ''));
      for (const cr of crs) if (!cr.obj.metadata?.deletionTimestamp) engine.deleteRecord(cr, 'Background');
      const left = store.list(text(s.group ?? ''), text(names.plural ?? ''));
      const current = store.get(record.group, record.plural, record.namespace, record.name);
      if (!current) return;
      if (left.length > 0) {
        const conditions = (Array.isArray(prev.conditions) ? prev.conditions.filter(isObject) : []).filter((c) => c.type !== 'Terminating');
        conditions.push(
          condition(prev.conditions, 'Terminating', 'True', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress', now, 'plain'),
        );
        writeStatus(current, { ...prev, conditions }, 'kube-apiserver');
        return;
      }
      registry.unregisterCrd(name);
      registeredCrds.delete(name);
      engine.update(
        current,
        (o) => {
          const meta = o.metadata ?? (o.metadata = {});
          meta.finalizers = (meta.finalizers ?? []).filter((f) => f !== 'customresourcecleanup.apiextensions.k8s.io');
        },
        'kube-apiserver',
      );
      return;
    }
    if (!delayPassed(record, deps.crdEstablishDelayMs)) return;
    const versions = (Array.isArray(s.versions) ? s.versions : []).filter(isObject);
    const storage = versions.find((v) => v.storage === true)?.name;
    const stored = new Set<string>(Array.isArray(prev.storedVersions) ? prev.storedVersions.map(String) : []);
    if (typeof storage === 'string') stored.add(storage);
    const kind = text(names.kind ?? '');
    const accepted: JsonObject = {
      plural: names.plural,
      singular: names.singular ?? kind.toLowerCase(),
      kind,
      listKind: names.listKind ?? `${kind}List`,
    };
    if (Array.isArray(names.shortNames)) accepted.shortNames = names.shortNames;
    if (Array.isArray(names.categories)) accepted.categories = names.categories;
    let next: JsonObject;
    const conflict = deps.crdNameConflicts().has(name) ? { reason: 'PluralConflict', name: text(names.plural ?? '') } : nameConflict(record, accepted);
    if (conflict) {
      next = {
        acceptedNames: { plural: '', kind: '' },
        conditions: [
          condition(prev.conditions, 'NamesAccepted', 'False', conflict.reason, `"${conflict.name}" is already in use`, now, 'plain'),
          condition(prev.conditions, 'Established', 'False', 'NotAccepted', 'not all names are accepted', now, 'plain'),
        ],
        storedVersions: [...stored],
      };
      writeStatus(record, next, 'kube-apiserver');
      return;
    }
    next = {
      acceptedNames: accepted,
      conditions: [
        condition(prev.conditions, 'NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', now, 'plain'),
        condition(prev.conditions, 'Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted', now, 'plain'),
      ],
      storedVersions: [...stored],
    };
    const signature = JSON.stringify([s.group, s.names, s.scope, s.versions]);
    if (registeredCrds.get(name) !== signature) {
      registeredCrds.set(name, signature);
      // A real API server publishes a new CRD's kinds a moment after Established.
      const register = () => {
        if (store.get(record.group, record.plural, record.namespace, record.name)) registry.registerCrd(obj);
      };
      if (deps.crdServeDelayMs > 0) deps.after(deps.crdServeDelayMs, register);
      else register();
    }
    writeStatus(record, next, 'kube-apiserver');
    const current = store.get(record.group, record.plural, record.namespace, record.name);
    if (current && !(current.obj.metadata?.finalizers ?? []).includes('customresourcecleanup.apiextensions.k8s.io')) {
      engine.update(
        current,
        (o) => {
          const meta = o.metadata ?? (o.metadata = {});
          meta.finalizers = [...(meta.finalizers ?? []), 'customresourcecleanup.apiextensions.k8s.io'];
        },
        'kube-apiserver',
      );
    }
  }

  /**
   * The names another accepted CRD of the same group already holds, checked in the order the
   * API server's naming controller checks them (plural, singular, short names, kind, list
   * kind): like it, the last conflict found is the one reported.
   */
  function nameConflict(record: StoredObject, wanted: JsonObject): { reason: string; name: string } | undefined {
    const group = text((record.obj.spec as JsonObject | undefined)?.group ?? '');
    const taken = {
      plural: new Set<string>(),
      singular: new Set<string>(),
      shortNames: new Set<string>(),
      kind: new Set<string>(),
      listKind: new Set<string>(),
    };
    for (const other of store.list(record.group, record.plural)) {
      if (other.name === record.name || text((other.obj.spec as JsonObject | undefined)?.group ?? '') !== group) continue;
      const names = ((other.obj.status as JsonObject | undefined)?.acceptedNames ?? {}) as JsonObject;
      if (!names.kind) continue;
      taken.plural.add(text(names.plural ?? ''));
      taken.singular.add(text(names.singular ?? ''));
      for (const n of Array.isArray(names.shortNames) ? names.shortNames : []) taken.shortNames.add(String(n));
      taken.kind.add(text(names.kind));
      taken.listKind.add(text(names.listKind ?? ''));
    }
    let found: { reason: string; name: string } | undefined;
    const check = (reason: string, set: Set<string>, value: unknown) => {
      if (typeof value === 'string' && value && set.has(value)) found = { reason, name: value };
    };
    check('PluralConflict', taken.plural, wanted.plural);
    check('SingularConflict', taken.singular, wanted.singular);
    for (const n of Array.isArray(wanted.shortNames) ? wanted.shortNames : []) check('ShortNamesConflict', taken.shortNames, n);
    check('KindConflict', taken.kind, wanted.kind);
    check('ListKindConflict', taken.listKind, wanted.listKind);
    return found;
  }

  function reconcileNamespace(record: StoredObject): void {
    const obj = record.obj;
    const ns = record.name;
    if (!obj.metadata?.deletionTimestamp) {
      if (!deps.namespaceDefaults) return;
      // What kube-controller-manager puts in every namespace; real listings show them too.
      const sa = registry.findKind('v1', 'ServiceAccount');
      const cm = registry.findKind('v1', 'ConfigMap');
      if (sa && !store.get('', 'serviceaccounts', ns, 'default')) {
        engine.createObject(sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, KCM);
      }
      if (cm && !store.get('', 'configmaps', ns, 'kube-root-ca.crt')) {
        engine.createObject(
          cm,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: 'kube-root-ca.crt',
              namespace: ns,
              annotations: {
                'kubernetes.io/description':
                  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
              },
            },
            data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\nTEST-SERVER-HAS-NO-CA\n-----END CERTIFICATE-----\n' },
          },
          KCM,
        );
      }
      return;
    }
    const contents = store.all().filter((r) => r.namespace === ns && !(r.group === '' && r.plural === 'namespaces'));
    for (const r of contents) if (!r.obj.metadata?.deletionTimestamp) engine.deleteRecord(r, 'Background');
    if (store.all().some((r) => r.namespace === ns && r.plural !== 'namespaces')) return;
    if (!delayPassed(record, deps.namespaceDeleteDelayMs)) return;
    const current = store.get('', 'namespaces', '', ns);
    if (!current) return;
    const s = spec(current.obj);
    if (Array.isArray(s.finalizers) && s.finalizers.length > 0) {
      // Clearing the `kubernetes` finalizer lets the write pipeline remove the namespace.
      engine.update(
        current,
        (o) => {
          o.spec = { ...spec(o), finalizers: [] };
        },
        KCM,
      );
    } else if (!(current.obj.metadata?.finalizers ?? []).length) {
      engine.finalize(current);
    }
  }

  function dependentsOf(uid: string): StoredObject[] {
    return store.all().filter((r) => (r.obj.metadata?.ownerReferences ?? []).some((o: OwnerReference) => o.uid === uid));
  }

  function collectGarbage(record: StoredObject): void {
    const meta = record.obj.metadata ?? {};
    const finalizers = meta.finalizers ?? [];
    const uid = meta.uid ?? '';
    if (finalizers.includes('orphan')) {
      for (const dep of dependentsOf(uid)) {
        engine.update(
          dep,
          (o) => {
            const m = o.metadata ?? (o.metadata = {});
            m.ownerReferences = (m.ownerReferences ?? []).filter((r) => r.uid !== uid);
            if (m.ownerReferences.length === 0) delete m.ownerReferences;
          },
          'kube-controller-manager',
        );
      }
      dropFinalizer(record, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      const deps_ = dependentsOf(uid);
      for (const dep of deps_) if (!dep.obj.metadata?.deletionTimestamp) engine.deleteRecord(dep, 'Foreground');
      if (dependentsOf(uid).length === 0) dropFinalizer(record, 'foregroundDeletion');
    }
  }

  function dropFinalizer(record: StoredObject, finalizer: string): void {
    const current = store.get(record.group, record.plural, record.namespace, record.name);
    if (!current) return;
    engine.update(
      current,
      (o) => {
        const m = o.metadata ?? (o.metadata = {});
        m.finalizers = (m.finalizers ?? []).filter((f) => f !== finalizer);
      },
      KCM,
    );
  }

  function reconcile(record: StoredObject): void {
    const current = store.get(record.group, record.plural, record.namespace, record.name);
    if (!current) return;
    const deleting = Boolean(current.obj.metadata?.deletionTimestamp);
    if (deleting) collectGarbage(current);
    const fresh = store.get(record.group, record.plural, record.namespace, record.name);
    if (!fresh) return;
    switch (`${fresh.group}/${fresh.plural}`) {
      case '/namespaces':
        reconcileNamespace(fresh);
        return;
      case 'apiextensions.k8s.io/customresourcedefinitions':
        reconcileCrd(fresh);
        return;
      default:
        break;
    }
    if (deleting) return;
    switch (`${fresh.group}/${fresh.plural}`) {
      case 'apps/deployments':
        reconcileDeployment(fresh);
        break;
      case 'apps/statefulsets':
        reconcileStatefulSet(fresh);
        break;
      case 'apps/daemonsets':
        reconcileDaemonSet(fresh);
        break;
      case 'apps/replicasets':
        reconcileReplicaSet(fresh);
        break;
      case 'batch/jobs':
        reconcileJob(fresh);
        break;
      case '/pods':
        reconcilePod(fresh);
        break;
      case '/persistentvolumeclaims':
        reconcilePvc(fresh);
        break;
      case '/services':
        reconcileService(fresh);
        break;
      default:
        break;
    }
  }

  function afterRemoval(record: StoredObject): void {
    const uid = record.obj.metadata?.uid ?? '';
    revisions.delete(uid);
    // Background garbage collection: dependents whose owners are all gone follow them.
    for (const dep of dependentsOf(uid)) {
      const owners = (dep.obj.metadata?.ownerReferences ?? []).filter((o) => o.uid !== uid);
      const alive = owners.some((o) => store.all().some((r) => r.obj.metadata?.uid === o.uid));
      if (!alive && !dep.obj.metadata?.deletionTimestamp) engine.deleteRecord(dep, 'Background');
    }
    // Owners waiting in foreground deletion, a terminating namespace, a terminating CRD: look again.
    for (const ref of record.obj.metadata?.ownerReferences ?? []) {
      const owner = store.all().find((r) => r.obj.metadata?.uid === ref.uid);
      if (owner) enqueue(owner);
    }
    if (record.namespace) {
      const ns = store.get('', 'namespaces', '', record.namespace);
      if (ns?.obj.metadata?.deletionTimestamp) enqueue(ns);
    }
    const crdName = registry.versionsOf(record.group, record.plural)[0]?.crd;
    if (crdName) {
      const crd = store.get('apiextensions.k8s.io', 'customresourcedefinitions', '', crdName);
      if (crd) enqueue(crd);
    }
  }

  function enqueue(record: StoredObject): void {
    queue.set(recordKey(record), record);
    deps.wake();
  }

  function run(): number {
    let count = 0;
    // Bounded so that a controller bug shows up as an error instead of a hung test.
    while ((queue.size > 0 || removals.length > 0) && count < 100_000) {
      const removed = removals.shift();
      if (removed) {
        guard(() => afterRemoval(removed));
        count++;
        continue;
      }
      const [key, record] = queue.entries().next().value as [string, StoredObject];
      queue.delete(key);
      guard(() => reconcile(record));
      count++;
    }
    return count;
  }

  function guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  }

  return {
    enqueue,
    removed(record) {
      // A CRD that is gone serves nothing, at once: discovery must not outlive it.
      if (record.group === 'apiextensions.k8s.io' && record.plural === 'customresourcedefinitions') {
        registry.unregisterCrd(record.name);
        registeredCrds.delete(record.name);
      }
      removals.push(record);
      deps.wake();
    },
    run,
    idle: () => queue.size === 0 && removals.length === 0,
    errors,
    reset() {
      queue.clear();
      removals.length = 0;
      errors.length = 0;
      revisions = new Map();
      delays = new Map();
      registeredCrds = new Map();
    },
  };
}
