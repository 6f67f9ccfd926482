import type { ForgeApi } from '../api.js';
import { ForgeApiError } from '../api-error.js';
import { restCall } from '../rest.js';

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
