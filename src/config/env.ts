import { parse } from 'yaml';
import { isForgeId } from './schema.js';

/** Top-level sections an environment variable may set. */
const SECTIONS = ['server', 'redis', 'forges', 'clusters', 'apps', 'worker', 'notifications'];

/** Keys whose values are lists of strings: a comma-separated variable fills them. */
const LIST_KEYS = new Set(['apiTokens', 'webhookSecret', 'signingToken', 'allowedNamespaces', 'valuesFiles', 'events', 'scopes']);

/** `PUBLIC_URL` → `publicUrl`; forge ids keep their dash (`BITBUCKET_SERVER` → `bitbucket-server`). */
function segmentKey(segment: string): string | number {
  if (/^\d+$/.test(segment)) return Number(segment);
  const lower = segment.toLowerCase();
  const forge = lower.replaceAll('_', '-');
  if (isForgeId(forge)) return forge;
  return lower.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A variable's value: YAML for `[...]`/`{...}`, a comma list for list keys, else the string. */
function value(key: string | number, raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parse(trimmed, { maxAliasCount: 10 });
  if (typeof key === 'string' && LIST_KEYS.has(key))
    return trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return raw;
}

/**
 * Configuration from `LANDFALL_*` variables, so a container needs no templated file. The part
 * after `LANDFALL_` is a path whose segments are separated by `__`; within a segment words are
 * separated by `_` and become camelCase: `LANDFALL_SERVER__PUBLIC_URL` is `server.publicUrl`,
 * `LANDFALL_FORGES__GITHUB__WEBHOOK_SECRET` is `forges.github.webhookSecret`,
 * `LANDFALL_APPS__0__BRANCH` is `apps[0].branch`. A whole section may be given as YAML:
 * `LANDFALL_APPS='[{name: web, ...}]'`. Variables without `__` (LANDFALL_CONFIG, LANDFALL_HELM, ...)
 * are not configuration, unless they name a whole section.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): { config: Record<string, unknown>; names: string[]; paths: Map<string, string> } {
  const config: Record<string, unknown> = {};
  const names: string[] = [];
  const paths = new Map<string, string>();
  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (raw === undefined || !name.startsWith('LANDFALL_')) continue;
    const rest = name.slice('LANDFALL_'.length);
    const segments = rest.split('__').filter(Boolean);
    if (segments.length === 0) continue;
    const section = segmentKey(segments[0] ?? '');
    if (segments.length === 1 && !SECTIONS.includes(String(section))) continue;
    if (!SECTIONS.includes(String(section))) continue;
    const path = segments.map(segmentKey);
    let node: Record<string | number, unknown> = config;
    for (const [i, key] of path.entries()) {
      if (i === path.length - 1) {
        node[key] = value(key, raw);
      } else {
        const nextIsIndex = typeof path[i + 1] === 'number';
        const existing = node[key];
        if (existing === undefined || typeof existing !== 'object' || existing === null) node[key] = nextIsIndex ? [] : {};
        node = node[key] as Record<string | number, unknown>; // set to an object or array just above
      }
    }
    names.push(name);
    paths.set(
      path
        .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
        .join('')
        .replace(/^\./, '')
        .replace(/\.\[/g, '['),
      name,
    );
  }
  return { config, names, paths };
}

/** Deep-merges `over` into `base`: objects merge key by key, arrays merge index by index, scalars replace. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (Array.isArray(over)) {
    const out: unknown[] = Array.isArray(base) ? Array.from<unknown>(base) : [];
    over.forEach((item, i) => {
      if (item !== undefined) out[i] = mergeConfig(out[i], item);
    });
    return out;
  }
  if (over !== null && typeof over === 'object') {
    const out: Record<string, unknown> = base !== null && typeof base === 'object' && !Array.isArray(base) ? Object.fromEntries(Object.entries(base)) : {};
    for (const [k, v] of Object.entries(over)) out[k] = mergeConfig(out[k], v);
    return out;
  }
  return over;
}
