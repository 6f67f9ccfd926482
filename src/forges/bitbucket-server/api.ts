import type { ForgeApi, HookSpec, RemoteHook } from '../forge-api.js';
import { bitbucketServerPullRequestCalls } from './pull-requests.js';

/**
 * The events Landfall handles: pushes, pull requests opened, with new commits, merged, declined
 * or deleted, and comments on them (previews read approvals there).
 */
export const BITBUCKET_SERVER_HOOK_EVENTS = [
  'pr:comment:added',
  'pr:declined',
  'pr:deleted',
  'pr:from_ref_updated',
  'pr:merged',
  'pr:opened',
  'repo:refs_changed',
] as const;

type DcHook = { id: number; name: string; url: string; active: boolean; events: string[] };

function toHook(h: DcHook): RemoteHook {
  return { id: String(h.id), url: h.url, active: h.active, events: [...h.events].sort() };
}

function hookBody(spec: HookSpec) {
  return { name: 'Landfall', url: spec.url, active: true, events: [...spec.events], configuration: spec.secret ? { secret: spec.secret } : {} };
}
import { ForgeApiError } from '../forge-api-error.js';
import { restCall } from '../rest-call.js';

/** Settings for the Bitbucket Data Center API client. */
export interface BitbucketServerApiSettings {
  token: string;
  url: string;
}

/**
 * Bitbucket Data Center REST: repository build statuses, pull-request comments, repository
 * webhooks, and the pull-request calls previews need (pull-requests.ts).
 */
export function createBitbucketServerApi(settings: BitbucketServerApiSettings): ForgeApi {
  const headers = { authorization: `Bearer ${settings.token}` };
  const repoUrl = (repo: string) => {
    const [project = '', slug = ''] = repo.split('/');
    return `${settings.url}/rest/api/latest/projects/${encodeURIComponent(project)}/repos/${encodeURIComponent(slug)}`;
  };
  return {
    forge: 'bitbucket-server',
    descriptionLimit: 255,
    hookEvents: BITBUCKET_SERVER_HOOK_EVENTS,
    ...bitbucketServerPullRequestCalls({ headers, url: settings.url, repoUrl }),
    async listHooks(repo) {
      const out: RemoteHook[] = [];
      let start = 0;
      for (;;) {
        const page: { values?: DcHook[]; isLastPage?: boolean; nextPageStart?: number } = await restCall(
          `Bitbucket DC hooks of ${repo}`,
          'GET',
          `${repoUrl(repo)}/webhooks?limit=100&start=${start}`,
          headers,
        );
        out.push(...(page.values ?? []).map(toHook));
        if (page.isLastPage !== false || page.nextPageStart === undefined) return out;
        start = page.nextPageStart;
      }
    },
    async createHook(repo, spec) {
      return toHook(await restCall<DcHook>(`Bitbucket DC hook creation on ${repo}`, 'POST', `${repoUrl(repo)}/webhooks`, headers, hookBody(spec)));
    },
    async updateHook(repo, hook, spec) {
      await restCall(`Bitbucket DC hook ${hook.id} on ${repo}`, 'PUT', `${repoUrl(repo)}/webhooks/${hook.id}`, headers, hookBody(spec));
    },
    async postStatus(status) {
      await restCall(
        `Bitbucket DC build status for ${status.repo}@${status.sha.slice(0, 7)}`,
        'POST',
        `${repoUrl(status.repo)}/commits/${status.sha}/builds`,
        headers,
        {
          key: status.context,
          state: status.state,
          name: status.context,
          url: status.targetUrl,
          description: status.description,
          ...(status.ref ? { ref: `refs/heads/${status.ref}` } : {}),
        },
      );
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const base = `${repoUrl(repo)}/pull-requests/${number}`;
      const what = `Bitbucket DC comment on ${repo}#${number}`;
      type Comment = { id: number; version: number; text: string };
      let found: Comment | undefined;
      let start = 0;
      for (;;) {
        const page: { values?: { comment?: Comment }[]; isLastPage?: boolean; nextPageStart?: number } = await restCall(
          what,
          'GET',
          `${base}/activities?limit=100&start=${start}`,
          headers,
        );
        found = page.values?.map((a) => a.comment).find((c): c is Comment => Boolean(c && (knownId ? String(c.id) === knownId : c.text.includes(marker))));
        if (found || page.isLastPage !== false || page.nextPageStart === undefined) break;
        start = page.nextPageStart;
      }
      if (found) {
        try {
          await restCall(what, 'PUT', `${base}/comments/${found.id}`, headers, { text: body, version: found.version });
          return String(found.id);
        } catch (err) {
          if (!(err instanceof ForgeApiError && (err.status === 404 || err.status === 409))) throw err;
          if (err.status === 409) throw new ForgeApiError(`${what}: edited concurrently; will retry`, 409, true);
        }
      }
      const created = await restCall<{ id: number }>(what, 'POST', `${base}/comments`, headers, { text: body });
      return String(created.id);
    },
  };
}
