import { readFileSync } from 'node:fs';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { fieldOf, ForgeApiError, forgeHttpError, forgeNetworkError, statusOf } from '../forge-api-error.js';
import type { ForgeApi, HookDelivery, HookSpec, RemoteHook } from '../forge-api.js';
import { githubPullRequestCalls } from './pull-requests.js';

/** Settings for the GitHub API client: a token, or a GitHub App. */
export interface GithubApiSettings {
  apiUrl: string;
  token?: string | undefined;
  app?: { appId: number; privateKey?: string | undefined; privateKeyFile?: string | undefined } | undefined;
}

/**
 * The events Landfall handles: pushes, pull requests (opened, new commits, labeled, closed…) and
 * comments on them (`issue_comment`: a pull request is an issue; previews read approvals there).
 */
export const GITHUB_HOOK_EVENTS = ['issue_comment', 'pull_request', 'push'] as const;

/** The most pages of 100 deliveries one check reads (GitHub keeps three days of them). */
const DELIVERY_PAGES = 10;

function split(repo: string): { owner: string; repo: string } {
  const [owner = '', name = ''] = repo.split('/');
  return { owner, repo: name };
}

/** Turns an Octokit RequestError (or a network failure) into a classified ForgeApiError. */
function wrap(what: string, err: unknown): Error {
  const status = statusOf(err);
  if (status !== undefined && status > 0) {
    const response = fieldOf(err, 'response');
    const raw = fieldOf(response, 'headers');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw !== null && typeof raw === 'object' ? raw : {}))
      if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
    return forgeHttpError(what, status, headers, JSON.stringify(fieldOf(response, 'data') ?? '') ?? '');
  }
  return forgeNetworkError(what, err);
}

const GITHUB_STATES = ['pending', 'success', 'failure', 'error'] as const;

/** A commit status state GitHub accepts; another word is refused before the call. */
function githubState(state: string): (typeof GITHUB_STATES)[number] {
  const found = GITHUB_STATES.find((s) => s === state);
  if (!found) throw new ForgeApiError(`GitHub has no commit status state "${state}"`, 0, false);
  return found;
}

type HookData = { id: number; active: boolean; events: string[]; config: { url?: string; content_type?: string; secret?: string } };

function toHook(h: HookData): RemoteHook {
  return {
    id: String(h.id),
    url: h.config.url ?? '',
    active: h.active,
    events: [...h.events].sort(),
    ...(h.config.content_type ? { contentType: h.config.content_type } : {}),
    secretSet: Boolean(h.config.secret),
  };
}

/**
 * GitHub (and GitHub Enterprise Server through `apiUrl`) with @octokit/rest: commit statuses,
 * issue comments, repository webhooks and their deliveries, the pull-request calls previews need
 * (pull-requests.ts), and, as a GitHub App, check runs.
 * As an App, the installation is looked up per repository and its tokens are cached by
 * @octokit/auth-app until shortly before they expire.
 */
