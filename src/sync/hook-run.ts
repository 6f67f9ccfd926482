import { z } from 'zod';
import type { KubeClient } from '../kube/client.js';
import { describeRef, groupOf, refOf, type KubeObject, type ObjectRef } from '../kube/refs.js';
import type { HookPhaseName, HookRunRecord, StepRecord } from '../model/records.js';
import { SyncError } from './errors.js';
import { computeHealth } from './health.js';
import { HOOK_LABEL, SYNC_ID_LABEL, syncIdLabel } from './hooks.js';
import { APP_LABEL, FIELD_MANAGER } from './labels.js';
import { applyOrder } from './order.js';
import type { DesiredObject } from './validate.js';
import { errorMessage } from '../unknown.js';

/** What running a phase's hooks needs. */
export interface HookRunDeps {
  client: KubeClient;
  app: string;
  syncId: string;
  /** How long one group of hooks (of one weight) may take to finish. */
  timeoutMs: number;
  signal?: AbortSignal;
  note(level: 'info' | 'warn' | 'error', msg: string): void;
  /** Called when a hook starts, to say so (commit status, saved record). */
  onHook?(phase: HookPhaseName, run: HookRunRecord): void;
  /** Called after each change of the step, so the record can be saved. */
  onChange?(): void;
  /** Lines of a hook pod's log to keep (default 20). */
  logLines?: number;
  /** Polling back-off: first delay and cap. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
}

/** How a hook object ends: finished, failed (and why), or still running. */
export interface HookOutcome {
  state: 'succeeded' | 'failed' | 'running';
  message: string;
}

/** The name a hook is known by: its name, or its generateName and `*`. */
export function hookName(obj: KubeObject): string {
  return obj.metadata.name || `${obj.metadata.generateName ?? ''}*`;
}

/**
 * Whether a hook object has finished: a Job Complete (or Failed, with its condition), a Pod
 * Succeeded (or Failed, with the failed container's exit), any other kind once healthy.
 */
export function hookOutcome(live: KubeObject): HookOutcome {
  const group = groupOf(live.apiVersion);
  const status = HookStatus.parse(live.status ?? {});
  if (group === 'batch' && live.kind === 'Job') {
    const conditions = status.conditions ?? [];
    if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return { state: 'succeeded', message: 'Job completed' };
    const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) return { state: 'failed', message: `${failed.reason ?? 'JobFailed'}: ${failed.message ?? 'Job failed'}` };
    return { state: 'running', message: 'Job running' };
  }
  if (group === '' && live.kind === 'Pod') {
    if (status.phase === 'Succeeded') return { state: 'succeeded', message: 'Pod succeeded' };
    if (status.phase === 'Failed') return { state: 'failed', message: `Pod failed${containerExit(status) ? `: ${containerExit(status)}` : ''}` };
    return { state: 'running', message: `Pod ${status.phase ?? 'pending'}` };
  }
  const health = computeHealth(live);
  if (health.status === 'Current') return { state: 'succeeded', message: health.message };
  if (health.status === 'Failed') return { state: 'failed', message: `${health.reason}: ${health.message}` };
  return { state: 'running', message: `${health.reason}: ${health.message}` };
}

const Terminated = z.object({ exitCode: z.number().optional(), reason: z.string().optional(), message: z.string().optional() }).loose();
const ContainerStatusSchema = z
  .object({
    name: z.string().optional(),
    state: z.object({ terminated: Terminated.optional() }).loose().optional(),
    lastState: z.object({ terminated: Terminated.optional() }).loose().optional(),
  })
  .loose();
/** The status fields a hook's outcome reads; a status of another shape reads as empty. */
const HookStatus = z
  .object({
    phase: z.string().optional(),
    conditions: z
      .array(z.object({ type: z.string().optional(), status: z.string().optional(), reason: z.string().optional(), message: z.string().optional() }).loose())
      .optional(),
    containerStatuses: z.array(ContainerStatusSchema).optional(),
    initContainerStatuses: z.array(ContainerStatusSchema).optional(),
  })
  .loose()
  .catch({});

interface ContainerStatus {
  name?: string;
  state?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
}

