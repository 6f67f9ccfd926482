import { Gitlab } from '@gitbeaker/rest';
import { forgeHttpError, forgeNetworkError } from '../api-error.js';
import type { ForgeApi } from '../api.js';

/** Settings for the GitLab API client. */
export interface GitlabApiSettings {
  token: string;
  url: string;
}

type GitbeakerError = { cause?: { response?: Response; description?: string } };

async function wrap(what: string, err: unknown): Promise<Error> {
  const response = (err as GitbeakerError).cause?.response;
  if (response) {
    const text = (err as GitbeakerError).cause?.description ?? (await response.text().catch(() => ''));
    return forgeHttpError(what, response.status, response.headers, typeof text === 'string' ? text : JSON.stringify(text));
  }
  return forgeNetworkError(what, err);
}

/** GitLab answers 400 "Cannot transition status" when the status is already in that state. */
function alreadySet(err: unknown): boolean {
  const cause = (err as GitbeakerError).cause;
  return cause?.response?.status === 400 && /Cannot transition status/i.test(String(cause.description ?? (err as Error).message));
}

/** GitLab.com and self-managed GitLab with @gitbeaker/rest: commit statuses and merge-request notes. */
export function createGitlabApi(settings: GitlabApiSettings): ForgeApi {
  const api = new Gitlab({ host: settings.url, token: settings.token, queryTimeout: 10_000 });
  return {
    forge: 'gitlab',
    descriptionLimit: 255,
    async postStatus(status) {
      try {
        await api.Commits.editStatus(status.repo, status.sha, status.state as 'pending' | 'running' | 'success' | 'failed' | 'canceled', {
          name: status.context,
          targetUrl: status.targetUrl,
          description: status.description,
          ...(status.ref ? { ref: status.ref } : {}),
        });
      } catch (err) {
        if (alreadySet(err)) return;
        throw await wrap(`GitLab status for ${status.repo}@${status.sha.slice(0, 7)}`, err);
      }
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const what = `GitLab note on ${repo}!${number}`;
      try {
        let id = knownId;
        if (!id) {
          const notes = (await api.MergeRequestNotes.all(repo, number)) as { id: number; body: string }[];
          const found = notes.find((n) => n.body.includes(marker));
          if (found) id = String(found.id);
        }
        if (id) {
          try {
            await api.MergeRequestNotes.edit(repo, number, Number(id), { body });
            return id;
          } catch (err) {
            if ((err as GitbeakerError).cause?.response?.status !== 404) throw err;
          }
        }
        const created = (await api.MergeRequestNotes.create(repo, number, body)) as { id: number };
        return String(created.id);
      } catch (err) {
        throw await wrap(what, err);
      }
    },
  };
}
