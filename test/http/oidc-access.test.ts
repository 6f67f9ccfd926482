// OpenID Connect sign-in's parts that need no provider: groups mapped to apps, the groups claim
// as providers send it, the configuration it refuses (with the key and what to fix), and
// check-config's warnings. The whole flow: test/http/signin-oidc.test.ts (a stand-in provider)
// and test/real/gitea/oidc.test.ts (Gitea as provider, in Chromium).
import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { groupAccess } from '../../src/http/access.js';
import { groupsFromClaim } from '../../src/http/signin-oidc.js';
import { describeConfig } from '../../src/main.js';

const SECRETS = 'clientId: landfall, clientSecret: client-secret-0123, sessionSecret: a-session-secret-of-at-least-32-chars';
const FORGES_AND_APPS = `forges: { gitea: { webhookSecret: oidc-secret-0123, url: https://gitea.example.com } }
apps:
  - { name: web, forge: gitea, repo: acme/web, branch: main, namespace: web }
  - { name: api, forge: gitea, repo: acme/api, branch: main, namespace: api }
  - { name: db, forge: gitea, repo: acme/db, branch: main, namespace: db }
`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, {}, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

t.test('groups map to apps: read for every mapped group, write only with access: write', async (t) => {
  const config = parseConfig(
    `server:
  auth:
    signIn: { provider: oidc, issuer: "https://gitea.example.com/", ${SECRETS} }
    groups:
      - { group: "acme:devs", apps: [web, api] }
      - { group: "acme:ops", apps: [api], access: write }
      - { group: acme-admins, access: write }
${FORGES_AND_APPS}`,
    {},
    'test.yaml',
  );
  t.same(config.server.auth.groups[0], { group: 'acme:devs', apps: ['web', 'api'], access: 'read' }, 'access defaults to read');
  const mapped = config.server.auth.groups;

  const dev = groupAccess(mapped, 'dev', ['acme', 'acme:devs']);
  t.same(
    ['web', 'api', 'db'].map((a) => [dev.canRead(a), dev.canWrite(a)]),
    [
      [true, false],
      [true, false],
      [false, false],
    ],
    'a developer reads web and api, writes nothing, and db does not exist for them',
  );
  t.equal(dev.kind, 'user');
  t.equal(dev.login, 'dev');
  t.same(dev.groups, ['acme', 'acme:devs'], 'the pages can say which groups they have');

  const both = groupAccess(mapped, 'both', ['acme:devs', 'acme:ops']);
  t.same([both.canRead('web'), both.canWrite('web'), both.canWrite('api'), both.canRead('db')], [true, false, true, false], 'mappings add up, per app');

  const admin = groupAccess(mapped, 'admin', ['acme-admins']);
  t.ok(admin.canRead('db') && admin.canWrite('db') && admin.canWrite('web'), 'a mapping without apps covers every app');

  const nobody = groupAccess(mapped, 'nobody', ['acme', 'ACME:DEVS', 'acme:devs ']);
  t.notOk(
    ['web', 'api', 'db'].some((a) => nobody.canRead(a) || nobody.canWrite(a)),
    'group names match exactly: case and spaces count',
  );
  const none = groupAccess(mapped, 'none', []);
  t.notOk(none.canRead('web'), 'no groups, no apps');
  t.notOk(groupAccess([], 'x', ['acme:devs']).canRead('web'), 'no mappings, no apps');
});

t.test('the groups claim: a list of names, or one name; anything else is no claim', async (t) => {
  t.same(groupsFromClaim({ groups: ['acme', 'acme:devs'] }, 'groups'), ['acme', 'acme:devs']);
  t.same(groupsFromClaim({ roles: 'admins' }, 'roles'), ['admins'], 'one string is one group, under the configured claim');
  t.same(groupsFromClaim({ groups: ['a', 7, null, '', 'b'] }, 'groups'), ['a', 'b'], 'entries that are no names are skipped');
  t.same(groupsFromClaim({ groups: [] }, 'groups'), [], 'an empty list is a claim with no groups');
  t.equal(groupsFromClaim({ name: 'x' }, 'groups'), undefined, 'absent: ask userinfo');
  t.equal(groupsFromClaim({ groups: { a: 1 } }, 'groups'), undefined, 'an object is not a list of groups');
  t.equal(groupsFromClaim(undefined, 'groups'), undefined);
  t.equal(groupsFromClaim({ groups: Array.from({ length: 2000 }, (_, i) => `g${i}`) }, 'groups')?.length, 500, 'a session keeps at most 500 groups');
  t.same(groupsFromClaim({ groups: ['ok', 'x'.repeat(300)] }, 'groups'), ['ok'], 'and no absurdly long names');
});

