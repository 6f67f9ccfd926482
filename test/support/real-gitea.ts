/**
 * The real Gitea for a test (scripts/real/gitea.ts), built from Gitea's Go module:
 *
 *   const skip = realGiteaSkip();                      // at module load: a reason, or false
 *   t.test('...', { skip }, async (t) => { const gitea = realGitea(); ... });
 *
 * Where it comes from: the `LANDFALL_GITEA_*` variables (`eval "$(npm run -s gitea -- env)"`),
 * else the Gitea `npm run gitea -- up` left running for this checkout. Without either the tests
 * skip with one reason, unless `LANDFALL_REQUIRE_REAL=1` (CI), where that is a failure: a missing
 * Gitea never passes silently there.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGitea } from '../../scripts/real/gitea.js';

/** Where the real Gitea is and how to act on it as its site admin. */
export interface RealGitea {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  user: string;
  password: string;
  /** The admin's API token, every scope. */
  token: string;
  /** `1.26.0`. */
  version: string;
  /** "built in N s", "cached" or "unknown". */
  build: string;
  /** One API call as the admin; the parsed JSON body (or the text), never throws on a status. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  /** A new repository of the admin, `landfall-admin/<prefix>-<8 hex>`, with a first commit on main when `init`. */
  createRepo(prefix?: string, options?: { init?: boolean }): Promise<string>;
  /** The HTTP clone URL of a repository with the admin's credentials in it (for git push). */
  pushUrl(repo: string): string;
}

function fromEnv(): Omit<RealGitea, 'api' | 'createRepo' | 'pushUrl'> | undefined {
  const e = process.env;
  if (e.LANDFALL_GITEA_URL && e.LANDFALL_GITEA_TOKEN) {
    return {
      url: e.LANDFALL_GITEA_URL.replace(/\/+$/, ''),
      user: e.LANDFALL_GITEA_USER ?? 'landfall-admin',
      password: e.LANDFALL_GITEA_PASSWORD ?? '',
      token: e.LANDFALL_GITEA_TOKEN,
      version: e.LANDFALL_GITEA_VERSION ?? 'unknown',
      build: e.LANDFALL_GITEA_BUILD ?? 'unknown',
    };
  }
  const info = readGitea();
  return info ? { url: info.url, user: info.user, password: info.password, token: info.token, version: info.version, build: info.build } : undefined;
}

/**
 * False when a real Gitea is there; else why the real Gitea tests skip. Throws when
 * `LANDFALL_REQUIRE_REAL=1` and there is none, so CI fails instead of skipping.
 */
export function realGiteaSkip(): string | false {
  if (fromEnv()) return false;
  const reason = 'no real Gitea: run `npm run gitea -- up` (needs Go), or set LANDFALL_GITEA_URL and LANDFALL_GITEA_TOKEN';
  if (process.env.LANDFALL_REQUIRE_REAL === '1') throw new Error(`LANDFALL_REQUIRE_REAL=1 but ${reason}`);
  return reason;
}

/** True when the real Gitea is there (tests that can run on both pick it then). */
export function realGiteaMode(): boolean {
  return fromEnv() !== undefined;
}

/** The real Gitea (skip first with {@link realGiteaSkip}). */
export function realGitea(): RealGitea {
  const where = fromEnv();
  if (!where) throw new Error(realGiteaSkip() || 'no real Gitea');
  const api: RealGitea['api'] = async (method, path, body) => {
    const res = await fetch(`${where.url}/api/v1${path}`, {
      method,
      headers: { authorization: `token ${where.token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    ...where,
    api,
    async createRepo(prefix = 'lf', options = {}) {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      const res = await api('POST', '/user/repos', {
        name,
        private: false,
        auto_init: options.init ?? false,
        default_branch: 'main',
        ...(options.init ? { readme: 'Default' } : {}),
      });
      if (res.status !== 201) throw new Error(`creating repository ${name} on the real Gitea answered ${res.status}: ${JSON.stringify(res.body)}`);
      return `${where.user}/${name}`;
    },
    pushUrl(repo) {
      const u = new URL(`${where.url}/${repo}.git`);
      u.username = encodeURIComponent(where.user);
      u.password = encodeURIComponent(where.password);
      return u.toString();
    },
  };
}

/**
 * Writes the configuration a test's Landfall process reads to work with the real Gitea: listening
 * on `port` of 127.0.0.1 (its public URL, so Gitea's webhooks reach it), Redis under `prefix`, the
 * Gitea forge with its secret and token from the environment (`GITEA_HOOK_SECRET`, `GITEA_TOKEN`),
 * the cluster of `kubeconfig`, a data folder in `dir`, and `apps` (YAML list items). Answers the file.
 */
export async function writeGiteaConfig(options: {
  gitea: RealGitea;
  dir: string;
  port: number;
  redisUrl: string;
  prefix: string;
  kubeconfig: string;
  apps: string;
}): Promise<string> {
  const { gitea, dir, port } = options;
  const file = join(dir, 'landfall.yaml');
  await writeFile(
    file,
    `server: { host: 127.0.0.1, port: ${port}, publicUrl: "http://127.0.0.1:${port}" }
redis: { url: "${options.redisUrl}", prefix: ${options.prefix} }
forges:
  gitea: { webhookSecret: "\${GITEA_HOOK_SECRET}", token: "\${GITEA_TOKEN}", url: "${gitea.url}" }
clusters: { default: { kubeconfig: "${options.kubeconfig}" } }
worker: { dataDir: "${join(dir, 'data')}", lockTimeout: 5s, webhookCheckInterval: "off" }
apps:
${options.apps}`,
  );
  return file;
}
