import { createHash } from 'node:crypto';
import type { PlannedHook } from '../model/records.js';
import type { KubeObject } from '../kube/refs.js';

/**
 * Hooks and waves: what an object's annotations say about when it is applied.
 *
 * Three dialects are understood, Landfall's own, Argo CD's and Helm's (the README has the table):
 * - `landfall.dev/hook: pre-sync | post-sync | sync-fail`, `landfall.dev/hook-delete-policy`,
 *   `landfall.dev/wave`;
 * - `argocd.argoproj.io/hook: PreSync | Sync | PostSync | SyncFail | Skip`,
 *   `argocd.argoproj.io/hook-delete-policy`, `argocd.argoproj.io/sync-wave`;
 * - `helm.sh/hook` (`pre-install`, `pre-upgrade` → pre-sync; `post-install`, `post-upgrade` →
 *   post-sync; `test`, `pre-delete`, `post-delete`, `pre-rollback`, `post-rollback` are not run by a
 *   sync), `helm.sh/hook-weight`, `helm.sh/hook-delete-policy`.
 */

/** Landfall's hook annotation. */
export const HOOK_ANNOTATION = 'landfall.dev/hook';
/** Landfall's hook delete policy annotation. */
export const HOOK_DELETE_POLICY_ANNOTATION = 'landfall.dev/hook-delete-policy';
/** Landfall's wave annotation. */
export const WAVE_ANNOTATION = 'landfall.dev/wave';
/** Label on a hook object naming the hook it is a run of (its name or generateName). */
export const HOOK_LABEL = 'landfall.dev/hook';
/** Label on a hook object naming the sync that created it. */
export const SYNC_ID_LABEL = 'landfall.dev/sync-id';

const ARGO_HOOK = 'argocd.argoproj.io/hook';
const ARGO_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
const ARGO_WAVE = 'argocd.argoproj.io/sync-wave';
const HELM_HOOK = 'helm.sh/hook';
const HELM_WEIGHT = 'helm.sh/hook-weight';
const HELM_DELETE_POLICY = 'helm.sh/hook-delete-policy';

/** When a hook runs: before the objects, after them, or when the sync fails. */
export type HookPhase = 'pre-sync' | 'post-sync' | 'sync-fail';

/** The hook phases in the order a sync runs them (sync-fail only on failure). */
export const HOOK_PHASES: readonly HookPhase[] = ['pre-sync', 'post-sync', 'sync-fail'];

/** When a hook's objects are deleted. */
export type HookDeletePolicy = 'before-hook-creation' | 'hook-succeeded' | 'hook-failed';

/** What an object's annotations make of it. */
export type Classification =
  | { role: 'object'; wave: number }
  | { role: 'hook'; phase: HookPhase; weight: number; deletePolicies: HookDeletePolicy[]; source: string }
  | { role: 'skipped'; reason: string }
  | { role: 'invalid'; problem: string };

type Meta = { annotations?: Record<string, unknown> | undefined };

const LANDFALL_PHASES: Record<string, HookPhase> = { 'pre-sync': 'pre-sync', 'post-sync': 'post-sync', 'sync-fail': 'sync-fail' };
const ARGO_PHASES: Record<string, HookPhase> = { PreSync: 'pre-sync', PostSync: 'post-sync', SyncFail: 'sync-fail' };
const HELM_PHASES: Record<string, HookPhase> = {
  'pre-install': 'pre-sync',
  'pre-upgrade': 'pre-sync',
  'post-install': 'post-sync',
  'post-upgrade': 'post-sync',
};
const HELM_NOT_RUN = new Set(['test', 'test-success', 'pre-delete', 'post-delete', 'pre-rollback', 'post-rollback']);
const POLICIES: Record<string, HookDeletePolicy> = {
  'before-hook-creation': 'before-hook-creation',
  'hook-succeeded': 'hook-succeeded',
  'hook-failed': 'hook-failed',
  BeforeHookCreation: 'before-hook-creation',
  HookSucceeded: 'hook-succeeded',
  HookFailed: 'hook-failed',
};

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function integer(value: string | undefined, what: string): number | { problem: string } {
  if (value === undefined || value.trim() === '') return 0;
  const n = Number(value.trim());
  return Number.isInteger(n) ? n : { problem: `${what} "${value}" is not a whole number` };
}

/**
 * Classifies one object by its annotations: an ordinary object with its wave, a hook with its
 * phase, weight and delete policies, an object a sync does not apply (a Helm `test` hook, an
 * Argo CD `Skip`), or an annotation it cannot read. Landfall's own annotation wins over Argo
 * CD's, which wins over Helm's.
 */
