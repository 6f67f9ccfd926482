import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ForgeId } from '../../src/config/schema.js';
import { createKubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/log/logger.js';
import { parseConfig } from '../../src/config/load.js';
import type { Metrics } from '../../src/metrics/families.js';
import { createProcessMetrics } from '../../src/runtime/process-metrics.js';
import { createWorkerRuntime, type WorkerRuntime } from '../../src/runtime/worker-role.js';
import { createHistory, type History } from '../../src/store/history.js';
import { createKeys } from '../../src/store/keys.js';
import { startForgeApi, type ForgeApi, type ForgeApiOptions } from './forge-api/index.js';
import { createRepo, type TestRepo } from './git.js';
import { serveGitOverHttp } from './git-http.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeForTest } from './kube.js';
import type { KubeApiServer } from './kube-api/index.js';
import type { RealKube } from './real-kube.js';
import { redisForTest } from './redis.js';
import { KITS } from './sign.js';
import { startWeb, type TestWeb } from './web.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The full-name each forge's test app uses. */
export const FLOW_REPOS: Record<ForgeId, string> = {
  github: 'acme/web',
  gitlab: 'acme/platform/web',
  bitbucket: 'acme/web',
  'bitbucket-server': 'ACME/web',
  gitea: 'acme/web',
};

/** The webhook secret and forge token every flow uses (tests search for them where they must not be). */
export const FLOW_SECRET = 'flow-webhook-secret';
export const FLOW_TOKEN = 'flow-forge-token-123';
const SECRET = FLOW_SECRET;
const TOKEN = FLOW_TOKEN;
export const PUBLIC_URL = 'https://landfall.test';

/** Everything running: web (real socket), workers, the forge's API stand-in, git, Kubernetes. */
export interface Flow {
  forge: ForgeId;
  repo: TestRepo;
  api: ForgeApi;
  kube: KubeApiServer;
  web: TestWeb;
  workers: WorkerRuntime;
  history: History;
  logs: string[];
  metrics: Metrics;
  /** Sends a signed push webhook for `sha` on `branch`; returns the answer's job id. */
  push(sha: string, branch?: string): Promise<string>;
  /** Sends a signed pull-request webhook; returns the answer. */
  pullRequest(number: number, action: 'opened' | 'updated', headSha: string, headBranch: string): Promise<{ status: number; json: any }>;
  /** The forge's state words, newest last, for a commit and context. */
  states(sha: string, context?: string): string[];
}

/** Options of {@link startFlow}. */
export interface FlowOptions {
  apiTokens?: string[];
  workerYaml?: string;
  topYaml?: string;
  httpGit?: boolean;
  /** GitHub only: Landfall acts as this App (no token); the stand-in knows the App by its public key. */
  githubApp?: { appId: number; publicKey: string; privateKey: string; permissions?: Record<string, 'read' | 'write'> };
  /** Runs before the workers start (their start-up webhook check sees what it seeds). */
  beforeWorkers?: (api: ForgeApi) => void | Promise<void>;
  /** More options for the forge stand-in (GitLab's version, role, protected branches). */
  forgeOptions?: Partial<ForgeApiOptions>;
  /** More `apps:` entries (YAML list items) on the same repository, given its clone URL and namespace. */
  moreApps?: (repo: { cloneUrl: string; namespace: string; repo: string }) => string;
}

/** A flow on a real cluster: no test server, the app in a namespace of its own. */
export type RealFlow = Omit<Flow, 'kube'> & { namespace: string };

/**
 * A whole Landfall for one forge: the webhook server on a real socket, in-process workers, the
 * forge's REST API stand-in, a git repository served over file://, the Kubernetes API test server.
 */
export async function startFlow(t: Teardown, forge: ForgeId, appYaml = '', options: FlowOptions = {}): Promise<Flow> {
  const { server: kube } = await kubeForTest(t);
  if (!kube) throw new Error('needs the test server');
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  return { ...(await flowOn(t, kube.kubeConfig(), 'web', forge, appYaml, options)), kube };
}

/** The same flow against the real control plane (test/support/real-kube.ts). */
export async function startRealFlow(t: Teardown, real: RealKube, forge: ForgeId, appYaml = '', options: FlowOptions = {}): Promise<RealFlow> {
  const namespace = await real.namespace('flow');
  return { ...(await flowOn(t, real.kc, namespace, forge, appYaml, options)), namespace };
}

async function flowOn(t: Teardown, kc: KubeConfig, namespace: string, forge: ForgeId, appYaml: string, options: FlowOptions): Promise<Omit<Flow, 'kube'>> {
  const repo = await createRepo(t, 'flow');
  const app = options.githubApp;
  const api = await startForgeApi(forge, {
    token: TOKEN,
    ...(options.forgeOptions ?? {}),
    ...(app
      ? {
          app: {
            appId: app.appId,
            publicKey: app.publicKey,
            installations: { [FLOW_REPOS[forge]]: 4242 },
            ...(app.permissions ? { permissions: app.permissions } : {}),
          },
        }
      : {}),
  });
  t.teardown(() => api.close());
  const { url, prefix, redis } = await redisForTest(t, 'flow');
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-flow-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // Over HTTP the repository asks for the forge token, as a forge's git endpoint does.
  const cloneUrl = options.httpGit
    ? (await serveGitOverHttp(t, repo.bare, `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`)).url
    : repo.url;
  const location = forge === 'github' ? `apiUrl: "${api.url}"` : forge === 'bitbucket' ? `apiUrl: "${api.url}"` : `url: "${api.url}"`;
  const yaml = `server: { publicUrl: "${PUBLIC_URL}"${options.apiTokens ? `, apiTokens: ${JSON.stringify(options.apiTokens)}` : ''} }
redis: { url: ${url}, prefix: ${prefix} }
forges:
  ${forge}: { webhookSecret: ${SECRET}, ${app ? `app: { appId: ${app.appId}, privateKey: ${JSON.stringify(app.privateKey)} }` : `token: ${TOKEN}`}, ${location} }
worker: { dataDir: "${dataDir}", lockTimeout: 5s${options.workerYaml ?? ''} }
${options.topYaml ?? ''}
apps:
  - { name: web, forge: ${forge}, repo: ${FLOW_REPOS[forge]}, cloneUrl: "${cloneUrl}", branch: main, path: deploy, namespace: ${namespace}${appYaml.includes('healthTimeout') ? '' : ', healthTimeout: 20s'}, prComments: true${appYaml} }
${options.moreApps?.({ cloneUrl, namespace, repo: FLOW_REPOS[forge] }) ?? ''}
`;
  const processMetrics = createProcessMetrics(parseConfig(yaml, {}));
  const { metrics } = processMetrics;
  t.teardown(() => processMetrics.close());
  const web = await startWeb(t, yaml, {}, { metrics });
  const client = await createKubeClient(kc, { retryBaseMs: 10 });
  t.teardown(() => client.close());
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  await options.beforeWorkers?.(api);
  const workers = await createWorkerRuntime(web.config, log, { kubeClient: async () => client, metrics });
  t.teardown(() => workers.close());
  const kit = KITS[forge];
  const send = async (event: string, body: unknown) => {
    const text = JSON.stringify(body);
    return web.post(`/hooks/${forge}`, text, { 'content-type': 'application/json', ...kit.eventHeaders(event), ...(await kit.sign(text, SECRET)) });
  };
  return {
    forge,
    repo,
    api,
    web,
    workers,
    history: createHistory(redis, createKeys(prefix)),
    logs,
    metrics,
    async push(sha, branch = 'main') {
      api.seedCommit(sha);
      const res = await send(kit.pushEvent, kit.push(FLOW_REPOS[forge], branch, sha));
      if (res.status !== 202) throw new Error(`push answered ${res.status}: ${res.text}`);
      return res.json.accepted[0].jobId as string;
    },
    async pullRequest(number, action, headSha, headBranch) {
      api.seedCommit(headSha);
      return send(kit.pullRequestEvent(action), kit.pullRequest(FLOW_REPOS[forge], number, action, headSha, headBranch, 'main'));
    },
    states(sha, context = 'landfall/web') {
      return (api.statuses.get(`${sha}|${context}`) ?? []).map((s) => s.state);
    },
  };
}

/** The forge's words for success, failure, pending/running and superseded. */
export const WORDS: Record<ForgeId, { ok: string; fail: string; busy: string[]; superseded: string }> = {
  github: { ok: 'success', fail: 'failure', busy: ['pending'], superseded: 'error' },
  gitea: { ok: 'success', fail: 'failure', busy: ['pending'], superseded: 'error' },
  gitlab: { ok: 'success', fail: 'failed', busy: ['pending', 'running'], superseded: 'canceled' },
  bitbucket: { ok: 'SUCCESSFUL', fail: 'FAILED', busy: ['INPROGRESS'], superseded: 'STOPPED' },
  'bitbucket-server': { ok: 'SUCCESSFUL', fail: 'FAILED', busy: ['INPROGRESS'], superseded: 'CANCELLED' },
};
