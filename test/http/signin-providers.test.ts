// Each sign-in provider asks its forge the documented questions: who signed in, and may they
// read (push to) this repository. One stand-in answers as GitHub, GitLab and Bitbucket Cloud do.
import t from 'tap';
import { createServer } from 'node:http';
import { parseConfig } from '../../src/config/load.js';
import { signInProvider } from '../../src/http/signin-providers.js';

const TOKEN = 'person-token';

t.test('GitHub, GitLab and Bitbucket: endpoints, user and repository access', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.headers.authorization} ${url.pathname}${url.search}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { message: 'Bad credentials' });
    switch (url.pathname) {
      // GitHub REST: GET /user, GET /repos/{owner}/{repo} with permissions.
      case '/api/v3/user':
        return json(200, { id: 7, login: 'octo' });
      case '/api/v3/repos/acme/web':
        return json(200, { permissions: { admin: false, push: false, pull: true } });
      case '/api/v3/repos/acme/ops':
        return json(200, { permissions: { admin: false, push: true, pull: true } });
      // GitLab: GET /api/v4/user, GET /api/v4/projects/:url-encoded-path with permissions.
      case '/api/v4/user':
        return json(200, { id: 9, username: 'gitty' });
      case '/api/v4/projects/group%2Fsub%2Fweb':
        return json(200, { permissions: { project_access: null, group_access: { access_level: 30 } } });
      case '/api/v4/projects/group%2Freporter':
        return json(200, { permissions: { project_access: { access_level: 20 }, group_access: null } });
      // Bitbucket Cloud: GET /2.0/user, GET /2.0/user/permissions/repositories?q=repository.full_name="..."
      case '/2.0/user':
        return json(200, { uuid: '{b1}', nickname: 'bucky', account_id: 'a1' });
      case '/2.0/user/permissions/repositories': {
        const q = url.searchParams.get('q');
        const permission = q === 'repository.full_name="team/web"' ? 'write' : q === 'repository.full_name="team/docs"' ? 'read' : undefined;
        return json(200, { values: permission ? [{ permission, repository: { full_name: 'x' } }] : [] });
      }
      default:
        return json(404, { message: 'Not Found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const signIn = (provider: string, forges: string) =>
    parseConfig(
      `server: { auth: { signIn: { provider: ${provider}, clientId: c, clientSecret: client-secret-1, sessionSecret: a-session-secret-of-at-least-32-chars } } }\nforges: ${forges}\n`,
      {},
      'test.yaml',
    );

  const githubConfig = signIn('github', `{ github: { webhookSecret: secret-123, apiUrl: ${base}/api/v3 } }`);
  const github = signInProvider(githubConfig, githubConfig.server.auth.signIn!);
  t.same(
    github.endpoints,
    { authorizeHost: base, authorizePath: '/login/oauth/authorize', tokenHost: base, tokenPath: '/login/oauth/access_token' },
    'GitHub Enterprise: the web host of the API',
  );
  t.same(await github.user(TOKEN), { id: '7', login: 'octo' });
  t.same(await github.repoAccess(TOKEN, 'acme/web'), { read: true, write: false });
  t.same(await github.repoAccess(TOKEN, 'acme/ops'), { read: true, write: true });
  t.same(await github.repoAccess(TOKEN, 'acme/secret'), { read: false, write: false }, '404: no access');
  const dotcom = parseConfig(
    'server: { auth: { signIn: { provider: github, clientId: c, clientSecret: client-secret-1, sessionSecret: a-session-secret-of-at-least-32-chars } } }\n',
    {},
    'test.yaml',
  );
  t.equal(signInProvider(dotcom, dotcom.server.auth.signIn!).endpoints.authorizeHost, 'https://github.com');

  const gitlabConfig = signIn('gitlab', `{ gitlab: { webhookSecret: secret-123, url: ${base} } }`);
  const gitlab = signInProvider(gitlabConfig, gitlabConfig.server.auth.signIn!);
  t.same(gitlab.endpoints, { authorizeHost: base, authorizePath: '/oauth/authorize', tokenHost: base, tokenPath: '/oauth/token' });
  t.same(gitlab.scope, ['read_api']);
  t.same(await gitlab.user(TOKEN), { id: '9', login: 'gitty' });
  t.same(await gitlab.repoAccess(TOKEN, 'group/sub/web'), { read: true, write: true }, 'Developer through the group may push');
  t.same(await gitlab.repoAccess(TOKEN, 'group/reporter'), { read: true, write: false }, 'Reporter reads');
  t.same(await gitlab.repoAccess(TOKEN, 'group/hidden'), { read: false, write: false });

  const bitbucketConfig = signIn('bitbucket', `{ bitbucket: { webhookSecret: secret-123, apiUrl: ${base}/2.0 } }`);
  const bitbucket = signInProvider(bitbucketConfig, bitbucketConfig.server.auth.signIn!);
  t.same(bitbucket.endpoints, {
    authorizeHost: 'https://bitbucket.org',
    authorizePath: '/site/oauth2/authorize',
    tokenHost: 'https://bitbucket.org',
    tokenPath: '/site/oauth2/access_token',
  });
  t.same(await bitbucket.user(TOKEN), { id: '{b1}', login: 'bucky' });
  t.same(await bitbucket.repoAccess(TOKEN, 'team/web'), { read: true, write: true });
  t.same(await bitbucket.repoAccess(TOKEN, 'team/docs'), { read: true, write: false });
  t.same(await bitbucket.repoAccess(TOKEN, 'team/other'), { read: false, write: false });

  await t.rejects(github.user('wrong'), /did not say who signed in \(401\)/, 'a token the forge refuses signs nobody in');
  t.ok(
    seen.every((s) => s.startsWith('Bearer ')),
    "every question is asked with the person's token",
  );
});
