/**
 * A real Gitea for the tests, from the binary scripts/real/build.sh builds out of Gitea's Go
 * module (sqlite, no embedded assets: templates and options come from STATIC_ROOT_PATH). It runs
 * unattended on a free loopback port with its own work folder, an admin user and an API token
 * made by its own CLI, and is stopped by pid.
 *
 *   npm run gitea -- up      start (or reuse the running one), print where it is
 *   npm run gitea -- env     print `export LANDFALL_GITEA_...=` lines for a shell
 *   npm run gitea -- status  is it up?
 *   npm run gitea -- down    stop it, remove its files
 *
 * State lives under `$LANDFALL_REAL_RUN` (default ~/.cache/landfall/run), one folder per
 * checkout, so two checkouts on one machine never share or stop each other's Gitea.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (this file is scripts/real/gitea.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where a running Gitea's files live. */
export function giteaStateDir(): string {
  const base = process.env.LANDFALL_REAL_RUN ?? join(homedir(), '.cache', 'landfall', 'run');
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 8);
  return join(base, `gitea-${checkout}`);
}

/** What `up` leaves behind (gitea.json) for tests and people. */
export interface GiteaInfo {
  /** `1.26.0`, as `/api/v1/version` reports it. */
  version: string;
  /** http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  /** The site admin the CLI created, and its password (for git over HTTP). */
  user: string;
  password: string;
  /** An API token of the admin with every scope (`Authorization: token …`). */
  token: string;
  pid: number;
  /** The work folder: app.ini, data, repositories, log. */
  dir: string;
  /** How the binary came to be: "built in N s" or "cached". */
  build: string;
  startedAt: string;
}