/** `container migrate exited 1 (Error)` for the first container that exited non-zero. */
function containerExit(status: { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] }): string | undefined {
  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const t = c.state?.terminated ?? c.lastState?.terminated;
    if (t && t.exitCode !== undefined && t.exitCode !== 0) {
      return `container ${c.name ?? '?'} exited ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message.trim().slice(0, 200)}` : ''}`;
    }
  }
  return undefined;
}

/**
 * Runs one phase's hooks, recording each run in `step`: hooks of one weight together, lower
 * weights first (within a weight, the apply order of kinds). Each is created anew: the runs of
 * the same hook before it are deleted first (`before-hook-creation`, the default; a named hook
 * always, since its name must be free), then it is created (POST, so a `generateName` hook gets
 * its name), labelled with the app and the sync. Once all of a weight finished, the next weight
 * starts; the first failure fails the phase with the hook named and its reason, after the hooks
 * of its weight finished (their logs kept and their delete policies applied).
 */
export async function runHookPhase(deps: HookRunDeps, phase: HookPhaseName, hooks: readonly DesiredObject[], step: StepRecord): Promise<void> {
  const weights = [...new Set(hooks.map((h) => h.hook?.weight ?? 0))].sort((a, b) => a - b);
  step.hooks ??= [];
  for (const weight of weights) {
    const group = hooks.filter((h) => (h.hook?.weight ?? 0) === weight).sort((a, b) => applyOrder(a.obj, b.obj));
    const runs = await Promise.all(group.map((h) => start(deps, phase, h, step)));
    const results = await Promise.allSettled(runs.map((r) => finish(deps, r)));
    deps.onChange?.();
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }
}

interface Started {
  hook: DesiredObject;
  run: HookRunRecord;
  ref: ObjectRef;
}

async function start(deps: HookRunDeps, phase: HookPhaseName, hook: DesiredObject, step: StepRecord): Promise<Started> {
  const spec = hook.hook;
  const obj = structuredClone(hook.obj);
  const namespace = obj.metadata.namespace;
  const run: HookRunRecord = { kind: obj.kind, ...(namespace ? { namespace } : {}), hook: hookName(obj), startedAt: Date.now(), result: 'running' };
  step.hooks?.push(run);
  deps.onHook?.(phase, run);
  const what = `${phase} hook ${obj.kind} ${run.hook}`;
  try {
    if (!spec || spec.deletePolicies.includes('before-hook-creation')) await deleteRuns(deps, obj, spec?.key);
    if (!spec?.generated) await deleteAndWait(deps, refOf(obj));
    obj.metadata.labels = { ...obj.metadata.labels, [SYNC_ID_LABEL]: syncIdLabel(deps.syncId) };
    const created = await deps.client.create(obj, { fieldManager: FIELD_MANAGER });
    run.name = created.metadata.name;
    deps.note('info', `${what} started${spec?.generated ? ` as ${created.metadata.name}` : ''}`);
    return { hook, run, ref: { ...refOf(obj), name: created.metadata.name } };
  } catch (err) {
    run.result = 'failed';
    run.finishedAt = Date.now();
    run.message = `could not be created: ${errorMessage(err)}`;
    throw new SyncError('HOOK_FAILED', `${what} could not be created: ${errorMessage(err)}`, err instanceof SyncError ? err.transient : false, {
      cause: err,
      object: describeRef(refOf(obj)),
    });
  }
}

/** Waits for one started hook; keeps its logs, applies its delete policy; throws when it failed. */
async function finish(deps: HookRunDeps, started: Started): Promise<void> {
  const { run, ref, hook } = started;
  const phase = hook.hook?.phase ?? 'pre-sync';
  const what = `${phase} hook ${describeRef(ref)}`;
  const deadline = Date.now() + deps.timeoutMs;
  let interval = deps.minIntervalMs ?? 100;
  let outcome: HookOutcome;
  let live: KubeObject | undefined;
  for (;;) {
    live = await deps.client.get(ref);
    if (!live) {
      outcome = { state: 'failed', message: 'it was deleted before it finished' };
      break;
    }
    outcome = hookOutcome(live);
    if (outcome.state !== 'running') break;
    if (Date.now() >= deadline || deps.signal?.aborted) {
      outcome = {
        state: 'failed',
        message: deps.signal?.aborted ? 'the sync stopped before it finished' : `not finished after ${Math.round(deps.timeoutMs / 1000)}s (${outcome.message})`,
      };
      break;
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), deps.signal);
    interval = Math.min(interval * 2, deps.maxIntervalMs ?? 2_000);
  }
  const pods = live ? await hookPods(deps.client, live).catch(() => []) : [];
  if (outcome.state === 'failed' && live && groupOf(live.apiVersion) === 'batch') {
    const exit = pods.map((p) => ({ pod: p.metadata.name, exit: containerExit(HookStatus.parse(p.status ?? {})) })).find((p) => p.exit);
    if (exit) outcome.message += `; pod ${exit.pod}: ${exit.exit}`;
  }
  const logs = await lastLogLines(deps, pods);
  if (logs.length > 0) run.logs = logs;
  run.result = outcome.state === 'succeeded' ? 'succeeded' : 'failed';
  run.message = outcome.message;
  run.finishedAt = Date.now();
  const policies = hook.hook?.deletePolicies ?? [];
  if ((run.result === 'succeeded' && policies.includes('hook-succeeded')) || (run.result === 'failed' && policies.includes('hook-failed'))) {
    await deps.client
      .delete(ref, { propagationPolicy: 'Background' })
      .catch((err: unknown) => deps.note('warn', `${what} could not be deleted: ${errorMessage(err)}`));
  }
  if (run.result === 'failed') {
    deps.note('error', `${what} failed: ${outcome.message}`);
    throw new SyncError('HOOK_FAILED', `${what} failed: ${outcome.message}`, false, { object: describeRef(ref) });
  }
  deps.note('info', `${what} finished in ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)}s`);
}

/** The pods of a hook: itself, or a Job's pods (newest last). */
async function hookPods(client: KubeClient, live: KubeObject): Promise<KubeObject[]> {
  if (groupOf(live.apiVersion) === '' && live.kind === 'Pod') return [live];
  if (groupOf(live.apiVersion) !== 'batch' || live.kind !== 'Job' || !live.metadata.namespace) return [];
  const uid = live.metadata.uid;
  const pods = await client.list('v1', 'Pod', { namespace: live.metadata.namespace, labelSelector: `job-name=${live.metadata.name}` });
  return pods
    .filter((p) => !uid || (p.metadata.ownerReferences ?? []).some((o) => o.uid === uid))
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
}

/** The container names of a pod's spec; a spec of another shape reads as empty. */
const PodSpecNames = z
  .object({ containers: z.array(z.object({ name: z.string().optional() }).loose()).optional() })
  .loose()
  .catch({});

/** The last lines of the last pod's log (a failed one first), where the API gives them. */
async function lastLogLines(deps: HookRunDeps, pods: KubeObject[]): Promise<string[]> {
  const failed = pods.filter((p) => HookStatus.parse(p.status ?? {}).phase === 'Failed');
  const pod = failed.at(-1) ?? pods.at(-1);
  if (!pod?.metadata.namespace) return [];
  const lines = deps.logLines ?? 20;
  const containers = (PodSpecNames.parse(pod.spec ?? {}).containers ?? []).map((c) => c.name).filter((n): n is string => Boolean(n));
  const text = await deps.client
    .podLog(pod.metadata.namespace, pod.metadata.name, { tailLines: lines, ...(containers[0] ? { container: containers[0] } : {}) })
    .catch(() => undefined);
  if (!text) return [];
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(-lines)
    .map((l) => l.slice(0, 500));
}

/** Deletes the earlier runs of a hook (by its label), not waiting: new runs have new names. */
async function deleteRuns(deps: HookRunDeps, obj: KubeObject, key: string | undefined): Promise<void> {
  if (!key) return;
  const earlier = await deps.client.list(obj.apiVersion, obj.kind, {
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    labelSelector: `${APP_LABEL}=${deps.app},${HOOK_LABEL}=${key}`,
  });
  for (const old of earlier) {
    if (old.metadata.deletionTimestamp) continue;
    await deps.client.delete({ ...refOf(old), ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) }, { propagationPolicy: 'Background' });
  }
}

/** Deletes the object of a named hook, if there, and waits (bounded) until its name is free. */
async function deleteAndWait(deps: HookRunDeps, ref: ObjectRef): Promise<void> {
  const existing = await deps.client.get(ref);
  if (!existing) return;
  if (!existing.metadata.deletionTimestamp) await deps.client.delete(ref, { propagationPolicy: 'Background' });
  const deadline = Date.now() + Math.min(deps.timeoutMs, 120_000);
  let interval = deps.minIntervalMs ?? 100;
  while (await deps.client.get(ref)) {
    if (Date.now() >= deadline)
      throw new SyncError('HOOK_FAILED', `${describeRef(ref)} from an earlier run is still being deleted`, true, { object: describeRef(ref) });
    await sleep(interval, deps.signal);
    interval = Math.min(interval * 2, deps.maxIntervalMs ?? 2_000);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