export function classify(meta: Meta | undefined): Classification {
  const annotations = meta?.annotations ?? {};
  const get = (key: string) => (typeof annotations[key] === 'string' ? annotations[key] : undefined);
  const own = get(HOOK_ANNOTATION);
  const argo = get(ARGO_HOOK);
  const helm = get(HELM_HOOK);

  const policies = (key: string): HookDeletePolicy[] | { problem: string } => {
    const raw = get(key);
    if (raw === undefined) return ['before-hook-creation'];
    const out: HookDeletePolicy[] = [];
    for (const p of list(raw)) {
      const policy = POLICIES[p];
      if (!policy) return { problem: `${key} "${p}" is not one of before-hook-creation, hook-succeeded, hook-failed` };
      out.push(policy);
    }
    return out.length > 0 ? out : ['before-hook-creation'];
  };
  const hook = (phase: HookPhase, weightKey: string | undefined, policyKey: string, source: string): Classification => {
    const weight = integer(weightKey ? get(weightKey) : undefined, weightKey ?? 'weight');
    if (typeof weight !== 'number') return { role: 'invalid', problem: weight.problem };
    const deletePolicies = policies(policyKey);
    if (!Array.isArray(deletePolicies)) return { role: 'invalid', problem: deletePolicies.problem };
    return { role: 'hook', phase, weight, deletePolicies, source };
  };

  if (own !== undefined) {
    const phase = LANDFALL_PHASES[own.trim()];
    if (!phase) return { role: 'invalid', problem: `${HOOK_ANNOTATION} "${own}" is not one of pre-sync, post-sync, sync-fail` };
    // A wave orders hooks of one phase, as Argo CD's sync-wave does.
    return hook(phase, get(WAVE_ANNOTATION) !== undefined ? WAVE_ANNOTATION : ARGO_WAVE, HOOK_DELETE_POLICY_ANNOTATION, `${HOOK_ANNOTATION}: ${own}`);
  }
  if (argo !== undefined) {
    const names = list(argo);
    if (names.includes('Skip')) return { role: 'skipped', reason: `${ARGO_HOOK}: Skip` };
    const phases = names.map((n) => ARGO_PHASES[n]).filter((p): p is HookPhase => Boolean(p));
    const unknown = names.filter((n) => !ARGO_PHASES[n] && n !== 'Sync');
    if (unknown.length > 0)
      return { role: 'invalid', problem: `${ARGO_HOOK} "${argo}": ${unknown.join(', ')} is not one of PreSync, Sync, PostSync, SyncFail, Skip` };
    // `Sync` is applied with the objects, in its wave; a hook in several phases runs in the first.
    const first = phases[0];
    if (first === undefined) return wave(get);
    return hook(first, ARGO_WAVE, ARGO_DELETE_POLICY, `${ARGO_HOOK}: ${argo}`);
  }
  if (helm !== undefined) {
    const names = list(helm);
    const phases = names.map((n) => HELM_PHASES[n]).filter((p): p is HookPhase => Boolean(p));
    const firstHelm = phases[0];
    if (firstHelm !== undefined) return hook(phases.includes('pre-sync') ? 'pre-sync' : firstHelm, HELM_WEIGHT, HELM_DELETE_POLICY, `${HELM_HOOK}: ${helm}`);
    const notRun = names.filter((n) => HELM_NOT_RUN.has(n));
    if (notRun.length > 0) return { role: 'skipped', reason: `${HELM_HOOK}: ${helm} (a sync runs only install and upgrade hooks)` };
    return {
      role: 'invalid',
      problem: `${HELM_HOOK} "${helm}" names no hook Landfall knows (pre-install, pre-upgrade, post-install, post-upgrade, test, pre-delete, post-delete, pre-rollback, post-rollback)`,
    };
  }
  return wave(get);
}

function wave(get: (key: string) => string | undefined): Classification {
  const key = get(WAVE_ANNOTATION) !== undefined ? WAVE_ANNOTATION : ARGO_WAVE;
  const n = integer(get(key), key);
  return typeof n === 'number' ? { role: 'object', wave: n } : { role: 'invalid', problem: n.problem };
}

/**
 * The label value that names a hook across syncs (its `metadata.name`, or its `generateName`):
 * a label value may not end in `-` and is at most 63 characters, so long names are cut and
 * given a short hash to stay unique.
 */
export function hookKey(name: string): string {
  const trimmed = name.replace(/[^A-Za-z0-9]+$/, '').replace(/^[^A-Za-z0-9]+/, '');
  if (trimmed.length <= 63) return trimmed || 'hook';
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${trimmed.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
}

/** A sync id as a label value (job ids may carry characters labels do not allow). */
export function syncIdLabel(id: string): string {
  const clean = id.replace(/[^A-Za-z0-9._-]/g, '-');
  return hookKey(clean);
}

/** When each phase's hooks run, in a plan's words. */
export const HOOK_PHASE_WORDS: Record<HookPhase, string> = {
  'pre-sync': 'will run before the deploy',
  'post-sync': 'will run after the deploy',
  'sync-fail': 'will run if the deploy fails',
};

/** A hook object's place and lifecycle. */
export interface HookSpec {
  phase: HookPhase;
  /** Orders hooks within a phase (Helm's hook-weight, Argo CD's sync-wave): lower first. */
  weight: number;
  deletePolicies: HookDeletePolicy[];
  /** The `landfall.dev/hook` label value naming this hook across syncs. */
  key: string;
  /** It has only a generateName: each run creates a new object. */
  generated: boolean;
  /** The annotation that made it a hook, as written. */
  source: string;
}

/** An object that may be a hook: what {@link plannedHooks} reads of a desired object. */
type MaybeHook = { obj: KubeObject; hook?: HookSpec };

/** The hooks a plan lists, in the order a deploy runs them (`Job upgrade-sql-schema-*`). */
export function plannedHooks(hooks: readonly MaybeHook[]): PlannedHook[] {
  const order = (d: MaybeHook) => HOOK_PHASES.indexOf(d.hook?.phase ?? 'pre-sync');
  return [...hooks]
    .filter((d) => d.hook)
    .sort((a, b) => order(a) - order(b) || (a.hook?.weight ?? 0) - (b.hook?.weight ?? 0))
    .map((d) => ({
      phase: d.hook?.phase ?? 'pre-sync',
      kind: d.obj.kind,
      ...(d.obj.metadata.namespace ? { namespace: d.obj.metadata.namespace } : {}),
      name: d.obj.metadata.name || `${d.obj.metadata.generateName ?? ''}*`,
    }));
}