t.test('configuration OpenID Connect sign-in refuses, with the key and what to fix', async (t) => {
  t.same(
    problems(`server: { auth: { signIn: { provider: oidc, ${SECRETS} } } }\n${FORGES_AND_APPS}`),
    [
      "server.auth.signIn.issuer: required with provider: oidc: the provider's issuer URL, e.g. https://gitea.example.com or https://keycloak.example.com/realms/acme",
    ],
    'provider: oidc without issuer',
  );
  t.match(problems(`server: { auth: { signIn: { provider: oidc, issuer: gitea.example.com, ${SECRETS} } } }\n${FORGES_AND_APPS}`), [
    'server.auth.signIn.issuer: must be an http(s) URL',
  ]);
  t.match(
    problems(
      `server: { auth: { signIn: { provider: oidc, issuer: "https://id.example.com", url: "https://gitea.example.com", ${SECRETS} } } }\n${FORGES_AND_APPS}`,
    ),
    ['server.auth.signIn.url: is for forge sign-in; with provider: oidc set issuer instead'],
  );
  t.match(
    problems(`server: { auth: { signIn: { provider: oidc, issuer: "https://id.example.com", scopes: [profile, groups], ${SECRETS} } } }\n${FORGES_AND_APPS}`),
    ['server.auth.signIn.scopes: must include openid (without it there is no ID token)'],
  );
  t.same(
    problems(`server: { auth: { signIn: { provider: gitea, issuer: "https://id.example.com", groupsClaim: roles, ${SECRETS} } } }\n${FORGES_AND_APPS}`),
    [
      "server.auth.signIn.issuer: is for provider: oidc only; with provider: gitea remove it (the forge's scopes are fixed, and access follows the repository)",
      "server.auth.signIn.groupsClaim: is for provider: oidc only; with provider: gitea remove it (the forge's scopes are fixed, and access follows the repository)",
    ],
    'OpenID Connect settings with a forge provider',
  );
  t.same(
    problems(`server: { auth: { signIn: { provider: gitea, ${SECRETS} }, groups: [{ group: devs }] } }\n${FORGES_AND_APPS}`),
    [
      'server.auth.groups: maps OpenID Connect groups, but signIn.provider is gitea (access follows the repository there); set signIn.provider: oidc, or remove groups',
    ],
    'groups with forge sign-in',
  );
  t.same(
    problems(`server: { auth: { groups: [{ group: devs }] } }\n${FORGES_AND_APPS}`),
    ['server.auth.groups: maps OpenID Connect groups, but sign-in is not configured; set signIn with provider: oidc, or remove groups'],
    'groups without sign-in',
  );
  t.same(
    problems(
      `server: { auth: { signIn: { provider: oidc, issuer: "https://id.example.com", ${SECRETS} }, groups: [{ group: devs, apps: [web, wbe], access: admin }] } }\n${FORGES_AND_APPS}`,
    ),
    ['server.auth.groups[0].access: must be read or write', 'server.auth.groups[0].apps[1]: "wbe" is not an app of this configuration (apps: web, api, db)'],
    'a mapping names known apps and read or write',
  );
  t.match(problems(`server: { auth: { signIn: { provider: keycloak, ${SECRETS} } } }\n${FORGES_AND_APPS}`), [
    'server.auth.signIn.provider: must be gitea, github, gitlab, bitbucket or oidc',
  ]);
});

t.test('the issuer is kept exactly as written; scopes and claim have defaults', async (t) => {
  const config = parseConfig(
    `server: { auth: { signIn: { provider: oidc, issuer: "https://gitea.example.com/", ${SECRETS} } } }\n${FORGES_AND_APPS}`,
    {},
    'test.yaml',
  );
  t.equal(config.server.auth.signIn?.issuer, 'https://gitea.example.com/', 'the issuer is kept as written (a slash matters for one with a path)');
  t.equal(config.server.auth.signIn?.scopes, undefined, 'scopes default in the flow (openid profile email groups)');
  const fromEnv = parseConfig(FORGES_AND_APPS, {
    LANDFALL_SERVER__AUTH__SIGN_IN__PROVIDER: 'oidc',
    LANDFALL_SERVER__AUTH__SIGN_IN__ISSUER: 'https://id.example.com/realms/acme',
    LANDFALL_SERVER__AUTH__SIGN_IN__SCOPES: 'openid,profile,groups',
    LANDFALL_SERVER__AUTH__SIGN_IN__CLIENT_ID: 'landfall',
    LANDFALL_SERVER__AUTH__SIGN_IN__CLIENT_SECRET: 'client-secret-0123',
    LANDFALL_SERVER__AUTH__SIGN_IN__SESSION_SECRET: 'a-session-secret-of-at-least-32-chars',
  });
  t.same(fromEnv.server.auth.signIn?.scopes, ['openid', 'profile', 'groups'], 'scopes from a variable are a comma list');
});

t.test('check-config warns about OpenID Connect sign-in that grants nothing, or talks in clear text', async (t) => {
  const describe = (signIn: string, groups = '') =>
    describeConfig(parseConfig(`server: { auth: { signIn: { provider: oidc, ${signIn}, ${SECRETS} }${groups} } }\n${FORGES_AND_APPS}`, {}, 'test.yaml'));
  t.match(describe('issuer: "https://id.example.com"'), /warning: server\.auth\.signIn\.provider is oidc but server\.auth\.groups maps no group/);
  t.notMatch(describe('issuer: "https://id.example.com"', ', groups: [{ group: devs }]'), /warning/);
  t.match(
    describe('issuer: "http://id.example.com/"', ', groups: [{ group: devs }]'),
    /warning: server\.auth\.signIn\.issuer is http:\/\/id\.example\.com\/: .* unencrypted/,
  );
  t.notMatch(describe('issuer: "http://127.0.0.1:3000/"', ', groups: [{ group: devs }]'), /warning/, 'a provider on loopback may speak http');
});
