import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { safeUrl, type GitSource } from '../forges/clone.js';
import { SyncError } from './errors.js';
import { run } from './exec.js';

/** Options of {@link createGit}. */
export interface GitOptions {
  /** Mirrors live in `<dataDir>/mirrors`, working copies in `<dataDir>/work`. */
  dataDir: string;
  /** Bound on every git command. */
  timeoutMs: number;
  /** The git executable. */
  git?: string;
}

/** A checked-out commit; `dispose()` removes it. */
export interface Checkout {
  dir: string;
  sha: string;
  dispose(): Promise<void>;
}

/** Git operations a sync needs, over cached bare mirrors. */
export interface Git {
  /** The commit a branch points at on the remote now, or undefined if the branch does not exist. */
  resolveBranch(source: GitSource, branch: string): Promise<string | undefined>;
  /** A working copy of exactly `sha` (fetched into the mirror first if needed). */
  checkout(source: GitSource, sha: string): Promise<Checkout>;
  /** Expands an abbreviated sha (Bitbucket Cloud pull requests) once it is in the mirror. */
  expandSha(source: GitSource, shortSha: string): Promise<string | undefined>;
  /** The commit a branch, a tag (peeled) or a full sha names on the remote, or undefined. */
  resolveRef(source: GitSource, ref: string): Promise<string | undefined>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/**
 * Git over cached bare mirrors, one per repository URL. Fetches are shallow and by exact sha.
 * Credentials travel as an `http.extraHeader` in environment variables (GIT_CONFIG_*), never in
 * a process argument or a URL, and git never prompts. Commands run without a shell, with timeouts.
 */
export function createGit(options: GitOptions): Git {
  const git = options.git ?? 'git';
  const locks = new Map<string, Promise<unknown>>();

  /** Serialises work on one mirror within this process; git's own lock files guard across processes. */
  function withMirrorLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(dir) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    locks.set(dir, next);
    return next.finally(() => {
      if (locks.get(dir) === next) locks.delete(dir);
    });
  }

  function env(source: GitSource, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
      LC_ALL: 'C',
      ...extra,
    };
    if (source.authorization) {
      base.GIT_CONFIG_COUNT = '1';
      base.GIT_CONFIG_KEY_0 = 'http.extraHeader';
      base.GIT_CONFIG_VALUE_0 = `Authorization: ${source.authorization}`;
    }
    return base;
  }

  async function gitRun(source: GitSource, args: string[], extraEnv?: NodeJS.ProcessEnv, cwd?: string) {
    try {
      return await run(git, args, { env: env(source, extraEnv), timeoutMs: options.timeoutMs, ...(cwd ? { cwd } : {}) });
    } catch (err) {
      if (err instanceof SyncError && err.code === 'COMMAND_FAILED') {
        const stderr = 'stderr' in err && typeof err.stderr === 'string' ? err.stderr : '';
        const transient = /Could not resolve host|Connection (refused|reset|timed out)|timed out|502|503|504|early EOF|remote end hung up/i.test(stderr);
        throw new SyncError('GIT_FAILED', `git ${args[0]} of ${safeUrl(source.url)} failed: ${firstLines(stderr)}`, transient, { cause: err });
      }
      throw err;
    }
  }

  async function mirror(source: GitSource): Promise<string> {
    const dir = join(options.dataDir, 'mirrors', `${createHash('sha256').update(source.url).digest('hex').slice(0, 24)}.git`);
    const exists = await stat(join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dir, { recursive: true });
      await gitRun(source, ['init', '--bare', '--quiet', dir]);
    }
    return dir;
  }

  async function hasCommit(source: GitSource, dir: string, sha: string): Promise<boolean> {
    try {
      await gitRun(source, ['--git-dir', dir, 'cat-file', '-e', `${sha}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  // Every git process costs the worker more than the process itself: spawning forks this
  // (large) process, which blocks its event loop for milliseconds each time (the burst benchmark
  // measured ~7 ms a spawn, the largest single cost of a worker under load). So a checkout
  // runs as few as it can: the commit is looked for once, and only checked again if it fails.
  async function fetchSha(source: GitSource, dir: string, sha: string): Promise<void> {
    if (await hasCommit(source, dir, sha)) return;
    await gitRun(source, ['--git-dir', dir, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--depth=1', source.url, sha]);
  }

  function commitMissing(source: GitSource, sha: string): SyncError {
    return new SyncError('COMMIT_MISSING', `commit ${sha} is not in ${safeUrl(source.url)}`);
  }

  return {
    async resolveBranch(source, branch) {
      const { stdout } = await gitRun(source, ['ls-remote', '--heads', source.url, `refs/heads/${branch}`]);
      const line = stdout.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
      return line?.split('\t')[0];
    },

    async resolveRef(source, ref) {
      if (FULL_SHA.test(ref)) return ref;
      const name = ref.replace(/^refs\/(heads|tags)\//, '');
      const { stdout } = await gitRun(source, ['ls-remote', source.url, `refs/heads/${name}`, `refs/tags/${name}`, `refs/tags/${name}^{}`]);
      const lines = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [sha = '', name = ''] = l.split('\t');
          return [sha, name] as const;
        });
      // A branch first; an annotated tag's peeled commit (`^{}`) over the tag object itself.
      const pick = (suffix: string) => lines.find(([, r]) => r === suffix)?.[0];
      return pick(`refs/heads/${name}`) ?? pick(`refs/tags/${name}^{}`) ?? pick(`refs/tags/${name}`);
    },

    async expandSha(source, shortSha) {
      if (FULL_SHA.test(shortSha)) return shortSha;
      const dir = await mirror(source);
      return withMirrorLock(dir, async () => {
        try {
          const { stdout } = await gitRun(source, ['--git-dir', dir, 'rev-parse', '--verify', '--quiet', `${shortSha}^{commit}`]);
          return stdout.trim() || undefined;
        } catch {
          return undefined;
        }
      });
    },

    async checkout(source, sha) {
      if (!FULL_SHA.test(sha)) throw new SyncError('BAD_SHA', `"${sha}" is not a full commit sha`);
      const dir = await mirror(source);
      await withMirrorLock(dir, () => fetchSha(source, dir, sha));
      await mkdir(join(options.dataDir, 'work'), { recursive: true });
      const work = await mkdtemp(join(options.dataDir, 'work', `${sha.slice(0, 12)}-`));
      const tree = join(work, 'tree');
      await mkdir(tree);
      const dispose = () => rm(work, { recursive: true, force: true });
      try {
        // A private index per checkout: concurrent checkouts of one mirror never share state.
        // `read-tree --reset -u` reads the commit's tree and writes the files in one process.
        const indexEnv = { GIT_INDEX_FILE: join(work, 'index') };
        await gitRun(source, ['--git-dir', dir, '--work-tree', tree, 'read-tree', '--reset', '-u', sha], indexEnv);
      } catch (err) {
        await dispose();
        // A fetch that succeeded without bringing the commit: say so, rather than how read-tree failed.
        if (!(await hasCommit(source, dir, sha))) throw commitMissing(source, sha);
        throw err;
      }
      return { dir: tree, sha, dispose };
    },
  };
}

function firstLines(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(0, 4).join(' / ') || 'no error output';
}
