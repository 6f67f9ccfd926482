import { Gitlab } from '@gitbeaker/rest';
import { fieldOf, ForgeApiError, forgeHttpError, forgeNetworkError } from '../forge-api-error.js';
import type { ForgeApi, HookDisabled, HookSpec, RemoteHook } from '../forge-api.js';
import { restCall } from '../rest-call.js';
import { gitlabPullRequestCalls } from './pull-requests.js';

/**
 * The events Landfall handles (GitLab's hook flags): pushes, merge requests (label changes
 * included) and notes (comments on merge requests; previews read approvals there).
 */
export const GITLAB_HOOK_EVENTS = ['merge_requests_events', 'note_events', 'push_events'] as const;

/** Every event flag a GitLab project hook has; all but Landfall's are switched off. */
const ALL_FLAGS = [
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'deployment_events',
  'releases_events',
];

type GitlabHook = {
  id: number;
  url: string;
  /** GitLab 19.0+: whether a secret token / a signing token is set. Older versions send neither. */
  token_present?: boolean;
  signing_token_present?: boolean;
  /** `executable`, `temporarily_disabled` (4 failures in a row) or `disabled` (40). */
  alert_status?: string;
  disabled_until?: string | null;
} & Record<string, unknown>;

function toHook(h: GitlabHook): RemoteHook {
  const events = ALL_FLAGS.filter((f) => h[f] === true).sort();
  const disabled: HookDisabled | undefined =
    h.alert_status === 'disabled'
      ? { permanent: true }
      : h.alert_status === 'temporarily_disabled'
        ? { permanent: false, ...(h.disabled_until ? { until: h.disabled_until } : {}) }
        : undefined;
  return {
    id: String(h.id),
    url: h.url,
    // GitLab hooks have no active switch; a hook GitLab disabled is not active.
    active: !disabled,
    events,
    ...(h.token_present !== undefined ? { secretSet: h.token_present } : {}),
    ...(h.signing_token_present !== undefined ? { signingSet: h.signing_token_present } : {}),
    ...(disabled ? { disabled } : {}),
  };
}

/**
 * The hook's URL, events and credentials. `enable_ssl_verification` is not sent: GitLab turns it
 * on for a new hook and keeps what a person set on an existing one (an edit keeps what it is not sent).
 */
function hookBody(spec: HookSpec): Record<string, unknown> {
  const flags = Object.fromEntries(ALL_FLAGS.map((f) => [f, spec.events.includes(f)]));
  return { url: spec.url, ...flags, ...(spec.secret ? { token: spec.secret } : {}), ...(spec.signingToken ? { signing_token: spec.signingToken } : {}) };
}

/** Settings for the GitLab API client. */
export interface GitlabApiSettings {
  token: string;
  url: string;
}

/** The HTTP answer a Gitbeaker error carries in `cause.response`, if any. */
function gitbeakerResponse(err: unknown): Response | undefined {
  const response = fieldOf(fieldOf(err, 'cause'), 'response');
  return response instanceof Response ? response : undefined;
}

async function wrap(what: string, err: unknown): Promise<Error> {
  const response = gitbeakerResponse(err);
  if (response) {
    const text = fieldOf(fieldOf(err, 'cause'), 'description') ?? (await response.text().catch(() => ''));
    return forgeHttpError(what, response.status, response.headers, typeof text === 'string' ? text : JSON.stringify(text));
  }
  return forgeNetworkError(what, err);
}

const GITLAB_STATES = ['pending', 'running', 'success', 'failed', 'canceled'] as const;

/** A commit status state GitLab accepts; another word is refused before the call. */
function gitlabState(state: string): (typeof GITLAB_STATES)[number] {
  const found = GITLAB_STATES.find((s) => s === state);
  if (!found) throw new ForgeApiError(`GitLab has no commit status state "${state}"`, 0, false);
  return found;
}

/** GitLab answers 400 "Cannot transition status" when the status is already in that state. */
function alreadySet(err: unknown): boolean {
  const description = fieldOf(fieldOf(err, 'cause'), 'description');
  // A description that is not a string never names the transition (it read as "[object Object]").
  const message = typeof description === 'string' ? description : description === undefined || description === null ? fieldOf(err, 'message') : '';
  return gitbeakerResponse(err)?.status === 400 && /Cannot transition status/i.test(typeof message === 'string' ? message : '');
}

/**
 * GitLab.com and self-managed GitLab with @gitbeaker/rest and plain REST: commit statuses,
 * merge-request notes, project hooks and their events, and the merge-request calls previews need
 * (pull-requests.ts).
 */
