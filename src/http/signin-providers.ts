import { z } from 'zod';
import type { Config } from '../config/schema.js';

/** What one forge's sign-in needs: its OAuth 2 endpoints, who signed in, and what they may do with a repository. */
export interface SignInProvider {
  /** `@fastify/oauth2`'s `credentials.auth`. */
  endpoints: { authorizeHost: string; authorizePath: string; tokenHost: string; tokenPath: string };
  /** Scopes asked for: reading the user and the repositories, nothing more where the forge allows it. */
  scope: string[];
  /** The signed-in person, asked with their token. */
  user(token: string): Promise<{ id: string; login: string }>;
  /** Whether the person may read (and push to) a repository, asked with their token. */
  repoAccess(token: string, repo: string): Promise<{ read: boolean; write: boolean }>;
}

type SignIn = NonNullable<Config['server']['auth']['signIn']>;

/** An id as forges send it: a number on most, a string on some. */
const idField = z.union([z.string(), z.number()]);
/** Gitea's and GitHub's `/user`. */
const loginUser = z.object({ id: idField, login: z.string() });
/** GitLab's `/user`. */
const gitlabUser = z.object({ id: idField, username: z.string() });
/** Bitbucket's `/user`: the uuid, else the account id; the nickname, else the username, else the display name. */
const bitbucketUser = z.object({
  uuid: z.string().nullish(),
  account_id: z.string().nullish(),
  nickname: z.string().nullish(),
  username: z.string().nullish(),
  display_name: z.string().nullish(),
});
/** Gitea's and GitHub's repository: its `permissions` as the signed-in person has them (fields left unknown: only `=== true`/`!== false` is asked). */
const permissionsRepo = z.object({ permissions: z.object({ pull: z.unknown(), push: z.unknown(), admin: z.unknown() }).partial().nullish() });
const gitlabAccess = z.object({ access_level: z.number().nullish() }).nullish();
/** GitLab's project: the person's access levels, directly and through the group. */
const gitlabProject = z.object({ permissions: z.object({ project_access: gitlabAccess, group_access: gitlabAccess }).partial().nullish() });
/** Bitbucket's `/user/permissions/repositories`: the first value's permission. */
const bitbucketPermissions = z.object({ values: z.array(z.object({ permission: z.string().optional() })).nullish() });

async function getJson(url: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { accept: 'application/json', 'user-agent': 'landfall', ...headers } });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.status >= 500) throw new Error(`${url} answered ${res.status}`);
  return { status: res.status, body };
}

/** 404 and 403 both mean "not for you"; anything else but 200 is an error worth retrying later. */
function denied(status: number): boolean {
  return status === 404 || status === 403 || status === 401;
}

function split(root: string, path: string) {
  return { host: root, path: `${new URL(root).pathname.replace(/\/$/, '')}${path}` };
}

/**
 * The sign-in provider of `server.auth.signIn`, with its web root from that section or the
 * forge's. Forges only: OpenID Connect (`provider: oidc`) is src/http/signin-oidc.ts.
 */
