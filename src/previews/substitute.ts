import { expandTemplate, type TemplateVars } from '../config/previews.js';
import { groupOf, type KubeObject } from '../kube/refs.js';

/** The objects with `previews.values` replaced, and how often each key was. */
export interface Substitution<T> {
  objects: T[];
  /** Every key of `values`, with the number of replacements made; 0 says a key matched nothing (a typo?). */
  counts: Record<string, number>;
}

/** Fields that say which object this is: a preview holds the same objects as the app, moved only in namespace. */
const IDENTITY: readonly string[] = ['apiVersion', 'kind'];
const METADATA_IDENTITY: readonly string[] = ['name', 'namespace', 'generateName'];

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Fields of `obj` holding bytes rather than text, left alone. */
function opaqueFields(obj: KubeObject): readonly string[] {
  // Not validated yet: a rendered document may lack its apiVersion.
  if (typeof obj.apiVersion !== 'string' || groupOf(obj.apiVersion) !== '') return [];
  if (obj.kind === 'Secret') return ['data'];
  if (obj.kind === 'ConfigMap') return ['binaryData'];
  return [];
}

/**
 * Replaces each key of `values` (`previews.values`) by its value, expanded with `vars` (`{app}`,
 * `{number}`, `{namespace}`, `{sha}`, `{shortSha}`), in every string of every object, and says how
 * often each key was replaced. Run it on the rendered objects, before validation, so that what a
 * value produces is validated like anything else.
 *
 * - Only string values change, at any depth (arrays included). Map keys stay as they are: a key is
 *   structure (a label's or annotation's name, an environment variable's, a ConfigMap file's), and
 *   a host name or image tag that needs replacing is a value.
 * - An object's identity stays: `apiVersion`, `kind`, `metadata.name`, `metadata.generateName` and
 *   `metadata.namespace` are never touched, so the preview's objects are the app's, by name (its
 *   namespace is the guard's to set).
 * - A Secret's `data` and a ConfigMap's `binaryData` are never touched: they are base64 bytes, in
 *   which a host name cannot be found as written, and which may not be text at all (a keystore).
 *   A Secret's `stringData`, plain text, is substituted like any other string.
 * - One pass, the longest key first where keys overlap at the same place (`web.example.com`
 *   before `example.com`), and text already replaced is never searched again, so the result does
 *   not depend on the order of `values` and a value may contain its own key.
 *
 * Pure: returns new objects (the rest of each entry, such as its source, kept). Throws
 * TemplateError when a value uses a variable `vars` does not give.
 */
export function substituteValues<T extends { obj: KubeObject }>(objects: readonly T[], values: Record<string, string>, vars: TemplateVars): Substitution<T> {
  const keys = Object.keys(values).filter((k) => k !== '');
  const counts: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  if (keys.length === 0) return { objects: objects.map((o) => ({ ...o, obj: structuredClone(o.obj) })), counts };
  const replacement = new Map(keys.map((k) => [k, expandTemplate(values[k] ?? '', vars)]));
  const pattern = new RegExp(
    [...keys]
      .sort((a, b) => b.length - a.length)
      .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  const replace = (text: string): string =>
    text.replace(pattern, (key) => {
      counts[key] = (counts[key] ?? 0) + 1;
      return replacement.get(key) ?? key;
    });
  const walk = (value: unknown, skip: readonly string[] = []): unknown => {
    if (typeof value === 'string') return replace(value);
    if (Array.isArray(value)) return value.map((item) => walk(item));
    if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, skip.includes(k) ? structuredClone(v) : walk(v)]));
    return value;
  };
  return {
    objects: objects.map((entry) => {
      const skip = [...IDENTITY, ...opaqueFields(entry.obj)];
      const fields = Object.entries(entry.obj).map(([key, value]) => {
        if (key === 'metadata') return [key, walk(value, METADATA_IDENTITY)];
        return [key, skip.includes(key) ? structuredClone(value) : walk(value)];
      });
      // Cast: walk() keeps every field's shape and copies the identity fields as they were, so what KubeObject requires still holds.
      return { ...entry, obj: Object.fromEntries(fields) as KubeObject };
    }),
    counts,
  };
}
