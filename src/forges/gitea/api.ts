import { ForgeApiError } from '../api-error.js';
import type { ForgeApi, HookSpec, RemoteHook } from '../api.js';
import { restCall } from '../rest.js';

/** The events Landfall handles: pushes, and pull requests opened, reopened and synchronized. */
export const GITEA_HOOK_EVENTS = ['pull_request', 'pull_request_sync', 'push'] as const;

type GiteaHook = { id: number; type: string; active: boolean; events: string[]; config: { url?: string; content_type?: string } };

function toHook(h: GiteaHook): RemoteHook {
  return { id: String(h.id), url: h.config.url ?? '', active: h.active, events: [...h.events].sort(), ...(h.config.content_type ? { contentType: h.config.content_type } : {}) };
}

/** The fields both create and edit take (`type` is for create only: EditHookOption has none). */
function hookBody(spec: HookSpec) {
  return { active: true, events: [...spec.events], config: { url: spec.url, content_type: 'json', ...(spec.secret ? { secret: spec.secret } : {}) } };
}

/** Settings for the Gitea / Forgejo API client. */
export interface GiteaApiSettings {
  token: string;
  url: string;
}

/** Gitea and Forgejo REST v1: commit statuses and issue comments. */
export function createGiteaApi(settings: GiteaApiSettings): ForgeApi {
  const headers = { authorization: `token ${settings.token}` };
  const repoUrl = (repo: string) => `${settings.url}/api/v1/repos/${repo.split('/').map(encodeURIComponent).join('/')}`;
  return {
    forge: 'gitea',
    descriptionLimit: 255,
    hookEvents: GITEA_HOOK_EVENTS,
    async listHooks(repo) {
      const hooks = await restCall<GiteaHook[]>(`Gitea hooks of ${repo}`, 'GET', `${repoUrl(repo)}/hooks?limit=50`, headers);
      return hooks.filter((h) => h.type === 'gitea' || h.type === 'forgejo').map(toHook);
    },
    async createHook(repo, spec) {
      return toHook(await restCall<GiteaHook>(`Gitea hook creation on ${repo}`, 'POST', `${repoUrl(repo)}/hooks`, headers, { type: 'gitea', ...hookBody(spec) }));
    },
    async updateHook(repo, id, spec) {
      await restCall(`Gitea hook ${id} on ${repo}`, 'PATCH', `${repoUrl(repo)}/hooks/${id}`, headers, hookBody(spec));
    },
    async postStatus(status) {
      await restCall(`Gitea status for ${status.repo}@${status.sha.slice(0, 7)}`, 'POST', `${repoUrl(status.repo)}/statuses/${status.sha}`, headers, {
        state: status.state,
        target_url: status.targetUrl,
        description: status.description,
        context: status.context,
      });
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const what = `Gitea comment on ${repo}#${number}`;
      let id = knownId;
      if (!id) {
        // The comments endpoint answers every comment of the issue at once.
        const list = await restCall<{ id: number; body: string }[]>(what, 'GET', `${repoUrl(repo)}/issues/${number}/comments`, headers);
        id = list.find((c) => c.body.includes(marker))?.id?.toString();
      }
      if (id) {
        try {
          await restCall(what, 'PATCH', `${repoUrl(repo)}/issues/comments/${id}`, headers, { body });
          return id;
        } catch (err) {
          if (!(err instanceof ForgeApiError && err.status === 404)) throw err;
        }
      }
      const created = await restCall<{ id: number }>(what, 'POST', `${repoUrl(repo)}/issues/${number}/comments`, headers, { body });
      return String(created.id);
    },
  };
}
