import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig, resolveConfigPath } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/duration.js';

const BASE = `
forges:
  github: { webhookSecret: s3cret-value }
apps:
  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }
`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

t.test('a minimal config gets the documented defaults', async (t) => {
  const config = parseConfig(BASE, {});
  t.match(config.server, { host: '0.0.0.0', port: 8080, maxBodyBytes: 26_214_400, apiTokens: [] });
  t.same(config.redis, { url: 'redis://127.0.0.1:6379', prefix: 'landfall' });
  t.same(config.clusters, { default: {} });
  t.same(config.forges.github, { webhookSecret: ['s3cret-value'], insecureNoSignature: false, apiUrl: 'https://api.github.com' });
  const app = config.apps[0]!;
  t.match(app, {
    path: '.',
    cluster: 'default',
    createNamespace: false,
    prune: true,
    selfHeal: true,
    allowEmpty: false,
    healthTimeout: 660_000,
    failFastAfter: 30_000,
    recreate: false,
    ignoreFields: [],
    driftInterval: 180_000,
    allowedNamespaces: ['web'],
  });
  t.same(
    app.takeOverFieldsFrom.map((m) => m.manager),
    ['kubectl-client-side-apply', 'before-first-apply', 'kubectl', 'kubectl-create', 'helm'],
  );
});

t.test('${VAR} comes from the environment; a missing one is an error naming it', async (t) => {
  const yaml = `
server: { port: "\${PORT}", publicUrl: "https://\${HOST}/landfall", apiTokens: ["\${TOKEN:-fallback-token}"] }
forges:
  github: { webhookSecret: ["\${NEW_SECRET}", "\${OLD_SECRET}"], token: "$\${literal}" }
`;
  const config = parseConfig(yaml, { PORT: '9090', HOST: 'deploy.example.com', NEW_SECRET: 'n3w-secret-value', OLD_SECRET: 'o1d-secret-value' });
  t.equal(config.server.port, 9090, 'numbers from variables');
  t.equal(config.server.publicUrl, 'https://deploy.example.com/landfall');
  t.same(config.server.apiTokens, ['fallback-token'], 'default after :-');
  t.same(config.forges.github?.webhookSecret, ['n3w-secret-value', 'o1d-secret-value'], 'a list of secrets, for rotation');
  t.equal(config.forges.github?.token, '${literal}', '$$ escapes a dollar');
  t.same(problems(yaml, { PORT: '9090', HOST: 'h' }), [
    'forges.github.webhookSecret[0]: environment variable NEW_SECRET is not set',
    'forges.github.webhookSecret[1]: environment variable OLD_SECRET is not set',
  ]);
});

t.test('a secret containing YAML syntax cannot change the file structure', async (t) => {
  const config = parseConfig(`forges:\n  github: { webhookSecret: "\${S}" }\n`, { S: 'a: b\n- c and more' });
  t.same(config.forges.github?.webhookSecret, ['a: b\n- c and more']);
});

t.test('every kind of bad config yields its message and path, all at once', async (t) => {
  const yaml = `
server: { port: 70000, hots: x, maxBodyBytes: -1 }
redis: { url: "http://localhost" }
forges:
  github: { token: abc }
  gitea: { webhookSecret: short, url: "https://gitea.example.com" }
  gitlab: { webhookSecret: "trailing ", signingToken: "not-whsec", url: nope }
  bitbucket-server: { webhookSecret: x-secret-value }
  gogs: {}
clusters:
  default: {}
  prod: { inCluster: false }
apps:
  - name: Guestbook
    forge: github
    repo: acme/guestbook
    namespace: guestbook
  - name: web
    forge: gitea
    repo: acme
    branch: main
    namespace: Web
    path: ../outside
    healthTimeout: 5 minutes
    cluster: staging
    selfheal: true
  - { name: web, forge: bitbucket-server, repo: PRJ/a/b, branch: main, namespace: web, path: /etc, prune: maybe }
  - { name: this-name-is-far-too-long-for-landfall, forge: github, repo: acme/web, branch: main, namespace: web, allowedNamespaces: [other] }
`;
  t.same(
    problems(yaml).sort(),
    [
      'apps[0].branch: required',
      'apps[0].name: must be lowercase letters, digits and "-", starting and ending with a letter or digit',
      'apps[1].cluster: cluster "staging" is not defined under clusters (defined: default, prod)',
      'apps[1].healthTimeout: "5 minutes" is not a duration; write it like 90s, 5m or 1h',
      'apps[1].namespace: must be a valid Kubernetes namespace name (lowercase letters, digits and "-")',
      'apps[1].path: must not contain ".." (it would leave the repository)',
      'apps[1].repo: must be the full name, like owner/name (GitLab: group/subgroup/project)',
      'apps[1].selfheal: unknown key (did you mean "selfHeal"?)',
      'apps[2].name: "web" is already used by apps[1]',
      'apps[2].path: must be relative to the repository root',
      'apps[2].prune: must be true or false',
      'apps[2].repo: must be PROJECT/slug for Bitbucket Data Center',
      'apps[3].allowedNamespaces: must include the app\'s own namespace "web"',
      'apps[3].name: must be at most 30 characters',
      'clusters.prod.inCluster: must be true, or leave inCluster out and give kubeconfig/context',
      'forges.bitbucket-server.url: required',
      'forges.github.webhookSecret: required: set the webhook secret, or say insecureNoSignature: true to accept unsigned webhooks',
      'forges.gitea.webhookSecret: must be at least 8 characters; a short secret can be guessed',
      'forges.github.token: must be at least 8 characters; a short secret can be guessed',
      'forges.gitlab.signingToken[0]: must be the whsec_... signing token GitLab generated',
      'forges.gitlab.url: must be an http(s) URL',
      'forges.gitlab.webhookSecret: has leading or trailing whitespace (a newline copied from a file?); remove it',
      'forges.gogs: unknown key',
      'redis.url: must be a redis:// or rediss:// URL',
      'server.hots: unknown key (did you mean "host"?)',
      'server.maxBodyBytes: must be positive',
      'server.port: must be a TCP port (0-65535)',
    ].sort(),
  );
});

