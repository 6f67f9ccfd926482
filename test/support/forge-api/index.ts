/**
 * Forge API stand-ins: local HTTP servers that answer like GitHub, GitLab, Bitbucket Cloud,
 * Bitbucket Data Center and Gitea for the calls Landfall makes (commit statuses, pull-request
 * comments, repository webhooks and their deliveries, GitHub App auth and check runs, and the
 * preview calls: pull requests, permissions, commit checks, GitHub deployments, GitLab
 * environments), and record anything they did not expect. See README.md.
 *
 *   const forge = await startForgeApi('github', { token: 'ghp_test' });
 *   // configure Landfall with forge.url, run it, then:
 *   await forge.waitFor((f) => f.statuses.latest(sha, 'landfall/prod')?.state === 'success', 5000);
 *   t.same(forge.unexpected, []);
 *   await forge.close();
 */
import { bitbucketServerForge } from './bitbucket-server.js';
import { bitbucketForge } from './bitbucket.js';
import { giteaForge } from './gitea.js';
import { githubForge } from './github.js';
import { gitlabForge } from './gitlab.js';
import { serveForge, type ForgeApi, type ForgeApiOptions, type ForgeDefinition, type ForgeId } from './server.js';

/** The handle, its options and the shapes it records. */
export type {
  CheckRunLog,
  CheckRunSeed,
  CheckRunUpdate,
  DeliverySeed,
  DownMode,
  EnvironmentSeed,
  FaultSpec,
  ForgeApi,
  ForgeApiOptions,
  ForgeCheckRun,
  ForgeComment,
  ForgeDelivery,
  ForgeDeployment,
  ForgeDeploymentStatus,
  ForgeEnvironment,
  ForgeHook,
  ForgeId,
  ForgePermission,
  ForgePullRequest,
  ForgeRedelivery,
  ForgeStatus,
  GitHubAppOptions,
  GitHubDelivery,
  GitLabHookEvent,
  GitLabOptions,
  HookTest,
  HookLog,
  HookSeed,
  IssuedInstallationToken,
  PermissionLevel,
  PullRequestChange,
  PullRequestSeed,
  RecordedRequest,
  StatusLog,
  UnexpectedRequest,
} from './server.js';
/** Per-forge limits and state lists, for tests that probe the edges. */
export {
  GITHUB_COMMENT_MAX,
  GITHUB_DESCRIPTION_MAX,
  GITHUB_DELIVERY_RETENTION_MS,
  GITHUB_HOOK_EVENTS,
  GITHUB_HOOKS_PER_EVENT_MAX,
  GITHUB_STATES,
} from './github.js';
/** GitHub App and checks limits. */
export {
  GITHUB_APP_DEFAULT_PERMISSIONS,
  GITHUB_CHECK_ANNOTATIONS_MAX,
  GITHUB_CHECK_CONCLUSIONS,
  GITHUB_CHECK_OUTPUT_MAX,
  GITHUB_CHECK_STATUSES,
  GITHUB_INSTALLATION_TOKEN_TTL_MS,
  GITHUB_JWT_IAT_LEEWAY_S,
  GITHUB_JWT_MAX_LIFETIME_S,
} from './github-app.js';
/** GitHub deployment states and limit. */
export { GITHUB_DEPLOYMENT_DESCRIPTION_MAX, GITHUB_DEPLOYMENT_STATES } from './github-previews.js';
/** GitLab's states and length limits. */
export {
  GITLAB_DEFAULT_VERSION,
  GITLAB_ENVIRONMENT_TIERS,
  GITLAB_FIELD_MAX,
  GITLAB_HOOK_EVENT_FLAGS,
  GITLAB_TEST_TRIGGERS,
  GITLAB_HOOK_EVENT_RETENTION_MS,
  GITLAB_NOTE_MAX,
  GITLAB_RESEND_PER_MINUTE,
  GITLAB_STATES,
} from './gitlab.js';
/** Bitbucket Cloud's states and key limit. */
export { BITBUCKET_HOOK_EVENTS, BITBUCKET_KEY_MAX, BITBUCKET_STATES } from './bitbucket.js';
/** Bitbucket Data Center's states and limits. */
export { BITBUCKET_SERVER_FIELD_MAX, BITBUCKET_SERVER_HOOK_EVENTS, BITBUCKET_SERVER_STATES, BITBUCKET_SERVER_URL_MAX } from './bitbucket-server.js';
/** Gitea's states. */
export { GITEA_HOOK_EVENT_NAMES, GITEA_HOOK_EVENTS, GITEA_HOOK_TYPES, GITEA_STATES, giteaStoredEvents } from './gitea.js';

/** Every forge id `startForgeApi` accepts. */
export const FORGE_IDS: readonly ForgeId[] = ['github', 'gitlab', 'bitbucket', 'bitbucket-server', 'gitea'];

function definitionFor(forge: ForgeId): ForgeDefinition {
  switch (forge) {
    case 'github':
      return githubForge();
    case 'gitlab':
      return gitlabForge();
    case 'bitbucket':
      return bitbucketForge();
    case 'bitbucket-server':
      return bitbucketServerForge();
    case 'gitea':
      return giteaForge();
  }
}

/**
 * Starts a stand-in for `forge` on 127.0.0.1 (free port). `handle.url` is the base URL to give
 * Landfall: GitHub `…/api/v3`, GitLab origin, Bitbucket Cloud `…/2.0`, Data Center origin, Gitea origin.
 */
export async function startForgeApi(forge: ForgeId, options: ForgeApiOptions): Promise<ForgeApi> {
  if (!FORGE_IDS.includes(forge)) throw new Error(`startForgeApi: unknown forge ${JSON.stringify(forge)}`);
  if (options.token === '') throw new Error('startForgeApi: token may not be empty');
  return serveForge(definitionFor(forge), options);
}
