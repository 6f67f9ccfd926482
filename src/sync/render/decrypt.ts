import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { AppConfig } from '../../config/schema.js';
import { identitiesFor, type AgeKeyring } from '../../decrypt/keys.js';
import { decryptSops, looksEncrypted, SopsError, sopsFormatOf, type UsableIdentity } from '../../decrypt/sops.js';
import { withPrivateDir } from '../../decrypt/workdir.js';
import { SyncError } from '../errors.js';
import { isInside } from './guard.js';
import { findKustomization } from './kustomize.js';
import { listManifests } from './plain.js';
import type { RenderLimits, RenderMode } from './types.js';

/** What decrypting SOPS files at render time needs. */
export interface RenderDecryption {
  /** The worker's age identities. */
  keys: AgeKeyring;
  /** Where private working directories are made ({@link decryptRoot}). */
  workRoot: string;
}

/**
 * Renders with SOPS-encrypted files decrypted. The files the renderer reads are checked (plain
 * manifests, `helm.valuesFiles`, and what a kustomization's `resources` and `secretGenerator`
 * name); when none is encrypted, `render` runs on the checkout itself. Otherwise the repository
 * is copied to a private directory (mode 0700), the encrypted files are replaced there by their
 * plaintext, `render` runs on the copy, and the copy is removed whatever the outcome. A file that
 * cannot be decrypted fails the render, named, before anything runs.
 */
export async function withDecryptedFiles<T>(
  root: string,
  dir: string,
  mode: RenderMode,
  app: AppConfig,
  limits: RenderLimits,
  decryption: RenderDecryption | undefined,
  render: (root: string, dir: string) => Promise<T>,
): Promise<T> {
  const encrypted: { file: string; text: string }[] = [];
  for (const file of await filesRead(root, dir, mode, app)) {
    const size = await stat(file).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    if (size < 0 || size > limits.maxBytes) continue;
    const text = await readFile(file, 'utf8');
    if (looksEncrypted(text)) encrypted.push({ file, text });
  }
  if (encrypted.length === 0) return render(root, dir);

  const identities: UsableIdentity[] = decryption ? await identitiesFor(decryption.keys, app.decryption?.recipients) : [];
  const plaintexts: { rel: string; text: string }[] = [];
  for (const { file, text } of encrypted) {
    const rel = relative(root, file);
    try {
      plaintexts.push({ rel, text: await decryptSops(text, sopsFormatOf(file), identities) });
    } catch (err) {
      if (err instanceof SopsError) throw new SyncError(err.code, `${rel}: ${err.message}`, false, { file: rel });
      throw err;
    }
  }
  const workRoot = decryption?.workRoot;
  if (!workRoot) throw new SyncError('SOPS_NO_IDENTITY', 'decryption is not set up in this process');
  // What a renderer's error could echo (helm and kustomize quote the lines they fail on): the
  // decrypted values are cut out of any error before it reaches a record, a status or a log.
  const secrets = plaintexts.flatMap((p) => secretValues(p.text));
  return withPrivateDir(workRoot, async (priv) => {
    const copy = join(priv, 'repo');
    await cp(root, copy, { recursive: true, verbatimSymlinks: true, filter: (src) => basename(src) !== '.git' || dirname(src) !== root });
    for (const { rel, text } of plaintexts) await writeFile(join(copy, rel), text, { mode: 0o600 });
    plaintexts.length = 0;
    try {
      return await render(copy, join(copy, relative(root, dir)));
    } catch (err) {
      throw redact(err, secrets);
    }
  });
}

/** Values shorter than this are not cut out of errors: they would match ordinary words. */
const MIN_SECRET_CHARS = 4;

/** The values in a decrypted file: every string of a YAML or JSON document, every value of a dotenv or INI line. */
export function secretValues(text: string): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length >= MIN_SECRET_CHARS) found.add(value);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  try {
    walk(parse(text));
  } catch {
    // Not YAML: dotenv or INI lines below.
  }
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0)
      walk(
        line
          .slice(at + 1)
          .trim()
          .replace(/^(["'])(.*)\1$/, '$2'),
      );
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** The error with every secret value in its message and stack replaced by `[redacted]`. */
function redact(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof Error) || secrets.length === 0) return err;
  const cut = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  err.message = cut(err.message);
  if (err.stack) err.stack = cut(err.stack);
  return err;
}

/** The files a renderer reads that may be SOPS-encrypted. */
async function filesRead(root: string, dir: string, mode: RenderMode, app: AppConfig): Promise<string[]> {
  switch (mode) {
    case 'plain':
      return listManifests(dir);
    case 'helm':
      return (app.helm?.valuesFiles ?? []).map((f) => resolve(root, f)).filter((f) => isInside(root, f));
    case 'kustomize': {
      const out = new Set<string>();
      await kustomizeInputs(root, dir, out, new Set());
      return [...out];
    }
  }
}

/** `resources` files and `secretGenerator` inputs of a kustomization and those it reaches. */
async function kustomizeInputs(root: string, dir: string, out: Set<string>, seen: Set<string>): Promise<void> {
  if (seen.has(dir)) return;
  seen.add(dir);
  const file = await findKustomization(dir);
  if (!file) return;
  let doc: Record<string, unknown>;
  try {
    // Cast: a kustomization file; every field read below is checked with Array.isArray/typeof first.
    doc = (parse(await readFile(file, 'utf8'), { maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  } catch {
    return; // kustomize itself reports it
  }
  const add = (entry: unknown) => {
    if (typeof entry !== 'string') return;
    const target = resolve(dir, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : entry);
    if (isInside(root, target)) out.add(target);
  };
  for (const gen of Array.isArray(doc.secretGenerator) ? doc.secretGenerator : []) {
    // Cast: a secretGenerator entry of a kustomization; each field is checked with Array.isArray/typeof below.
    const g = (gen ?? {}) as { files?: unknown; envs?: unknown; env?: unknown };
    for (const f of Array.isArray(g.files) ? g.files : []) add(f);
    for (const f of Array.isArray(g.envs) ? g.envs : []) add(f);
    add(g.env);
  }
  for (const field of ['resources', 'bases', 'components']) {
    const entries: unknown = doc[field];
    for (const entry of Array.isArray(entries) ? entries : []) {
      if (typeof entry !== 'string') continue;
      const target = resolve(dir, entry);
      if (!isInside(root, target)) continue;
      const kind = await stat(target).catch(() => undefined);
      if (kind?.isDirectory()) await kustomizeInputs(root, target, out, seen);
      else if (kind?.isFile()) out.add(target);
    }
  }
}
