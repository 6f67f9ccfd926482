import type { AppConfig, Config } from '../config/schema.js';

/** The web page of a commit on its forge, for the dashboard's links. */
export function commitUrl(app: AppConfig, forges: Config['forges'], sha: string): string | undefined {
  switch (app.forge) {
    case 'github': {
      const api = forges.github?.apiUrl ?? 'https://api.github.com';
      const web = api === 'https://api.github.com' ? 'https://github.com' : api.replace(/\/api\/v3$/, '');
      return `${web}/${app.repo}/commit/${sha}`;
    }
    case 'gitlab':
      return `${forges.gitlab?.url ?? 'https://gitlab.com'}/${app.repo}/-/commit/${sha}`;
    case 'bitbucket':
      return `https://bitbucket.org/${app.repo}/commits/${sha}`;
    case 'bitbucket-server': {
      const [project, slug] = app.repo.split('/');
      return forges['bitbucket-server'] ? `${forges['bitbucket-server'].url}/projects/${project}/repos/${slug}/commits/${sha}` : undefined;
    }
    case 'gitea':
      return forges.gitea ? `${forges.gitea.url}/${app.repo}/commit/${sha}` : undefined;
  }
}