export function createGithubApi(settings: GithubApiSettings): ForgeApi {
  // Failures are thrown and logged by the caller with context; Octokit's own request log stays quiet.
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const common = { baseUrl: settings.apiUrl, userAgent: 'landfall', request: { timeout: 10_000 }, log: quiet };
  const app = settings.app;
  const privateKey = app ? (app.privateKey ?? readFileSync(app.privateKeyFile ?? '', 'utf8')) : undefined;
  const tokenClient = settings.token ? new Octokit({ ...common, auth: settings.token }) : undefined;
  const appClient = app ? new Octokit({ ...common, authStrategy: createAppAuth, auth: { appId: app.appId, privateKey } }) : undefined;
  const installations = new Map<string, Promise<Octokit>>();

  /** The client for a repository: its installation's, as an App; the token's otherwise. */
  function client(fullName: string): Promise<Octokit> {
    if (!appClient) return tokenClient ? Promise.resolve(tokenClient) : Promise.reject(new Error('no GitHub token or App configured'));
    const key = fullName.toLowerCase();
    let found = installations.get(key);
    if (!found) {
      found = appClient.rest.apps.getRepoInstallation(split(fullName)).then(
        ({ data }) => new Octokit({ ...common, authStrategy: createAppAuth, auth: { appId: app!.appId, privateKey, installationId: data.id } }),
        (err: unknown) => {
          installations.delete(key);
          if (statusOf(err) === 404) {
            throw new ForgeApiError(
              `the GitHub App ${app!.appId} is not installed on ${fullName}: install it on that repository (the App's page → Install App)`,
              404,
              false,
            );
          }
          throw wrap(`GitHub App installation for ${fullName}`, err);
        },
      );
      installations.set(key, found);
    }
    return found;
  }

  /**
   * Runs `fn` with the repository's client; errors become ForgeApiErrors. A 401 as an App means
   * the installation token was revoked or expired early (App reinstalled, clock jump): the
   * installation's client is dropped and the call tried once more with a freshly exchanged token.
   */
  async function withClient<T>(fullName: string, what: string, fn: (octokit: Octokit) => Promise<T>, retried = false): Promise<T> {
    try {
      return await fn(await client(fullName));
    } catch (err) {
      if (err instanceof ForgeApiError) throw err;
      if (appClient && statusOf(err) === 401 && !retried) {
        installations.delete(fullName.toLowerCase());
        return withClient(fullName, what, fn, true);
      }
      throw wrap(what, err);
    }
  }

  const hookBody = (spec: HookSpec) => ({
    active: true,
    events: [...spec.events],
    config: { url: spec.url, content_type: 'json' as const, insecure_ssl: '0' as const, ...(spec.secret ? { secret: spec.secret } : {}) },
  });

  return {
    forge: 'github',
    descriptionLimit: 140,
    hookEvents: GITHUB_HOOK_EVENTS,
    checkRuns: Boolean(app),
    ...githubPullRequestCalls(withClient),
    async postStatus(status) {
      await withClient(status.repo, `GitHub status for ${status.repo}@${status.sha.slice(0, 7)}`, (octokit) =>
        octokit.rest.repos.createCommitStatus({
          ...split(status.repo),
          sha: status.sha,
          state: githubState(status.state),
          target_url: status.targetUrl,
          description: status.description,
          context: status.context,
        }),
      );
    },
    async upsertComment(fullName, number, marker, body, knownId) {
      const { owner, repo } = split(fullName);
      return withClient(fullName, `GitHub comment on ${fullName}#${number}`, async (octokit) => {
        let id = knownId;
        if (!id) {
          for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 })) {
            const found = page.data.find((c) => c.body?.includes(marker));
            if (found) {
              id = String(found.id);
              break;
            }
          }
        }
        if (id) {
          try {
            await octokit.rest.issues.updateComment({ owner, repo, comment_id: Number(id), body });
            return id;
          } catch (err) {
            // Deleted by someone: post a new one.
            if (statusOf(err) !== 404) throw err;
          }
        }
        const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
        return String(created.data.id);
      });
    },
    async listHooks(fullName) {
      return withClient(fullName, `GitHub hooks of ${fullName}`, async (octokit) => {
        const hooks = await octokit.paginate(octokit.rest.repos.listWebhooks, { ...split(fullName), per_page: 100 });
        return hooks.map(toHook);
      });
    },
    async createHook(fullName, spec) {
      return withClient(fullName, `GitHub hook creation on ${fullName}`, async (octokit) => {
        const { data } = await octokit.rest.repos.createWebhook({ ...split(fullName), name: 'web', ...hookBody(spec) });
        return toHook(data);
      });
    },
    async updateHook(fullName, hook, spec) {
      // GitHub removes the secret when `config` comes without one, so the whole config is sent.
      await withClient(fullName, `GitHub hook ${hook.id} on ${fullName}`, (octokit) =>
        octokit.rest.repos.updateWebhook({ ...split(fullName), hook_id: Number(hook.id), ...hookBody(spec) }),
      );
    },
    async hookDeliveries(fullName, hookId, sinceMs) {
      return withClient(fullName, `GitHub deliveries of hook ${hookId} on ${fullName}`, async (octokit) => {
        // GitHub documents no order for this list, so every delivery is judged by its own time:
        // a page may hold an old delivery before a recent one. A page with nothing in the window
        // ends the walk, and at most DELIVERY_PAGES pages are read.
        const out: HookDelivery[] = [];
        let pages = 0;
        for await (const page of octokit.paginate.iterator(octokit.rest.repos.listWebhookDeliveries, {
          ...split(fullName),
          hook_id: Number(hookId),
          per_page: 100,
        })) {
          const recent = page.data.filter((d) => Date.parse(d.delivered_at) >= sinceMs);
          for (const d of recent) {
            out.push({
              id: String(d.id),
              guid: d.guid,
              at: Date.parse(d.delivered_at),
              event: d.action ? `${d.event}.${d.action}` : d.event,
              statusCode: d.status_code,
              redelivery: d.redelivery,
            });
          }
          pages += 1;
          if (recent.length === 0 || pages >= DELIVERY_PAGES) break;
        }
        return out.sort((a, b) => b.at - a.at);
      });
    },
    async redeliver(fullName, hookId, deliveryId) {
      await withClient(fullName, `GitHub redelivery ${deliveryId} on ${fullName}`, (octokit) =>
        octokit.rest.repos.redeliverWebhookDelivery({ ...split(fullName), hook_id: Number(hookId), delivery_id: Number(deliveryId) }),
      );
    },
    async upsertCheckRun(fullName, sha, spec, knownId) {
      const fields = {
        status: spec.status,
        ...(spec.conclusion ? { conclusion: spec.conclusion } : {}),
        details_url: spec.detailsUrl,
        external_id: spec.externalId,
        output: { title: spec.title, summary: spec.summary },
        ...(spec.status === 'completed' ? { completed_at: new Date().toISOString() } : {}),
      };
      return withClient(fullName, `GitHub check run ${spec.name} on ${fullName}@${sha.slice(0, 7)}`, async (octokit) => {
        if (knownId) {
          await octokit.rest.checks.update({ ...split(fullName), check_run_id: Number(knownId), ...fields });
          return knownId;
        }
        const { data } = await octokit.rest.checks.create({ ...split(fullName), name: spec.name, head_sha: sha, ...fields });
        return String(data.id);
      });
    },
  };
}
