import type { AppConfig, Config } from '../config/schema.js';

/** Where to fetch an app's repository from, and the HTTP header that authenticates it (if any). */
export interface GitSource {
  url: string;
  /** A full `Authorization: ...` header value for HTTP(S) remotes; never put in the URL or argv. */
  authorization?: string;
}

/**
 * The clone URL for an app: `cloneUrl` when given, else the forge's usual HTTPS address. The
 * forge token, if any, authenticates HTTPS fetches the way each forge documents for Git over HTTP.
 */
export function gitSource(app: AppConfig, forges: Config['forges']): GitSource {
  const forge = forges[app.forge];
  const url = app.cloneUrl ?? defaultCloneUrl(app, forges);
  const token = forge?.token;
  if (!token || !/^https?:\/\//.test(url)) return { url };
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  switch (app.forge) {
    case 'github':
      return { url, authorization: basic('x-access-token', token) };
    case 'gitlab':
      return { url, authorization: basic('oauth2', token) };
    case 'bitbucket':
      return { url, authorization: basic('x-token-auth', token) };
    case 'bitbucket-server':
      return { url, authorization: `Bearer ${token}` };
    case 'gitea':
      return { url, authorization: `token ${token}` };
  }
}

function defaultCloneUrl(app: AppConfig, forges: Config['forges']): string {
  switch (app.forge) {
    case 'github': {
      const api = forges.github?.apiUrl ?? 'https://api.github.com';
      // github.com's API lives on its own host; GitHub Enterprise Server's under /api/v3.
      const web = api === 'https://api.github.com' ? 'https://github.com' : api.replace(/\/api\/v3$/, '');
      return `${web}/${app.repo}.git`;
    }
    case 'gitlab':
      return `${forges.gitlab?.url ?? 'https://gitlab.com'}/${app.repo}.git`;
    case 'bitbucket':
      return `https://bitbucket.org/${app.repo}.git`;
    case 'bitbucket-server': {
      const [project, slug] = app.repo.split('/');
      return `${forges['bitbucket-server']?.url}/scm/${project?.toLowerCase()}/${slug}.git`;
    }
    case 'gitea':
      return `${forges.gitea?.url}/${app.repo}.git`;
  }
}

/** A URL fit for logs and errors: any user:password@ removed. */
export function safeUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^@/]*@/i, '$1');
}
