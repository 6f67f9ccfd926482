import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configFromEnv, mergeConfig } from './env.js';
import { previewOf } from './previews.js';
import { configSchema, FORGE_IDS, isForgeId, KNOWN_KEYS, type Config } from './schema.js';

/** One thing wrong with a configuration, with the path a person can find it by (`apps[2].branch`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Thrown when a configuration cannot be used; lists every problem found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Which file to read: `--config`, else `LANDFALL_CONFIG`, else `./landfall.yaml`. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.LANDFALL_CONFIG ?? 'landfall.yaml';
}

/**
 * Reads, interpolates and validates a configuration file, with `LANDFALL_*` variables laid over
 * it. The file may be missing only when it was not asked for by name and the variables configure
 * Landfall on their own. Throws {@link ConfigError}.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: { optional?: boolean } = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : undefined;
    if (code === 'ENOENT' && options.optional && configFromEnv(env).names.length > 0) return parseConfig('{}', env, 'LANDFALL_* variables');
    const hint =
      code === 'ENOENT' ? 'file not found; copy landfall.example.yaml to landfall.yaml or pass --config FILE' : `cannot read it (${code ?? String(err)})`;
    throw new ConfigError(file, [{ path: '', message: hint }]);
  }
  return parseConfig(text, env, file);
}

/** Validates configuration text. `file` only labels the errors. Throws {@link ConfigError}. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, file = 'landfall.yaml'): Config {
  // A small alias budget: a configuration file has no business expanding into megabytes.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : '', message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 50 }) ?? {};
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: err instanceof Error ? err.message : String(err) }]);
  }
  const problems: ConfigProblem[] = [];
  // Variables override the file; their values are taken literally (no ${} interpolation).
  const fromEnv = configFromEnv(env);
  const interpolated = mergeConfig(interpolate(raw, [], env, problems), fromEnv.config);
  const parsed = configSchema.safeParse(interpolated);
  // A variable that is not set is one problem, not also "must be a whole number" at the same place.
  const unset = new Set(problems.map((p) => p.path));
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap(describeIssue).filter((p) => !unset.has(p.path)));
  problems.push(...crossCheck(interpolated));
  if (problems.length > 0 || !parsed.success) {
    // Say which variable a problem came from, when it came from one.
    const named = problems.map((p) => {
      const source = [...fromEnv.paths].find(([path]) => p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`))?.[1];
      return source ? { ...p, message: `${p.message} (from ${source})` } : p;
    });
    throw new ConfigError(file, dedupe(named));
  }
  return parsed.data;
}

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string value from the environment.
 * `$$` is a literal `$`. Interpolating values rather than the raw text means a secret that
 * contains YAML syntax can never change the structure of the file.
 */
