import { createHash } from 'node:crypto';
import type { ForgeApi, HookSpec, RemoteHook } from '../forge-api.js';
import { bitbucketPullRequestCalls } from './pull-requests.js';

/**
 * The events Landfall handles: pushes, pull requests opened, updated, merged (`fulfilled`) and
 * declined (`rejected`), and comments on them (previews read approvals there).
 */
export const BITBUCKET_HOOK_EVENTS = [
  'pullrequest:comment_created',
  'pullrequest:created',
  'pullrequest:fulfilled',
  'pullrequest:rejected',
  'pullrequest:updated',
  'repo:push',
] as const;

type BitbucketHook = { uuid: string; url: string; active: boolean; events: string[]; secret_set?: boolean };

function toHook(h: BitbucketHook): RemoteHook {
  return { id: h.uuid, url: h.url, active: h.active, events: [...h.events].sort(), ...(h.secret_set !== undefined ? { secretSet: h.secret_set } : {}) };
}

function hookBody(spec: HookSpec) {
  return { description: 'Landfall', url: spec.url, active: true, events: [...spec.events], ...(spec.secret ? { secret: spec.secret } : {}) };
}
import { ForgeApiError } from '../forge-api-error.js';
import { restCall } from '../rest-call.js';

/** Settings for the Bitbucket Cloud API client. */
export interface BitbucketApiSettings {
  token: string;
  /** With an API token (Atlassian account e-mail + token): HTTP Basic. Without: Bearer (access tokens). */
  username?: string | undefined;
  apiUrl: string;
}

/** Bitbucket keeps build-status keys short; longer contexts are shortened deterministically. */
export function bitbucketKey(context: string): string {
  if (context.length <= 40) return context;
  return `${context.slice(0, 31)}~${createHash('sha256').update(context).digest('hex').slice(0, 8)}`;
}

/**
 * Bitbucket Cloud REST 2.0: build statuses, pull-request comments, commit lookup, repository
 * webhooks, and the pull-request calls previews need (pull-requests.ts).
 */
export function createBitbucketApi(settings: BitbucketApiSettings): ForgeApi {
  const auth = settings.username ? `Basic ${Buffer.from(`${settings.username}:${settings.token}`).toString('base64')}` : `Bearer ${settings.token}`;
  const headers = { authorization: auth };
  const repoUrl = (repo: string) => `${settings.apiUrl}/repositories/${repo.split('/').map(encodeURIComponent).join('/')}`;
  async function resolveSha(repo: string, shortSha: string): Promise<string | undefined> {
    try {
      const commit = await restCall<{ hash?: string }>(`Bitbucket commit ${shortSha}`, 'GET', `${repoUrl(repo)}/commit/${shortSha}`, headers);
      return commit?.hash;
    } catch (err) {
      if (err instanceof ForgeApiError && err.status === 404) return undefined;
      throw err;
    }
  }
  return {
    forge: 'bitbucket',
    descriptionLimit: 255,
    hookEvents: BITBUCKET_HOOK_EVENTS,
    resolveSha,
    ...bitbucketPullRequestCalls({ headers, apiUrl: settings.apiUrl, repoUrl, resolveSha }),
    async listHooks(repo) {
      const out: RemoteHook[] = [];
      let next: string | undefined = `${repoUrl(repo)}/hooks?pagelen=100`;
      while (next) {
        const page: { values?: BitbucketHook[]; next?: string } = await restCall(`Bitbucket hooks of ${repo}`, 'GET', next, headers);
        out.push(...(page.values ?? []).map(toHook));
        next = page.next;
      }
      return out;
    },
    async createHook(repo, spec) {
      return toHook(await restCall<BitbucketHook>(`Bitbucket hook creation on ${repo}`, 'POST', `${repoUrl(repo)}/hooks`, headers, hookBody(spec)));
    },
    async updateHook(repo, hook, spec) {
      await restCall(`Bitbucket hook ${hook.id} on ${repo}`, 'PUT', `${repoUrl(repo)}/hooks/${encodeURIComponent(hook.id)}`, headers, hookBody(spec));
    },
    async postStatus(status) {
      await restCall(
        `Bitbucket status for ${status.repo}@${status.sha.slice(0, 7)}`,
        'POST',
        `${repoUrl(status.repo)}/commit/${status.sha}/statuses/build`,
        headers,
        {
          key: bitbucketKey(status.context),
          state: status.state,
          name: status.context,
          url: status.targetUrl,
          description: status.description,
          ...(status.ref ? { refname: status.ref } : {}),
        },
      );
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const base = `${repoUrl(repo)}/pullrequests/${number}/comments`;
      const what = `Bitbucket comment on ${repo}#${number}`;
      let id = knownId;
      if (!id) {
        let next: string | undefined = `${base}?pagelen=100`;
        while (next && !id) {
          const page: { values?: { id: number; content?: { raw?: string } }[]; next?: string } = await restCall(what, 'GET', next, headers);
          id = page.values?.find((c) => c.content?.raw?.includes(marker))?.id?.toString();
          next = page.next;
        }
      }
      if (id) {
        try {
          await restCall(what, 'PUT', `${base}/${id}`, headers, { content: { raw: body } });
          return id;
        } catch (err) {
          if (!(err instanceof ForgeApiError && err.status === 404)) throw err;
        }
      }
      const created = await restCall<{ id: number }>(what, 'POST', base, headers, { content: { raw: body } });
      return String(created.id);
    },
  };
}
