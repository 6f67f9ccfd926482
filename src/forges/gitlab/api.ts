import { Gitlab } from '@gitbeaker/rest';
import { forgeHttpError, forgeNetworkError } from '../api-error.js';
import type { ForgeApi, HookSpec, RemoteHook } from '../api.js';
import { restCall } from '../rest.js';

/** The events Landfall handles (GitLab's hook flags). */
export const GITLAB_HOOK_EVENTS = ['merge_requests_events', 'push_events'] as const;

/** Every event flag a GitLab project hook has; all but Landfall's are switched off. */
const ALL_FLAGS = ['push_events', 'tag_push_events', 'merge_requests_events', 'issues_events', 'confidential_issues_events', 'note_events', 'confidential_note_events', 'job_events', 'pipeline_events', 'wiki_page_events', 'deployment_events', 'releases_events'];

type GitlabHook = { id: number; url: string; token_present?: boolean; signing_token_present?: boolean; alert_status?: string; disabled_until?: string | null } & Record<string, unknown>;

function toHook(h: GitlabHook): RemoteHook {
  const events = ALL_FLAGS.filter((f) => h[f] === true).sort();
  const disabled = h.alert_status && h.alert_status !== 'executable' ? `${h.alert_status}${h.disabled_until ? ` until ${h.disabled_until}` : ''}` : undefined;
  return {
    id: String(h.id),
    url: h.url,
    // GitLab disables failing hooks itself; a disabled hook is not active.
    active: !disabled,
    events,
    ...(h.token_present !== undefined || h.signing_token_present !== undefined ? { secretSet: Boolean(h.token_present || h.signing_token_present) } : {}),
    ...(disabled ? { disabled } : {}),
  };
}

function hookBody(spec: HookSpec): Record<string, unknown> {
  const flags = Object.fromEntries(ALL_FLAGS.map((f) => [f, spec.events.includes(f)]));
  return { url: spec.url, ...flags, enable_ssl_verification: true, ...(spec.secret ? { token: spec.secret } : {}), ...(spec.signingToken ? { signing_token: spec.signingToken } : {}) };
}

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
  const headers = { 'private-token': settings.token };
  const project = (repo: string) => `${settings.url}/api/v4/projects/${encodeURIComponent(repo)}`;
  return {
    forge: 'gitlab',
    descriptionLimit: 255,
    hookEvents: GITLAB_HOOK_EVENTS,
    async listHooks(repo) {
      const hooks = await restCall<GitlabHook[]>(`GitLab hooks of ${repo}`, 'GET', `${project(repo)}/hooks?per_page=100`, headers);
      return hooks.map(toHook);
    },
    async createHook(repo, spec) {
      return toHook(await restCall<GitlabHook>(`GitLab hook creation on ${repo}`, 'POST', `${project(repo)}/hooks`, headers, hookBody(spec)));
    },
    async updateHook(repo, id, spec) {
      await restCall(`GitLab hook ${id} on ${repo}`, 'PUT', `${project(repo)}/hooks/${id}`, headers, hookBody(spec));
    },
    async hookDeliveries(repo, hookId, sinceMs) {
      type Event = { id: number; trigger: string; response_status: string | number; created_at: string; request_headers?: Record<string, string> };
      const events = await restCall<Event[]>(`GitLab hook events of ${repo}`, 'GET', `${project(repo)}/hooks/${hookId}/events?per_page=100`, headers);
      return events
        .map((e) => {
          // The same id intake de-duplicates on: Idempotency-Key survives resends, the UUID does not.
          const sent = Object.fromEntries(Object.entries(e.request_headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
          const guid = sent['idempotency-key'] ?? sent['webhook-id'] ?? sent['x-gitlab-event-uuid'];
          const code = String(e.response_status);
          return { id: String(e.id), ...(guid ? { guid } : {}), at: Date.parse(e.created_at), event: e.trigger, statusCode: /^\d+$/.test(code) ? Number(code) : 0 };
        })
        .filter((e) => e.at >= sinceMs);
    },
    async redeliver(repo, hookId, deliveryId) {
      await restCall(`GitLab resend of event ${deliveryId} on ${repo}`, 'POST', `${project(repo)}/hooks/${hookId}/events/${deliveryId}/resend`, headers);
    },
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