function interpolate(value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, problems: ConfigProblem[]): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const found = name === undefined ? undefined : env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, [...path, i], env, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], env, problems)]));
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const hint = suggest(key);
      return { path: formatPath([...issue.path, key]), message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` };
    });
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return [{ path: formatPath(issue.path), message: 'required' }];
  }
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest rather than zod's generic "invalid input".
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.find((b) => b.every((i) => i.code !== 'invalid_type')) ?? branches[0];
    // zod types a union branch's issues without the union's path; with the path prepended they are whole issues again.
    if (best) return best.flatMap((inner) => describeIssue({ ...inner, path: [...issue.path, ...inner.path] }));
  }
  const message = issue.message.replace(/^Invalid input: expected (\w+), received (\w+)$/, 'must be a $1, not a $2');
  return [{ path: formatPath(issue.path), message }];
}

/** Checks that relate one part of the file to another; run on the raw input so they are reported alongside field errors. */
function crossCheck(raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const root = asRecord(raw);
  const forges = asRecord(root.forges);
  const clusters = root.clusters === undefined ? { default: {} } : asRecord(root.clusters);
  for (const id of FORGE_IDS) {
    if (!(id in forges)) continue;
    const forge = asRecord(forges[id]);
    const hasSecret = forge.webhookSecret !== undefined || (id === 'gitlab' && forge.signingToken !== undefined);
    const insecure = forge.insecureNoSignature === true || forge.insecureNoSignature === 'true';
    if (!hasSecret && !insecure) {
      problems.push({
        path: formatPath(['forges', id, 'webhookSecret']),
        message:
          id === 'gitlab'
            ? 'required: set webhookSecret (sent as X-Gitlab-Token) or signingToken, or say insecureNoSignature: true to accept unsigned webhooks'
            : 'required: set the webhook secret, or say insecureNoSignature: true to accept unsigned webhooks',
      });
    }
  }
  const redis = asRecord(root.redis);
  if (Array.isArray(redis.cluster) && redis.cluster.length > 0) {
    if (typeof redis.prefix !== 'string' || !/^\{.+\}$/.test(redis.prefix)) {
      problems.push({ path: 'redis.prefix', message: 'with Redis Cluster, must be one hash tag such as {landfall}, so that every key lands in one slot' });
    }
    if (Array.isArray(redis.sentinels)) problems.push({ path: 'redis.sentinels', message: 'choose Sentinel or Cluster, not both' });
  }
  if (Array.isArray(redis.sentinels) && !redis.name) problems.push({ path: 'redis.name', message: "required with sentinels: the master group's name" });
  const apps = Array.isArray(root.apps) ? root.apps : [];
  const names = new Map<string, number>();
  const withPreviews = new Map<string, number>();
  apps.forEach((entry, i) => {
    const app = asRecord(entry);
    if (typeof app.name === 'string' && app.previews !== undefined && !withPreviews.has(app.name)) withPreviews.set(app.name, i);
  });
  apps.forEach((entry, i) => {
    const app = asRecord(entry);
    if (typeof app.name === 'string') {
      const first = names.get(app.name);
      if (first !== undefined) problems.push({ path: `apps[${i}].name`, message: `"${app.name}" is already used by apps[${first}]` });
      else names.set(app.name, i);
      // A preview's records and inventory go by `<app>-pr-<n>`: no app may be called that.
      const preview = previewOf(app.name);
      const owner = preview && withPreviews.get(preview.app);
      if (preview && owner !== undefined) {
        problems.push({
          path: `apps[${i}].name`,
          message: `"${app.name}" is the name the preview of pull request ${preview.number} of apps[${owner}] ("${preview.app}") goes by; rename this app`,
        });
      }
    }
    if (typeof app.forge === 'string' && isForgeId(app.forge) && !(app.forge in forges)) {
      problems.push({ path: `apps[${i}].forge`, message: `forge "${app.forge}" is not configured; add a forges.${app.forge} section` });
    }
    const cluster = typeof app.cluster === 'string' ? app.cluster : 'default';
    if (!(cluster in clusters)) {
      problems.push({
        path: `apps[${i}].cluster`,
        message: `cluster "${cluster}" is not defined under clusters (defined: ${Object.keys(clusters).join(', ') || 'none'})`,
      });
    }
    if (typeof app.repo === 'string' && /^[^/\s]+(\/[^/\s]+)+$/.test(app.repo)) {
      const segments = app.repo.split('/').length;
      if (app.forge === 'bitbucket-server' && segments !== 2)
        problems.push({ path: `apps[${i}].repo`, message: 'must be PROJECT/slug for Bitbucket Data Center' });
      if ((app.forge === 'github' || app.forge === 'bitbucket' || app.forge === 'gitea') && segments !== 2) {
        problems.push({ path: `apps[${i}].repo`, message: 'must be owner/name' });
      }
    }
    const previews = asRecord(app.previews);
    if (app.previews !== undefined && (app.forge === 'bitbucket' || app.forge === 'bitbucket-server') && (previews.trigger ?? 'label') === 'label') {
      problems.push({
        path: `apps[${i}].previews.trigger`,
        message: 'Bitbucket pull requests have no labels: set trigger: all (every pull request into the branch gets a preview)',
      });
    }
    const namespace = typeof app.namespace === 'string' ? app.namespace : undefined;
    if (namespace && Array.isArray(app.allowedNamespaces) && !app.allowedNamespaces.includes(namespace)) {
      problems.push({ path: `apps[${i}].allowedNamespaces`, message: `must include the app's own namespace "${namespace}"` });
    }
  });
  // A group mapping's apps must be apps of this file, or a typo quietly grants nothing.
  const groups = asRecord(asRecord(root.server).auth).groups;
  if (Array.isArray(groups)) {
    groups.forEach((entry, i) => {
      const apps = asRecord(entry).apps;
      if (!Array.isArray(apps)) return;
      apps.forEach((name, j) => {
        if (typeof name === 'string' && !names.has(name)) {
          problems.push({
            path: `server.auth.groups[${i}].apps[${j}]`,
            message: `"${name}" is not an app of this configuration (apps: ${[...names.keys()].join(', ') || 'none'})`,
          });
        }
      });
    });
  }
  return problems;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : {};
}

/** Renders a path the way the file reads: `apps[2].branch`, `forges.bitbucket-server.url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(part))) out += out ? `.${String(part)}` : String(part);
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function suggest(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
