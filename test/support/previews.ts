/**
 * A preview harness: the sync harness (git repo, Kubernetes API test server or the real control
 * plane, Redis history) with the preview lifecycle on top, a forge whose pull requests, comments,
 * permissions and CI statuses a test sets (and can make fail), and every status, comment and
 * environment Landfall reported, recorded in order.
 */
import { randomBytes } from 'node:crypto';
import type { ForgeId } from '../../src/config/schema.js';
import type { ForgeApi, PullRequestComment, PullRequestState } from '../../src/forges/forge-api.js';
import type { PreviewJobData, PullRequestSnapshot } from '../../src/model/jobs.js';
import { runPreviewJob, type PreviewDeps, type PreviewOutcome } from '../../src/previews/lifecycle.js';
import { createPreviewStore, type PreviewStore } from '../../src/previews/store.js';
import { sweepPreviews, type SweepReport } from '../../src/previews/sweep.js';
import type { DesiredStatus, StatusReporter } from '../../src/status/reporter.js';
import { createKeys } from '../../src/store/keys.js';
import { realSyncHarness, syncHarness, type SyncHarness } from './sync.js';
import type { RealKube } from './real-kube.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** What Landfall told the forge, in order. */
export interface Reported {
  statuses: DesiredStatus[];
  comments: { app: string; number: number; body: string }[];
  environments: { environment: string; state: string; url: string; sha: string }[];
  retired: string[];
}

/** The forge as a test sets it. */
export interface FakeForge {
  pullRequests: Map<number, PullRequestState>;
  comments: Map<number, PullRequestComment[]>;
  /** Logins with push access. */
  maintainers: Set<string>;
  /** Commit statuses by sha: context → state. */
  checks: Map<string, Record<string, 'success' | 'pending' | 'failure'>>;
  /** While set, every call fails with this message (a forge outage). */
  failing?: string;
  api: ForgeApi;
}

/** The preview harness. */
export interface PreviewHarness {
  sync: Omit<SyncHarness, 'server'>;
  forge: FakeForge;
  store: PreviewStore;
  reported: Reported;
  requeued: { data: Omit<PreviewJobData, 'seq'>; delayMs: number }[];
  /** The app's namespace (the preview's objects must never land there). */
  namespace: string;
  /** Opens (or updates) pull request `number` at `headSha` of `headBranch` on the fake forge. */
  open(number: number, headSha: string, headBranch: string, options?: { labels?: string[]; headRepo?: string; author?: string }): PullRequestState;
  /** Runs one preview job for `number` as the worker would; never throws, returns the outcome or the error. */
  run(number: number, cause: PreviewJobData['cause'], options?: { event?: boolean; final?: boolean }): Promise<PreviewOutcome | Error>;
  sweep(): Promise<SweepReport[]>;
  /** The newest status on `sha` for the preview context. */
  latest(sha: string): DesiredStatus | undefined;
}

/**
 * `previews:` YAML for the app; the repo is `acme/web`. The namespaces carry a word of their own,
 * so harnesses on one cluster never share one.
 */
export function previewsYaml(extra = '', word = randomBytes(3).toString('hex')): string {
  return `, path: deploy, previews: { namespace: "pv-{app}-{number}-${word}", url: "https://pr-{number}.preview.test", values: { "web.example.test": "pr-{number}.preview.test", "IMAGE_TAG": "{sha}" }${extra} }`;
}

/** Another forge for the app, with a real API client (against a stand-in) for its reports. */
export interface HarnessForge {
  forge: ForgeId;
  repo: string;
  /** Reports (environments) and permission checks go here; pull requests still come from the fake forge. */
  api: ForgeApi;
}

