import { createHash } from 'node:crypto';
import { expandTemplate, previewName, type TemplateVars } from '../config/previews.js';
import type { AppConfig, PreviewsConfig } from '../config/schema.js';

/** A Kubernetes namespace name is a DNS-1123 label: at most this long. */
const MAX_LABEL = 63;
/** Hex digits of the hash a cut name ends with: 2^32 names before two long ones may meet. */
const HASH_DIGITS = 8;

function checkNumber(number: number): void {
  if (!Number.isSafeInteger(number) || number < 1) throw new RangeError(`a pull request number is a positive whole number, not ${number}`);
}

/** The app's `previews:` block; throws for an app without one (nothing of it can be previewed). */
export function previewsOf(app: Pick<AppConfig, 'name' | 'previews'>): PreviewsConfig {
  if (!app.previews) throw new Error(`app "${app.name}" has no previews: block; add one to preview its pull requests`);
  return app.previews;
}

/**
 * `text` as a DNS-1123 label: lowercased, each run of other characters than `a-z`, `0-9` and `-`
 * made one `-`, no `-` at either end. Longer than 63 characters, it is cut and ends with `-` and
 * a hash of the whole label, so two long names that share their first 54 characters still differ.
 */
export function dnsLabel(text: string): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (label.length <= MAX_LABEL) return label;
  const hash = createHash('sha256').update(label).digest('hex').slice(0, HASH_DIGITS);
  return `${label.slice(0, MAX_LABEL - HASH_DIGITS - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The namespace the preview of pull request `number` runs in: `previews.namespace` with `{app}`
 * and `{number}` replaced, made a DNS-1123 label by {@link dnsLabel}. Stable for the life of the
 * pull request (it depends on no commit). Throws for an app without previews or a number that is
 * not a pull request's.
 */
export function previewNamespace(app: Pick<AppConfig, 'name' | 'previews'>, number: number): string {
  checkNumber(number);
  return dnsLabel(expandTemplate(previewsOf(app).namespace, { app: app.name, number: String(number) }));
}

/**
 * The name a preview's records, inventory and labels use in place of the app's: `<app>-pr-<n>`.
 * A DNS label (app names are labels of at most 30 characters), unique among previews, and never
 * another app's name: the config loader refuses an app so named (src/config/previews.ts).
 */
export function previewAppName(app: Pick<AppConfig, 'name'>, number: number): string {
  checkNumber(number);
  return previewName(app.name, number);
}

/**
 * The forge environment a preview is reported in (a GitHub Deployment's environment, a GitLab
 * environment): `<app>-pr-<n>`. The same text as {@link previewAppName} today; each names its own
 * thing so either can change alone.
 */
export function environmentName(app: Pick<AppConfig, 'name'>, number: number): string {
  checkNumber(number);
  return previewName(app.name, number);
}

/** The first 7 characters of a commit sha, as Landfall shows commits everywhere. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * Everything a preview template may use for pull request `number` at commit `sha`: `{app}`,
 * `{number}`, `{namespace}` (from {@link previewNamespace}), `{sha}`, `{shortSha}`.
 */
export function previewVars(app: Pick<AppConfig, 'name' | 'previews'>, number: number, sha: string): Required<TemplateVars> {
  if (!/^[0-9a-f]{7,64}$/.test(sha)) throw new Error(`"${sha}" is not a commit sha`);
  return { app: app.name, number: String(number), namespace: previewNamespace(app, number), sha, shortSha: shortSha(sha) };
}

/** Where the preview answers (`previews.url` expanded), or undefined when the app sets no URL. */
export function previewUrl(app: Pick<AppConfig, 'name' | 'previews'>, number: number, sha: string): string | undefined {
  const template = previewsOf(app).url;
  return template === undefined ? undefined : expandTemplate(template, previewVars(app, number, sha));
}
