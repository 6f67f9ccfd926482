import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode } from '../unknown.js';

/**
 * Where decrypted files live while Kustomize or Helm read them: one private directory (mode
 * 0700) per render below this root, named `<pid>-<process start id>-<random>`, removed when the render ends
 * whatever its outcome. `LANDFALL_DECRYPT_DIR` moves the root (a memory-backed volume is best).
 */
export function decryptRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.LANDFALL_DECRYPT_DIR || join(tmpdir(), 'landfall-decrypt');
}

/** Tells this process from an earlier one with the same pid (a restarted container is pid 1 again). */
const START_ID = randomBytes(4).toString('hex');

/** Runs `fn` with a fresh private directory below `root`, removed afterwards in every outcome. */
export async function withPrivateDir<T>(root: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  const dir = await mkdtemp(join(root, `${process.pid}-${START_ID}-`));
  try {
    await chmod(dir, 0o700);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

/**
 * Crash recovery, run when a worker starts: removes the private directories a process that is
 * gone left behind (a worker killed mid-render, also one that had this process's pid before a
 * container restart). Directories of live processes (other workers on the same machine) and of
 * this process are left alone. Returns how many were removed.
 */
export async function removeLeftoverDirs(root: string = decryptRoot()): Promise<number> {
  const entries = await readdir(root).catch((): string[] => []);
  let removed = 0;
  for (const name of entries) {
    const m = /^(\d+)-([0-9a-f]+)-/.exec(name);
    const pid = Number(m?.[1]);
    if (m && pid === process.pid && m[2] === START_ID) continue;
    if (m && pid !== process.pid && alive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