t.test('forge sections: a missing secret is refused unless insecureNoSignature says so', async (t) => {
  t.same(problems('forges:\n  gitea: { url: "https://g.example.com" }\n'), [
    'forges.gitea.webhookSecret: required: set the webhook secret, or say insecureNoSignature: true to accept unsigned webhooks',
  ]);
  t.same(problems('forges:\n  gitea: { url: "https://g.example.com", insecureNoSignature: true }\n'), []);
  t.same(problems(`forges:\n  gitlab: { signingToken: "whsec_${Buffer.alloc(32, 1).toString('base64')}" }\n`), [], 'GitLab: a signing token is a secret');
  t.same(problems('forges:\n  github: { webhookSecret: [] }\n'), ['forges.github.webhookSecret: must list at least one secret']);
});

t.test('YAML errors carry their line', async (t) => {
  const found = problems('server:\n  port: 8080\n  port: 9090\n');
  t.equal(found.length, 1);
  t.match(found[0], /^line 3:\d+: .*[Mm]ap keys must be unique/);
  t.match(problems('apps: [\n')[0], /^line \d+:\d+: /);
});

t.test('alias bombs in a config file are refused', async (t) => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  ].join('\n');
  t.match(problems(bomb)[0], /alias/i);
});

t.test('loadConfig reads a file; a missing file says what to do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'landfall-config-'));
  const file = join(dir, 'landfall.yaml');
  writeFileSync(file, BASE);
  t.equal((await loadConfig(file, {})).apps[0]?.name, 'web');
  const err = await loadConfig(join(dir, 'nope.yaml'), {}).catch((e: unknown) => e);
  t.type(err, ConfigError);
  t.match((err as ConfigError).problems, [{ message: /file not found; copy landfall.example.yaml/ }]);
});

t.test('config file resolution: --config, else LANDFALL_CONFIG, else ./landfall.yaml', async (t) => {
  t.equal(resolveConfigPath('a.yaml', { LANDFALL_CONFIG: 'b.yaml' }), 'a.yaml');
  t.equal(resolveConfigPath(undefined, { LANDFALL_CONFIG: 'b.yaml' }), 'b.yaml');
  t.equal(resolveConfigPath(undefined, {}), 'landfall.yaml');
});

t.test('durations', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('5'), undefined);
  t.equal(parseDuration('-5m'), undefined);
});