export function createGitlabApi(settings: GitlabApiSettings): ForgeApi {
  const api = new Gitlab({ host: settings.url, token: settings.token, queryTimeout: 10_000 });
  const headers = { 'private-token': settings.token };
  const project = (repo: string) => `${settings.url}/api/v4/projects/${encodeURIComponent(repo)}`;
  return {
    forge: 'gitlab',
    descriptionLimit: 255,
    hookEvents: GITLAB_HOOK_EVENTS,
    ...gitlabPullRequestCalls({ headers, api: `${settings.url}/api/v4`, project }),
    async listHooks(repo) {
      const hooks = await restCall<GitlabHook[]>(`GitLab hooks of ${repo}`, 'GET', `${project(repo)}/hooks?per_page=100`, headers);
      return hooks.map(toHook);
    },
    async createHook(repo, spec) {
      return toHook(await restCall<GitlabHook>(`GitLab hook creation on ${repo}`, 'POST', `${project(repo)}/hooks`, headers, hookBody(spec)));
    },
    async updateHook(repo, hook, spec) {
      await restCall(`GitLab hook ${hook.id} on ${repo}`, 'PUT', `${project(repo)}/hooks/${hook.id}`, headers, hookBody(spec));
    },
    async hookDeliveries(repo, hookId, sinceMs) {
      type Event = { id: number; trigger: string; response_status: string | number; created_at: string; request_headers?: Record<string, string> };
      let events: Event[];
      try {
        events = await restCall<Event[]>(`GitLab hook events of ${repo}`, 'GET', `${project(repo)}/hooks/${hookId}/events?per_page=100`, headers);
      } catch (err) {
        // The hook was just listed, so a 404 here is the route: GitLab added it in 17.3.
        if (err instanceof ForgeApiError && err.status === 404)
          return {
            unavailable:
              'this GitLab keeps no delivery log the API shows (the hook events API came in GitLab 17.3), so failed deliveries cannot be seen or resent',
          };
        throw err;
      }
      return events
        .map((e) => {
          // The same id intake de-duplicates on: Idempotency-Key survives resends, the UUID does not.
          const sent = Object.fromEntries(Object.entries(e.request_headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
          const guid = sent['idempotency-key'] ?? sent['webhook-id'] ?? sent['x-gitlab-event-uuid'];
          const code = String(e.response_status);
          return {
            id: String(e.id),
            ...(guid ? { guid } : {}),
            at: Date.parse(e.created_at),
            event: e.trigger,
            statusCode: /^\d+$/.test(code) ? Number(code) : 0,
          };
        })
        .filter((e) => e.at >= sinceMs);
    },
    async testHook(repo, hookId) {
      // A push test delivery: GitLab sends it even to a disabled hook, and a 2xx answer re-enables the hook.
      await restCall(`GitLab test delivery of hook ${hookId} on ${repo}`, 'POST', `${project(repo)}/hooks/${hookId}/test/push_events`, headers);
    },
    async redeliver(repo, hookId, deliveryId) {
      await restCall(`GitLab resend of event ${deliveryId} on ${repo}`, 'POST', `${project(repo)}/hooks/${hookId}/events/${deliveryId}/resend`, headers);
    },
    async postStatus(status) {
      const state = gitlabState(status.state);
      try {
        await api.Commits.editStatus(status.repo, status.sha, state, {
          name: status.context,
          targetUrl: status.targetUrl,
          description: status.description,
          ...(status.ref ? { ref: status.ref } : {}),
        });
      } catch (err) {
        if (alreadySet(err)) return;
        const wrapped = await wrap(`GitLab status for ${status.repo}@${status.sha.slice(0, 7)}`, err);
        if (wrapped instanceof ForgeApiError && wrapped.status === 403) {
          // GitLab refuses a status on a ref the token's user may neither push nor merge to.
          throw new ForgeApiError(
            `${wrapped.message} — GitLab posts statuses on ${status.ref ? `branch ${status.ref}` : 'a protected branch'} only for a user who may push or merge to it: give forges.gitlab.token the Maintainer role, or allow Developers to merge to that branch (Settings → Repository → Protected branches)`,
            403,
            false,
            undefined,
            { cause: wrapped },
          );
        }
        throw wrapped;
      }
    },
    async upsertComment(repo, number, marker, body, knownId) {
      const what = `GitLab note on ${repo}!${number}`;
      try {
        let id = knownId;
        if (!id) {
          const notes = await api.MergeRequestNotes.all(repo, number);
          const found = notes.find((n) => n.body.includes(marker));
          if (found) id = String(found.id);
        }
        if (id) {
          try {
            await api.MergeRequestNotes.edit(repo, number, Number(id), { body });
            return id;
          } catch (err) {
            if (gitbeakerResponse(err)?.status !== 404) throw err;
          }
        }
        const created = await api.MergeRequestNotes.create(repo, number, body);
        return String(created.id);
      } catch (err) {
        throw await wrap(what, err);
      }
    },
  };
}
