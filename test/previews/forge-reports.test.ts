// Where a preview is reported on the forges that have a deployments view, through Landfall's own
// API clients against the forge stand-ins: a GitHub Deployment per head in the transient
// environment <app>-pr-<n> (older ones inactive, all inactive on teardown), and a GitLab
// environment with the preview's URL, stopped on teardown.
import t from 'tap';
import { createForgeApis } from '../../src/forges/api-clients.js';
import { startForgeApi } from '../support/forge-api/index.js';
import { appFiles } from '../support/preview-scenarios.js';
import { previewHarness } from '../support/previews.js';

const TOKEN = 'preview-reports-token';

t.test('GitHub: a Deployment per head in a transient environment, older ones inactive, all inactive once torn down', async (t) => {
  const github = await startForgeApi('github', { token: TOKEN });
  t.teardown(() => github.close());
  const api = createForgeApis({ github: { token: TOKEN, apiUrl: github.url, webhookSecret: ['unused-secret'] } } as never).get('github')!;
  const h = await previewHarness(t, '', undefined, { forge: 'github', repo: 'acme/web', api });
  await h.sync.repo.commit(appFiles('main'), 'app');
  const first = await h.sync.repo.commit(appFiles('one'), 'one', 'feature');
  h.open(5, first, 'feature');
  t.equal(await h.run(5, 'labeled'), 'deployed');
  const [deployment] = github.deployments;
  t.match(deployment, { repo: 'acme/web', sha: first, environment: 'web-pr-5', transient: true, production: false });
  t.match(deployment?.statuses.at(-1), { state: 'success', environmentUrl: 'https://pr-5.preview.test' });
  t.match(deployment?.statuses.at(-1)?.logUrl, /\/syncs\/preview-web-5-/, 'its log is the sync page');

  const second = await h.sync.repo.commit({ 'deploy/settings.yaml': appFiles('two')['deploy/settings.yaml']! }, 'two', 'feature');
  h.open(5, second, 'feature');
  t.equal(await h.run(5, 'updated'), 'deployed');
  t.equal(github.deployments.length, 2, 'a deployment per head');
  t.equal(github.deployments[0]?.statuses.at(-1)?.state, 'inactive', 'the older one is inactive');
  t.equal(github.deployments[1]?.statuses.at(-1)?.state, 'success');

  h.forge.pullRequests.get(5)!.state = 'closed';
  t.equal(await h.run(5, 'closed'), 'removed');
  t.same(
    github.deployments.map((d) => d.statuses.at(-1)?.state),
    ['inactive', 'inactive'],
    'every deployment of the environment is inactive after teardown',
  );
  t.same(github.unexpected, [], 'every call was one GitHub answers');
});

t.test('GitLab: an environment with the preview URL, stopped on teardown', async (t) => {
  const gitlab = await startForgeApi('gitlab', { token: TOKEN });
  t.teardown(() => gitlab.close());
  const api = createForgeApis({ gitlab: { token: TOKEN, url: gitlab.url, webhookSecret: ['unused-secret'] } } as never).get('gitlab')!;
  const h = await previewHarness(t, '', undefined, { forge: 'gitlab', repo: 'acme/platform/web', api });
  await h.sync.repo.commit(appFiles('main'), 'app');
  const sha = await h.sync.repo.commit(appFiles('one'), 'one', 'feature');
  h.open(6, sha, 'feature');
  t.equal(await h.run(6, 'opened'), 'deployed');
  t.match(gitlab.environments, [{ repo: 'acme/platform/web', name: 'web-pr-6', externalUrl: 'https://pr-6.preview.test', state: 'available' }]);
  h.forge.pullRequests.get(6)!.state = 'merged';
  t.equal(await h.run(6, 'merged'), 'removed');
  t.match(gitlab.environments, [{ name: 'web-pr-6', state: 'stopped' }], 'stopped on teardown');
  t.same(gitlab.unexpected, [], 'every call was one GitLab answers');
});
