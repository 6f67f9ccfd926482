import { ForgeApiError } from '../forge-api-error.js';
import type { ForgeApi, HookSpec, RemoteHook } from '../forge-api.js';
import { restCall } from '../rest-call.js';
import { giteaPullRequestCalls } from './pull-requests.js';

/**
 * The events Landfall handles, as Gitea lists them back on a hook: pushes, pull requests opened,
 * reopened or closed (`pull_request`), new commits on a pull request (`pull_request_sync`), its
 * labels changed (`pull_request_label`) and comments on it (`pull_request_comment`; `issue_comment`
 * is comments on issues only, though both are delivered with `X-Gitea-Event: issue_comment`:
 * services/webhook/notifier.go picks HookEventPullRequestComment when the issue is a pull request).
 */
export const GITEA_HOOK_EVENTS = ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'] as const;

/**
 * The names to send for the events Gitea lists back. Gitea reads `pull_request` in a create or
 * edit as "every pull-request event" (assign, label, milestone, comment, review, review request
 * and sync; `routers/api/v1/utils/hook.go`, `updateHookEvents`) and lists them all back, so a hook
 * asked for `pull_request` never equals what Landfall wants; `pull_request_only` is the plain one.
 */
const SEND_AS: Record<string, string> = { pull_request: 'pull_request_only' };

type GiteaHook = {
  id: number;
  type: string;
  active: boolean;
  events: string[];
  branch_filter?: string;
  authorization_header?: string;
  config: { url?: string; content_type?: string };
};

function toHook(h: GiteaHook): RemoteHook {
  return {
    id: String(h.id),
    url: h.config.url ?? '',
    active: h.active,
    events: [...h.events].sort(),
    ...(h.config.content_type ? { contentType: h.config.content_type } : {}),
    keep: { branch_filter: h.branch_filter ?? '', authorization_header: h.authorization_header ?? '' },
  };
}

/**
 * The fields both create and edit take (`type` is for create only: EditHookOption has none).
 * Gitea's edit replaces the events, the branch filter and the authorization header with what it is
 * sent (absent means none), so an update sends back the ones a person set on the hook.
 */
function hookBody(spec: HookSpec, keep: Record<string, unknown> = {}) {
  return {
    active: true,
    events: spec.events.map((e) => SEND_AS[e] ?? e),
    ...(keep['branch_filter'] ? { branch_filter: keep['branch_filter'] } : {}),
    ...(keep['authorization_header'] ? { authorization_header: keep['authorization_header'] } : {}),
    config: { url: spec.url, content_type: 'json', ...(spec.secret ? { secret: spec.secret } : {}) },
  };
}

/** Settings for the Gitea / Forgejo API client. */
export interface GiteaApiSettings {
  token: string;
  url: string;
}

/**
 * Gitea and Forgejo REST v1: commit statuses, issue comments, repository webhooks, and the
 * pull-request calls previews need (pull-requests.ts).
 */
export function createGiteaApi(settings: GiteaApiSettings): ForgeApi {
  const headers = { authorization: `token ${settings.token}` };
  const repoUrl = (repo: string) => `${settings.url}/api/v1/repos/${repo.split('/').map(encodeURIComponent).join('/')}`;
  return {
    forge: 'gitea',
    descriptionLimit: 255,
    hookEvents: GITEA_HOOK_EVENTS,
    // Gitea 1.26's hook edit never reads config.secret: only the web form changes it.
    hookSecretEditable: false,
    ...giteaPullRequestCalls({ headers, repoUrl }),
    async listHooks(repo) {
      const hooks = await restCall<GiteaHook[]>(`Gitea hooks of ${repo}`, 'GET', `${repoUrl(repo)}/hooks?limit=50`, headers);
      return hooks.filter((h) => h.type === 'gitea' || h.type === 'forgejo').map(toHook);
    },
    async createHook(repo, spec) {
      return toHook(
        await restCall<GiteaHook>(`Gitea hook creation on ${repo}`, 'POST', `${repoUrl(repo)}/hooks`, headers, { type: 'gitea', ...hookBody(spec) }),
      );
    },
    async updateHook(repo, hook, spec) {
      await restCall(`Gitea hook ${hook.id} on ${repo}`, 'PATCH', `${repoUrl(repo)}/hooks/${hook.id}`, headers, hookBody(spec, hook.keep));
    },
    async testHook(repo, hookId) {
      await restCall(`Gitea test delivery of hook ${hookId} on ${repo}`, 'POST', `${repoUrl(repo)}/hooks/${hookId}/tests`, headers);
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
