import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A file's content, `null` to delete it, or `{ symlink }` to make a link. */
export type FileSpec = string | null | { symlink: string };

/** A real git repository on disk, served over file://, for tests to push to. */
export interface TestRepo {
  /** The bare repository's URL. */
  url: string;
  bare: string;
  /** Commits the given changes on `branch` and pushes; returns the new sha. */
  commit(files: Record<string, FileSpec>, message?: string, branch?: string): Promise<string>;
  /** An annotated tag on `ref`'s head (a branch), pushed. */
  tag(name: string, ref?: string): Promise<void>;
  /** Points `branch` at `sha` on the remote (a force-push, e.g. a rollback). */
  forcePush(sha: string, branch?: string): Promise<void>;
  /** The sha `branch` points at on the remote. */
  head(branch?: string): Promise<string>;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

/**
 * Creates a bare repository and a working clone in a temp dir, removed at teardown. With
 * `remote` (a real forge's clone URL, credentials in it) the clone pushes there instead, and
 * `bare` is empty.
 */
export async function createRepo(t: Teardown, name = 'repo', options: { remote?: string } = {}): Promise<TestRepo> {
  const root = await mkdtemp(join(tmpdir(), `landfall-${name}-`));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const bare = options.remote ? '' : join(root, `${name}.git`);
  const work = join(root, 'work');
  if (!options.remote) await exec('git', ['init', '--bare', '--quiet', '--initial-branch=main', bare], { env: GIT_ENV });
  await exec('git', ['init', '--quiet', '--initial-branch=main', work], { env: GIT_ENV });
  await git(work, 'remote', 'add', 'origin', options.remote ?? bare);
  let current = 'main';
  return {
    url: options.remote ?? `file://${bare}`,
    bare,
    async commit(files, message = 'change', branch = 'main') {
      if (branch !== current) {
        const exists = await git(work, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`).then(
          () => true,
          () => false,
        );
        await git(work, 'checkout', '--quiet', ...(exists ? [branch] : ['-b', branch]));
        current = branch;
      }
      for (const [path, spec] of Object.entries(files)) {
        const full = join(work, path);
        if (spec === null) {
          await rm(full, { force: true, recursive: true });
          continue;
        }
        await mkdir(dirname(full), { recursive: true });
        await rm(full, { force: true });
        if (typeof spec === 'string') await writeFile(full, spec);
        else await symlink(spec.symlink, full);
      }
      await git(work, 'add', '--all');
      await git(work, 'commit', '--quiet', '--allow-empty', '-m', message);
      await git(work, 'push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`);
      return git(work, 'rev-parse', 'HEAD');
    },
    async forcePush(sha, branch = 'main') {
      await git(work, 'push', '--quiet', '--force', 'origin', `${sha}:refs/heads/${branch}`);
    },
    async tag(name, ref = 'main') {
      await git(work, 'tag', '--annotate', '-m', name, name, ref === current ? 'HEAD' : `origin/${ref}`);
      await git(work, 'push', '--quiet', 'origin', `refs/tags/${name}`);
    },
    async head(branch = 'main') {
      if (options.remote) return (await git(work, 'ls-remote', 'origin', `refs/heads/${branch}`)).split(/\s/)[0] ?? '';
      return git(bare, 'rev-parse', `refs/heads/${branch}`);
    },
  };
}
