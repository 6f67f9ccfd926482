import type { AppConfig } from '../config/schema.js';
import type { KubeClient } from '../kube/client.js';
import { groupOf, type KubeObject } from '../kube/refs.js';
import type { DesiredObject } from './validate.js';
import { isRecord } from '../unknown.js';

/** Annotation naming fields of an object that Landfall leaves alone: JSON pointers, comma-separated. */
export const IGNORE_ANNOTATION = 'landfall.dev/ignore-fields';

/** One `ignoreFields` rule of an app. */
export type IgnoreRule = AppConfig['ignoreFields'][number];

/** Fields of one object Landfall leaves alone, and why (for plans and change sets). */
export interface IgnoredFields {
  /** JSON pointers (`/spec/replicas`). */
  pointers: string[];
  /** `spec.replicas is left to HorizontalPodAutoscaler/web`. */
  note: string;
}

const SCALABLE = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet']);

/**
 * The fields Landfall leaves alone per object: those the app's `ignoreFields` rules and the
 * object's `landfall.dev/ignore-fields` annotation name, and `spec.replicas` of every workload a
 * HorizontalPodAutoscaler scales (in this commit or already on the cluster), which would
 * otherwise be fought over on every sync.
 */
export async function ignoredFields(client: KubeClient, desired: readonly DesiredObject[], rules: readonly IgnoreRule[]): Promise<Map<string, IgnoredFields>> {
  const out = new Map<string, IgnoredFields>();
  const add = (id: string, pointers: string[], why: string) => {
    const prev = out.get(id);
    const all = [...new Set([...(prev?.pointers ?? []), ...pointers])];
    out.set(id, { pointers: all, note: prev ? `${prev.note}; ${why}` : why });
  };
  for (const d of desired) {
    const group = groupOf(d.obj.apiVersion);
    for (const rule of rules) {
      if (rule.group !== undefined && rule.group !== group) continue;
      if (rule.kind !== undefined && rule.kind !== d.obj.kind) continue;
      if (rule.name !== undefined && rule.name !== d.obj.metadata.name) continue;
      if (rule.namespace !== undefined && rule.namespace !== d.obj.metadata.namespace) continue;
      add(d.id, rule.paths, `${rule.paths.map(dotted).join(', ')} left alone (ignoreFields)`);
    }
    const annotated = d.obj.metadata.annotations?.[IGNORE_ANNOTATION];
    if (annotated) {
      const pointers = annotated
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p.startsWith('/'));
      if (pointers.length > 0) add(d.id, pointers, `${pointers.map(dotted).join(', ')} left alone (${IGNORE_ANNOTATION})`);
    }
  }
  const scalable = desired.filter((d) => SCALABLE.has(`${groupOf(d.obj.apiVersion)}/${d.obj.kind}`));
  if (scalable.length === 0) return out;
  const autoscalers = [...desired.map((d) => d.obj).filter(isAutoscaler)];
  for (const namespace of new Set(scalable.map((d) => d.obj.metadata.namespace).filter((n): n is string => Boolean(n)))) {
    // Autoscalers someone else manages count too; a cluster that will not list them has none we can see.
    const live = await client.list('autoscaling/v2', 'HorizontalPodAutoscaler', { namespace }).catch(() => []);
    autoscalers.push(...live.map((o) => ({ ...o, metadata: { ...o.metadata, namespace } })));
  }
  for (const d of scalable) {
    const hpa = autoscalers.find((a) => {
      const target = isRecord(a.spec) && isRecord(a.spec.scaleTargetRef) ? a.spec.scaleTargetRef : undefined;
      return a.metadata.namespace === d.obj.metadata.namespace && target?.kind === d.obj.kind && target.name === d.obj.metadata.name;
    });
    if (hpa) add(d.id, ['/spec/replicas'], `spec.replicas is left to HorizontalPodAutoscaler/${hpa.metadata.name}`);
  }
  return out;
}

function isAutoscaler(obj: KubeObject): boolean {
  return groupOf(obj.apiVersion) === 'autoscaling' && obj.kind === 'HorizontalPodAutoscaler';
}

/** `/spec/template/metadata/annotations/a~1b` → `spec.template.metadata.annotations.a/b`. */
export function dotted(pointer: string): string {
  return parsePointer(pointer).join('.');
}

function parsePointer(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function lookup(obj: unknown, tokens: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = obj;
  for (const token of tokens) {
    if (Array.isArray(cur) && /^\d+$/.test(token) && Number(token) < cur.length) cur = cur[Number(token)];
    else if (isRecord(cur) && Object.hasOwn(cur, token)) cur = cur[token];
    else return { found: false };
  }
  return { found: true, value: cur };
}

function parentOf(obj: unknown, tokens: string[], create: boolean): Record<string, unknown> | unknown[] | undefined {
  let cur: unknown = obj;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      cur = /^\d+$/.test(token) ? cur[Number(token)] : undefined;
    } else if (isRecord(cur)) {
      if (cur[token] === undefined && create) cur[token] = {};
      cur = cur[token];
    } else {
      return undefined;
    }
  }
  return isRecord(cur) || Array.isArray(cur) ? cur : undefined;
}

/**
 * The object to apply when it exists already: at each ignored field, the live value instead of
 * Git's (or nothing, where the live object has none). Applying the live value rather than leaving
 * the field out keeps server-side apply from resetting a field Landfall owned before to its
 * default (a Deployment to 1 replica) when no one else holds it yet.
 */
export function withLiveValues(obj: KubeObject, live: KubeObject, pointers: readonly string[]): KubeObject {
  const copy = structuredClone(obj);
  for (const pointer of pointers) {
    const tokens = parsePointer(pointer);
    const last = tokens.at(-1);
    if (last === undefined) continue;
    const current = lookup(live, tokens);
    const parent = parentOf(copy, tokens, current.found);
    if (!parent) continue;
    if (Array.isArray(parent)) {
      if (current.found && /^\d+$/.test(last)) parent[Number(last)] = structuredClone(current.value);
      continue;
    }
    if (current.found) parent[last] = structuredClone(current.value);
    else delete parent[last];
  }
  return copy;
}

/** A copy without the given fields, so they never count as a difference. */
export function withoutFields(obj: KubeObject, pointers: readonly string[]): KubeObject {
  const copy = structuredClone(obj);
  for (const pointer of pointers) {
    const tokens = parsePointer(pointer);
    const last = tokens.at(-1);
    const parent = last === undefined ? undefined : parentOf(copy, tokens, false);
    if (parent && !Array.isArray(parent) && last !== undefined) delete parent[last];
  }
  return copy;
}
