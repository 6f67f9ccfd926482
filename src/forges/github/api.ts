import { Octokit } from '@octokit/rest';
import { forgeHttpError, forgeNetworkError } from '../api-error.js';
import type { ForgeApi } from '../api.js';

/** Settings for the GitHub API client. */
export interface GithubApiSettings {
  token: string;
  apiUrl: string;
}

function split(repo: string): { owner: string; repo: string } {
  const [owner = '', name = ''] = repo.split('/');
  return { owner, repo: name };
}

/** Turns an Octokit RequestError (or a network failure) into a classified ForgeApiError. */
function wrap(what: string, err: unknown): Error {
  const e = err as { status?: number; response?: { headers?: Record<string, string>; data?: unknown } };
  if (typeof e.status === 'number' && e.status > 0) {
    return forgeHttpError(what, e.status, e.response?.headers ?? {}, JSON.stringify(e.response?.data ?? '') ?? '');
  }
  return forgeNetworkError(what, err);
}

/** GitHub (and GitHub Enterprise Server through `apiUrl`) with @octokit/rest: commit statuses and issue comments. */
export function createGithubApi(settings: GithubApiSettings): ForgeApi {
  const octokit = new Octokit({ auth: settings.token, baseUrl: settings.apiUrl, userAgent: 'landfall', request: { timeout: 10_000 } });
  return {
    forge: 'github',
    descriptionLimit: 140,
    async postStatus(status) {
      const { owner, repo } = split(status.repo);
      try {
        await octokit.rest.repos.createCommitStatus({
          owner,
          repo,
          sha: status.sha,
          state: status.state as 'pending' | 'success' | 'failure' | 'error',
          target_url: status.targetUrl,
          description: status.description,
          context: status.context,
        });
      } catch (err) {
        throw wrap(`GitHub status for ${status.repo}@${status.sha.slice(0, 7)}`, err);
      }
    },
    async upsertComment(fullName, number, marker, body, knownId) {
      const { owner, repo } = split(fullName);
      const what = `GitHub comment on ${fullName}#${number}`;
      try {
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
            if ((err as { status?: number }).status !== 404) throw err;
          }
        }
        const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
        return String(created.data.id);
      } catch (err) {
        throw wrap(what, err);
      }
    },
  };
}
