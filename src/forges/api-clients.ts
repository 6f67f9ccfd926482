import type { Config, ForgeId } from '../config/schema.js';
import type { ForgeApi } from './forge-api.js';
import { createBitbucketApi } from './bitbucket/api.js';
import { createBitbucketServerApi } from './bitbucket-server/api.js';
import { createGiteaApi } from './gitea/api.js';
import { createGithubApi } from './github/api.js';
import { withCheckRunReports } from './github/check-runs.js';
import { createGitlabApi } from './gitlab/api.js';

/** REST clients for every configured forge that has a token (or, for GitHub, an App). */
export function createForgeApis(forges: Config['forges']): Map<ForgeId, ForgeApi> {
  const apis = new Map<ForgeId, ForgeApi>();
  if (forges.github?.token || forges.github?.app)
    apis.set('github', withCheckRunReports(createGithubApi({ token: forges.github.token, app: forges.github.app, apiUrl: forges.github.apiUrl })));
  if (forges.gitlab?.token) apis.set('gitlab', createGitlabApi({ token: forges.gitlab.token, url: forges.gitlab.url }));
  if (forges.bitbucket?.token)
    apis.set('bitbucket', createBitbucketApi({ token: forges.bitbucket.token, username: forges.bitbucket.username, apiUrl: forges.bitbucket.apiUrl }));
  if (forges['bitbucket-server']?.token)
    apis.set('bitbucket-server', createBitbucketServerApi({ token: forges['bitbucket-server'].token, url: forges['bitbucket-server'].url }));
  if (forges.gitea?.token) apis.set('gitea', createGiteaApi({ token: forges.gitea.token, url: forges.gitea.url }));
  return apis;
}
