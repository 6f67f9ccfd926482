import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SyncError } from '../errors.js';
import { addObject, parseManifests } from './parse.js';
import type { RenderedObject, RenderLimits } from './types.js';
import { errorMessage } from '../../unknown.js';

const MANIFEST = /\.(ya?ml|json)$/i;

/**
 * Reads every `*.yaml`, `*.yml` and `*.json` below `dir` in sorted order (byte order of the
 * relative path, so the result never depends on the file system). Dot-files and dot-directories
 * (`.github/`, `.gitlab-ci.yml`) are not manifests and are skipped.
 */
export async function renderPlain(root: string, dir: string, limits: RenderLimits): Promise<RenderedObject[]> {
  const files = await listManifests(dir);
  const objects: RenderedObject[] = [];
  let bytes = 0;
  for (const file of files) {
    const label = relative(root, file);
    const size = (await stat(file)).size;
    bytes += size;
    if (bytes > limits.maxBytes) {
      throw new SyncError('TOO_LARGE', `manifests exceed ${limits.maxBytes} bytes (at ${label}); raise worker.maxManifestBytes if this is intended`, false, {
        file: label,
      });
    }
    const text = await readFile(file, 'utf8');
    if (/\.json$/i.test(file)) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new SyncError('JSON_INVALID', `${label}: ${errorMessage(err)}`, false, { file: label });
      }
      addObject(value, `${label}#1`, objects, limits.maxObjects);
    } else {
      parseManifests(text, label, objects, limits.maxObjects);
    }
  }
  return objects;
}

/** The manifest files {@link renderPlain} reads below `dir`, in its order. */
export async function listManifests(dir: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [dir];
  let current: string | undefined;
  while ((current = pending.pop()) !== undefined) {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(current, entry.name);
      // Symlinks were vetted by the guard; follow them to what they name.
      const kind = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
      if (!kind) continue;
      if (kind.isDirectory()) pending.push(full);
      else if (kind.isFile() && MANIFEST.test(entry.name)) files.push(full);
    }
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