/** The harness on the Kubernetes API test server, or on the real control plane when `kube` is given. */
export async function previewHarness(t: Teardown, extra = '', kube?: RealKube, other?: HarnessForge): Promise<PreviewHarness> {
  const word = randomBytes(3).toString('hex');
  const sync = kube ? await realSyncHarness(t, kube, previewsYaml(extra, word)) : await syncHarness(t, previewsYaml(extra, word));
  if (kube) {
    // What a test left running on the real cluster goes with it (kube's client outlives the harness's).
    t.teardown(async () => {
      for (const ns of await kube.client.list('v1', 'Namespace', { labelSelector: 'landfall.dev/preview=web' })) {
        if (ns.metadata.name.endsWith(`-${word}`))
          await kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns.metadata.name }).catch(() => undefined);
      }
    });
  }
  const forge = fakeForge();
  const reported: Reported = { statuses: [], comments: [], environments: [], retired: [] };
  forge.api.reportEnvironment = async (env, state) => {
    forge.check();
    reported.environments.push({ environment: env.environment, state, url: env.url, sha: env.sha });
  };
  forge.api.retireEnvironment = async (_repo, environment) => {
    forge.check();
    reported.retired.push(environment);
  };
  const reporter: StatusReporter = {
    async report(status) {
      reported.statuses.push(status);
    },
    async reportComment(comment) {
      reported.comments.push({ app: comment.app, number: comment.number, body: comment.body });
    },
  };
  if (other) {
    const app = { ...sync.app, forge: other.forge, repo: other.repo };
    sync.app = app;
    sync.config = { ...sync.config, apps: [app] };
    forge.api.reportEnvironment = other.api.reportEnvironment?.bind(other.api);
    forge.api.retireEnvironment = other.api.retireEnvironment?.bind(other.api);
  }
  const store = createPreviewStore(sync.redis, createKeys(sync.prefix));
  const requeued: PreviewHarness['requeued'] = [];
  let seq = 0;
  const deps: PreviewDeps = {
    config: sync.config,
    store,
    apis: new Map<ForgeId, ForgeApi>([[sync.app.forge, forge.api]]),
    sync: { ...sync.deps },
    reporter,
    log: sync.deps.log,
    async requeue(data, delayMs) {
      requeued.push({ data, delayMs });
    },
  };
  return {
    sync,
    forge,
    store,
    reported,
    requeued,
    namespace: sync.app.namespace,
    open(number, headSha, headBranch, options = {}) {
      const pr: PullRequestState = {
        number,
        state: 'open',
        headSha,
        headBranch,
        headRepo: options.headRepo ?? sync.app.repo,
        baseBranch: 'main',
        labels: options.labels ?? ['preview'],
        author: options.author ?? 'dev',
      };
      forge.pullRequests.set(number, pr);
      return pr;
    },
    async run(number, cause, options = {}) {
      const pr = forge.pullRequests.get(number);
      const snapshot: PullRequestSnapshot | undefined = pr
        ? {
            state: pr.state,
            headSha: pr.headSha,
            headBranch: pr.headBranch,
            headRepo: pr.headRepo,
            baseBranch: pr.baseBranch,
            ...(pr.labels ? { labels: pr.labels } : {}),
          }
        : undefined;
      const data: PreviewJobData = {
        app: sync.app.name,
        forge: sync.app.forge,
        repo: sync.app.repo,
        number,
        cause,
        ...(options.event !== false && snapshot ? { pullRequest: snapshot } : {}),
        seq: ++seq,
        receivedAt: Date.now(),
      };
      try {
        return await runPreviewJob(deps, data, { number: 1, final: options.final ?? true });
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    },
    sweep() {
      return sweepPreviews({
        config: sync.config,
        store,
        apis: deps.apis,
        kube: (cluster) => sync.deps.kube(cluster),
        log: sync.deps.log,
        async queue(data) {
          requeued.push({ data, delayMs: 0 });
        },
      });
    },
    latest(sha) {
      return reported.statuses.filter((s) => s.sha === sha && s.context === `landfall/${sync.app.name}/preview`).at(-1);
    },
  };
}

function fakeForge(): FakeForge & { check(): void } {
  const forge: FakeForge & { check(): void } = {
    pullRequests: new Map(),
    comments: new Map(),
    maintainers: new Set(['maintainer']),
    checks: new Map(),
    check() {
      if (forge.failing) throw new Error(forge.failing);
    },
    api: {
      forge: 'github',
      descriptionLimit: 140,
      hookEvents: [],
      async listHooks() {
        return [];
      },
      async createHook() {
        throw new Error('not used');
      },
      async updateHook() {},
      async postStatus() {},
      async upsertComment() {
        return '1';
      },
      async openPullRequests(_repo, base) {
        forge.check();
        return [...forge.pullRequests.values()].filter((p) => p.state === 'open' && p.baseBranch === base);
      },
      async pullRequest(_repo, number) {
        forge.check();
        return forge.pullRequests.get(number);
      },
      async listComments(_repo, number) {
        forge.check();
        return forge.comments.get(number) ?? [];
      },
      async canPush(_repo, user) {
        forge.check();
        return forge.maintainers.has(user);
      },
      async commitChecks(_repo, sha) {
        forge.check();
        return Object.entries(forge.checks.get(sha) ?? {}).map(([context, state]) => ({ context, state }));
      },
    },
  };
  return forge;
}