t.test('every value can come from LANDFALL_* variables, over the file', async (t) => {
  const env = {
    LANDFALL_SERVER__PORT: '9191',
    LANDFALL_SERVER__PUBLIC_URL: 'https://deploy.example.com',
    LANDFALL_SERVER__API_TOKENS: 'first-token-123,second-token-456',
    LANDFALL_REDIS__URL: 'redis://redis:6379',
    LANDFALL_FORGES__GITHUB__WEBHOOK_SECRET: 'env-secret-value',
    LANDFALL_FORGES__BITBUCKET_SERVER__WEBHOOK_SECRET: 'dc-secret-value',
    LANDFALL_FORGES__BITBUCKET_SERVER__URL: 'https://bitbucket.example.com',
    LANDFALL_APPS__0__BRANCH: 'release',
    LANDFALL_APPS__0__SELF_HEAL: 'false',
    LANDFALL_APPS__1: '{name: api, forge: github, repo: acme/api, branch: main, namespace: api}',
    LANDFALL_WORKER__CONCURRENCY: '8',
    LANDFALL_CLUSTERS: '{default: {inCluster: true}}',
    LANDFALL_CONFIG: 'ignored.yaml',
    LANDFALL_REDIS_URL: 'not-a-path-variable',
  };
  const config = parseConfig(BASE, env);
  t.equal(config.server.port, 9191);
  t.equal(config.server.publicUrl, 'https://deploy.example.com');
  t.same(config.server.apiTokens, ['first-token-123', 'second-token-456']);
  t.equal(config.redis.url, 'redis://redis:6379');
  t.same(config.forges.github?.webhookSecret, ['env-secret-value'], 'the variable wins over the file');
  t.equal(config.forges['bitbucket-server']?.url, 'https://bitbucket.example.com');
  t.match(config.apps[0], { name: 'web', branch: 'release', selfHeal: false, repo: 'acme/web' }, "merged into the file's app");
  t.match(config.apps[1], { name: 'api', repo: 'acme/api' });
  t.equal(config.worker.concurrency, 8);
  t.same(config.clusters, { default: { inCluster: true } });
  t.same(problems(BASE, { LANDFALL_SERVER__PORT: 'eighty' }), ['server.port: must be a whole number (from LANDFALL_SERVER__PORT)']);
});

t.test('with LANDFALL_* variables, ./landfall.yaml may be absent; an asked-for file may not', async (t) => {
  const env = {
    LANDFALL_FORGES: '{github: {webhookSecret: only-from-env-1}}',
    LANDFALL_APPS__0: '{name: web, forge: github, repo: acme/web, branch: main, namespace: web}',
  };
  const config = await loadConfig('/nonexistent/landfall.yaml', env, { optional: true });
  t.equal(config.apps[0]?.name, 'web');
  const err = await loadConfig('/nonexistent/landfall.yaml', env).catch((e: unknown) => e);
  t.type(err, ConfigError);
  const none = await loadConfig('/nonexistent/landfall.yaml', {}, { optional: true }).catch((e: unknown) => e);
  t.type(none, ConfigError, 'and without variables the file is needed');
});

t.test('preview templates are checked at start-up: each problem with its key and what to use instead', async (t) => {
  const withPreviews = (previews: string) => BASE.replace('namespace: web }', `namespace: web, previews: ${previews} }`);
  const app = parseConfig(withPreviews('{ url: "https://pr-{number}.{app}.example.com", values: { IMAGE_TAG: "{sha}" } }'), {}).apps[0]!;
  t.match(app.previews, { namespace: 'pv-{app}-{number}', url: 'https://pr-{number}.{app}.example.com', values: { IMAGE_TAG: '{sha}' } });
  t.same(
    problems(
      withPreviews(
        '{ namespace: "pv-{app}-{sha}", url: "https://{Number}.{host}.example.com", values: { "web.example.com": "pr-{pr}.example.com", ok: "{shortSha}" } }',
      ),
    ),
    [
      'apps[0].previews.namespace: {sha} cannot be used here; use {app}, {number}',
      'apps[0].previews.namespace: must contain {number}, so each pull request gets its own namespace',
      'apps[0].previews.url: {Number} is not a variable (did you mean {number}?); use {app}, {number}, {namespace}, {sha}, {shortSha}',
      'apps[0].previews.url: {host} is not a variable; use {app}, {number}, {namespace}, {sha}, {shortSha}',
      'apps[0].previews.values["web.example.com"]: {pr} is not a variable; use {app}, {number}, {namespace}, {sha}, {shortSha}',
    ],
  );
});

t.test('previews on Bitbucket need trigger: all (its pull requests have no labels)', async (t) => {
  const bitbucket = (previews: string) =>
    `forges: { bitbucket: { webhookSecret: s3cret-value } }\napps:\n  - { name: web, forge: bitbucket, repo: acme/web, branch: main, namespace: web, previews: ${previews} }\n`;
  t.same(problems(bitbucket('{}')), [
    'apps[0].previews.trigger: Bitbucket pull requests have no labels: set trigger: all (every pull request into the branch gets a preview)',
  ]);
  t.equal(parseConfig(bitbucket('{ trigger: all }'), {}).apps[0]?.previews?.trigger, 'all');
});

t.test('durations take days', async (t) => {
  const app = parseConfig(BASE.replace('namespace: web }', 'namespace: web, previews: { ttl: 7d, sleepAfter: 1d12h } }'), {}).apps[0]!;
  t.equal(app.previews?.ttl, 7 * 86_400_000);
  t.equal(app.previews?.sleepAfter, 36 * 3_600_000);
});
