import type { ForgeApi } from '../api.js';
import { ForgeApiError } from '../api-error.js';
import { restCall } from '../rest.js';

/** Settings for the Bitbucket Data Center API client. */
export interface BitbucketServerApiSettings {
  token: string;
  url: string;
}

/** Bitbucket Data Center REST: repository build statuses and pull-request comments. */
export function createBitbucketServerApi(settings: BitbucketServerApiSettings): ForgeApi {
  const headers = { authorization: `Bearer ${settings.token}` };
  const repoUrl = (repo: string) => {
    const [project = '', slug = ''] = repo.split('/');
    return `${settings.url}/rest/api/latest/projects/${encodeURIComponent(project)}/repos/${encodeURIComponent(slug)}`;
  };
  return {
    forge: 'bitbucket-server',
    descriptionLimit: 255,
    async postStatus(status) {
      await restCall(`Bitbucket DC build status for ${status.repo}@${status.sha.slice(0, 7)}`, 'POST', `${repoUrl(status.repo)}/commits/${status.sha}/builds`, headers, {
        key: status.context,
        state: status.state,
        name: status.context,
        url: status.targetUrl,
        description: status.description,
        ...(status.ref ? { ref: `refs/heads/${status.ref}` } : {}),
      });
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const base = `${repoUrl(repo)}/pull-requests/${number}`;
      const what = `Bitbucket DC comment on ${repo}#${number}`;
      type Comment = { id: number; version: number; text: string };
      let found: Comment | undefined;
      let start = 0;
      for (;;) {
        const page: { values?: { comment?: Comment }[]; isLastPage?: boolean; nextPageStart?: number } = await restCall(what, 'GET', `${base}/activities?limit=100&start=${start}`, headers);
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