export function signInProvider(config: Config, signIn: SignIn): SignInProvider {
  const origin = (url: string) => new URL(url).origin;
  switch (signIn.provider) {
    case 'gitea': {
      const root = signIn.url ?? config.forges.gitea?.url;
      if (!root) throw new Error('server.auth.signIn.url (or forges.gitea.url) is needed for Gitea sign-in');
      const auth = (token: string) => ({ authorization: `token ${token}` });
      const a = split(root, '/login/oauth/authorize');
      const t = split(root, '/login/oauth/access_token');
      return {
        endpoints: { authorizeHost: origin(root), authorizePath: a.path, tokenHost: origin(root), tokenPath: t.path },
        scope: ['read:user', 'read:repository'],
        async user(token) {
          const { status, body } = await getJson(`${root}/api/v1/user`, auth(token));
          if (status !== 200) throw new Error(`Gitea did not say who signed in (${status})`);
          const user = loginUser.parse(body);
          return { id: String(user.id), login: user.login };
        },
        async repoAccess(token, repo) {
          const { status, body } = await getJson(`${root}/api/v1/repos/${repo}`, auth(token));
          if (denied(status)) return { read: false, write: false };
          if (status !== 200) throw new Error(`Gitea answered ${status} for ${repo}`);
          const { permissions } = permissionsRepo.parse(body);
          return { read: permissions?.pull !== false, write: permissions?.push === true || permissions?.admin === true };
        },
      };
    }
    case 'github': {
      const api = config.forges.github?.apiUrl ?? 'https://api.github.com';
      // github.com's API lives on its own host; Enterprise Server's under /api/v3 of the web host.
      const web = signIn.url ?? (api === 'https://api.github.com' ? 'https://github.com' : api.replace(/\/api\/v3$/, ''));
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      return {
        endpoints: {
          authorizeHost: origin(web),
          authorizePath: split(web, '/login/oauth/authorize').path,
          tokenHost: origin(web),
          tokenPath: split(web, '/login/oauth/access_token').path,
        },
        // An OAuth App has no read-only scope for private repositories.
        scope: ['read:user', 'repo'],
        async user(token) {
          const { status, body } = await getJson(`${api}/user`, auth(token));
          if (status !== 200) throw new Error(`GitHub did not say who signed in (${status})`);
          const user = loginUser.parse(body);
          return { id: String(user.id), login: user.login };
        },
        async repoAccess(token, repo) {
          const { status, body } = await getJson(`${api}/repos/${repo}`, auth(token));
          if (denied(status)) return { read: false, write: false };
          if (status !== 200) throw new Error(`GitHub answered ${status} for ${repo}`);
          const { permissions } = permissionsRepo.parse(body);
          return { read: permissions?.pull !== false, write: permissions?.push === true || permissions?.admin === true };
        },
      };
    }
    case 'gitlab': {
      const root = signIn.url ?? config.forges.gitlab?.url ?? 'https://gitlab.com';
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      return {
        endpoints: {
          authorizeHost: origin(root),
          authorizePath: split(root, '/oauth/authorize').path,
          tokenHost: origin(root),
          tokenPath: split(root, '/oauth/token').path,
        },
        scope: ['read_api'],
        async user(token) {
          const { status, body } = await getJson(`${root}/api/v4/user`, auth(token));
          if (status !== 200) throw new Error(`GitLab did not say who signed in (${status})`);
          const user = gitlabUser.parse(body);
          return { id: String(user.id), login: user.username };
        },
        async repoAccess(token, repo) {
          const { status, body } = await getJson(`${root}/api/v4/projects/${encodeURIComponent(repo)}`, auth(token));
          if (denied(status)) return { read: false, write: false };
          if (status !== 200) throw new Error(`GitLab answered ${status} for ${repo}`);
          // Developer (30) and above may push.
          const { permissions } = gitlabProject.parse(body);
          const level = Math.max(permissions?.project_access?.access_level ?? 0, permissions?.group_access?.access_level ?? 0);
          return { read: true, write: level >= 30 };
        },
      };
    }
    case 'bitbucket': {
      const api = config.forges.bitbucket?.apiUrl ?? 'https://api.bitbucket.org/2.0';
      const web = signIn.url ?? 'https://bitbucket.org';
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      return {
        endpoints: {
          authorizeHost: origin(web),
          authorizePath: split(web, '/site/oauth2/authorize').path,
          tokenHost: origin(web),
          tokenPath: split(web, '/site/oauth2/access_token').path,
        },
        // Bitbucket's scopes are set on the OAuth consumer (account, repository), not asked for.
        scope: [],
        async user(token) {
          const { status, body } = await getJson(`${api}/user`, auth(token));
          if (status !== 200) throw new Error(`Bitbucket did not say who signed in (${status})`);
          const user = bitbucketUser.parse(body);
          return { id: String(user.uuid ?? user.account_id), login: String(user.nickname ?? user.username ?? user.display_name) };
        },
        async repoAccess(token, repo) {
          const q = encodeURIComponent(`repository.full_name="${repo}"`);
          const { status, body } = await getJson(`${api}/user/permissions/repositories?q=${q}`, auth(token));
          if (denied(status)) return { read: false, write: false };
          if (status !== 200) throw new Error(`Bitbucket answered ${status} for ${repo}`);
          const permission: string | undefined = bitbucketPermissions.parse(body).values?.[0]?.permission;
          return { read: permission !== undefined, write: permission === 'write' || permission === 'admin' };
        },
      };
    }
    case 'oidc':
      throw new Error('provider: oidc is not a forge: access follows server.auth.groups (src/http/signin-oidc.ts)');
  }
}
