import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SyncError } from '../errors.js';

/** Whether `child` is `root` or below it. Both must be absolute and normalised. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * Refuses a checkout holding any symlink whose target resolves outside the checkout, before any
 * renderer can follow it (kustomize, helm and a directory walk all would). Names the link.
 */
export async function assertNoEscapingSymlinks(root: string): Promise<void> {
  const realRoot = await realpath(root);
  const pending = [realRoot];
  let dir: string | undefined;
  while ((dir = pending.pop()) !== undefined) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await readlink(full);
        const resolved = resolve(dirname(full), target);
        // Resolve through any further links; a dangling link is judged by where it points.
        const real = await realpath(resolved).catch(() => resolved);
        if (!isInside(realRoot, real)) {
          throw new SyncError(
            'SYMLINK_ESCAPES',
            `symlink ${relative(realRoot, full)} points outside the repository (to ${target}); remove it or point it inside`,
            false,
            {
              file: relative(realRoot, full),
            },
          );
        }
      } else if (entry.isDirectory()) {
        if (entry.name === '.git') continue;
        pending.push(full);
      }
    }
  }
}

/** Resolves an app's `path` inside a checkout, refusing anything that leaves it. */
export async function resolveAppPath(root: string, path: string): Promise<string> {
  const realRoot = await realpath(root);
  const target = resolve(realRoot, path);
  if (!isInside(realRoot, target)) throw new SyncError('PATH_ESCAPES', `path "${path}" leaves the repository`);
  const info = await lstat(target).catch(() => undefined);
  if (!info) throw new SyncError('PATH_MISSING', `path "${path}" does not exist in this commit`);
  const real = await realpath(target);
  if (!isInside(realRoot, real)) throw new SyncError('PATH_ESCAPES', `path "${path}" resolves outside the repository`);
  if (!(await lstat(real)).isDirectory()) throw new SyncError('PATH_NOT_DIRECTORY', `path "${path}" is not a directory`);
  return real;
}