/** The Gitea `up` left running for this checkout, or undefined. */
export function readGitea(dir = giteaStateDir()): GiteaInfo | undefined {
  const file = join(dir, 'gitea.json');
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as GiteaInfo;
  return alive(info.pid) ? info : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds (or finds cached) the Gitea binary; returns its folder and the build script's line. */
async function ensureBuilt(): Promise<{ dir: string; line: string }> {
  const script = join(REPO_ROOT, 'scripts/real/build.sh');
  const { stdout } = await run(script, ['gitea'], { maxBuffer: 16 * 1024 * 1024, timeout: 90 * 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('gitea ')) ?? '';
  const dir = (await run(script, ['dir', 'gitea'])).stdout.trim();
  return { dir, line };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The configuration of an unattended test Gitea: installed (INSTALL_LOCK) with generated
 * secrets, sqlite, loopback only, no SSH, mail, Actions, cron or indexers, and webhooks allowed
 * to loopback addresses (Landfall listens on 127.0.0.1).
 */
function appIni(o: { dir: string; port: number; staticRoot: string; secrets: Record<string, string> }): string {
  return `APP_NAME = Landfall test Gitea
RUN_MODE = prod
RUN_USER = ${userInfo().username}
WORK_PATH = ${o.dir}
${process.getuid?.() === 0 ? '; Gitea refuses root unless told; CI containers run as root.\nI_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\n' : ''}
[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = ${o.port}
ROOT_URL = http://127.0.0.1:${o.port}/
DOMAIN = 127.0.0.1
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false
OFFLINE_MODE = true
APP_DATA_PATH = ${join(o.dir, 'data')}
STATIC_ROOT_PATH = ${o.staticRoot}

[database]
DB_TYPE = sqlite3
PATH = ${join(o.dir, 'data', 'gitea.db')}
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = ${join(o.dir, 'repositories')}
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = ${o.secrets.SECRET_KEY}
INTERNAL_TOKEN = ${o.secrets.INTERNAL_TOKEN}
PASSWORD_HASH_ALGO = pbkdf2

[oauth2]
JWT_SECRET = ${o.secrets.JWT_SECRET}

[service]
DISABLE_REGISTRATION = true

[webhook]
ALLOWED_HOST_LIST = loopback
SKIP_TLS_VERIFY = true
DELIVER_TIMEOUT = 10

[actions]
ENABLED = false

[mailer]
ENABLED = false

[cron]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[log]
MODE = file
LEVEL = Info
ROOT_PATH = ${join(o.dir, 'log')}
`;
}

/** Polls until `probe` is true; fails with the log's tail when it never is. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = logFile && existsSync(logFile) ? `\n--- ${logFile} (last lines)\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}` : '';
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last})` : ''}${tail}`);
}

/** Runs the gitea CLI against the test configuration; its output, trimmed. */
async function cli(bin: string, dir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(bin, ['--config', join(dir, 'custom', 'conf', 'app.ini'), '--work-path', dir, ...args], {
      cwd: dir,
      timeout: 120_000,
      maxBuffer: 4 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`gitea ${args.slice(0, 3).join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`, {
      cause: err,
    });
  }
}

/**
 * The last line a gitea command printed. As root, Gitea logs its "running as root" warning to
 * stdout before the value, even with `--raw`.
 */
function lastLine(stdout: string): string {
  return stdout.trim().split('\n').at(-1)?.trim() ?? '';
}

/** Serialises `up` across processes (parallel test files may ask at once). */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`another process holds ${lock}; remove it if no \`gitea up\` is running`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Starts Gitea, or returns the one already running for this checkout. */
export async function giteaUp(options: { log?: (line: string) => void } = {}): Promise<GiteaInfo> {
  const say = options.log ?? ((line: string) => console.log(line));
  const dir = giteaStateDir();
  return withLock(dir, async () => {
    const existing = readGitea(dir);
    if (existing) {
      say(`gitea already running: ${existing.url} (gitea ${existing.version})`);
      return existing;
    }
    await giteaDown({ quiet: true });
    const built = await ensureBuilt();
    say(built.line);
    const build = /cached/.test(built.line)
      ? 'cached'
      : /built in (\d+ s)/.exec(built.line)?.[1]
        ? `built in ${/built in (\d+ s)/.exec(built.line)?.[1]}`
        : 'unknown';
    const bin = join(built.dir, 'bin', 'gitea');

    for (const sub of ['custom/conf', 'data', 'repositories', 'log']) mkdirSync(join(dir, sub), { recursive: true });
    const secrets: Record<string, string> = {};
    for (const name of ['SECRET_KEY', 'INTERNAL_TOKEN', 'JWT_SECRET']) secrets[name] = lastLine((await run(bin, ['generate', 'secret', name])).stdout);
    const port = await freePort();
    writeFileSync(join(dir, 'custom', 'conf', 'app.ini'), appIni({ dir, port, staticRoot: join(built.dir, 'static'), secrets }), { mode: 0o600 });

    await cli(bin, dir, ['migrate']);
    const user = 'landfall-admin';
    const password = randomBytes(18).toString('base64url');
    await cli(bin, dir, [
      'admin',
      'user',
      'create',
      '--admin',
      '--username',
      user,
      '--password',
      password,
      '--email',
      `${user}@example.invalid`,
      '--must-change-password=false',
    ]);
    const token = lastLine(
      await cli(bin, dir, [
        'admin',
        'user',
        'generate-access-token',
        '--username',
        user,
        '--token-name',
        `landfall-tests-${Date.now()}`,
        '--scopes',
        'all',
        '--raw',
      ]),
    );
    if (!/^[0-9a-f]{40}$/.test(token)) throw new Error('gitea admin user generate-access-token --raw printed no token');

    const logFile = join(dir, 'log', 'web.out');
    const out = openSync(logFile, 'a');
    const child = spawn(bin, ['--config', join(dir, 'custom', 'conf', 'app.ini'), '--work-path', dir, 'web'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (!child.pid) throw new Error('gitea web did not start');
    child.unref();
    const url = `http://127.0.0.1:${port}`;
    const info: GiteaInfo = { version: '', url, user, password, token, pid: child.pid, dir, build, startedAt: new Date().toISOString() };
    writeFileSync(join(dir, 'pid'), String(child.pid));
    try {
      await until(
        'gitea /api/v1/version',
        async () => {
          if (!alive(child.pid!)) throw new Error('gitea web exited');
          const res = await fetch(`${url}/api/v1/version`);
          if (!res.ok) return false;
          info.version = ((await res.json()) as { version: string }).version;
          return true;
        },
        120_000,
        logFile,
      );
    } catch (err) {
      await stopPid(child.pid);
      throw err;
    }
    writeFileSync(join(dir, 'gitea.json'), JSON.stringify(info, null, 2), { mode: 0o600 });
    writeFileSync(join(dir, 'env'), envLines(info).join('\n') + '\n', { mode: 0o600 });
    say(`gitea up: ${url} (gitea ${info.version}, admin ${user}); env file ${join(dir, 'env')}`);
    return info;
  });
}

/** The environment a test run reads (test/support/real-gitea.ts), as shell lines. */
export function envLines(info: GiteaInfo): string[] {
  return [
    `export LANDFALL_GITEA_URL=${info.url}`,
    `export LANDFALL_GITEA_USER=${info.user}`,
    `export LANDFALL_GITEA_PASSWORD=${info.password}`,
    `export LANDFALL_GITEA_TOKEN=${info.token}`,
    `export LANDFALL_GITEA_VERSION=${info.version}`,
    `export LANDFALL_GITEA_BUILD='${info.build}'`,
    `export LANDFALL_GITEA_PID=${info.pid}`,
  ];
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** Stops the Gitea `up` started (by the pid it recorded) and removes its files. */
export async function giteaDown(options: { quiet?: boolean; keepFiles?: boolean } = {}): Promise<void> {
  const dir = giteaStateDir();
  const pidFile = join(dir, 'pid');
  if (existsSync(pidFile)) await stopPid(Number(readFileSync(pidFile, 'utf8')));
  if (!options.keepFiles) rmSync(dir, { recursive: true, force: true });
  if (!options.quiet) console.log('gitea stopped');
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'status';
  switch (command) {
    case 'up': {
      const started = Date.now();
      const info = await giteaUp();
      console.log(`ready in ${Math.round((Date.now() - started) / 1000)} s; eval "$(npm run -s gitea -- env)" to use it`);
      return info ? 0 : 1;
    }
    case 'down':
      await giteaDown();
      return 0;
    case 'env': {
      const info = readGitea();
      if (!info) {
        console.error('no Gitea is running; start one with: npm run gitea -- up');
        return 1;
      }
      console.log(envLines(info).join('\n'));
      return 0;
    }
    case 'status': {
      const info = readGitea();
      console.log(info ? `up: ${info.url} (gitea ${info.version}, ${info.build}), pid ${info.pid}` : 'down');
      return info ? 0 : 1;
    }
    default:
      console.error(`usage: npm run gitea -- up|down|env|status (got "${command}")`);
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
