import type { AppConfig, ForgeId } from '../config/schema.js';

/** Finds the apps a repository event concerns. */
export interface AppIndex {
  /** Apps tracking this repository on this forge, any branch. */
  forRepo(forge: ForgeId, repo: string): readonly AppConfig[];
  /** Apps tracking this branch of this repository. */
  forBranch(forge: ForgeId, repo: string, branch: string): readonly AppConfig[];
  /** An app by name. */
  get(name: string): AppConfig | undefined;
  readonly all: readonly AppConfig[];
}

function repoKey(forge: ForgeId, repo: string): string {
  // Forges treat repository names case-insensitively (GitHub, GitLab, Bitbucket DC project keys),
  // so "Acme/Web" in a payload must find "acme/web" in the config.
  return `${forge}\u0000${repo.toLowerCase()}`;
}

/** Indexes apps by (forge, repository) so matching a delivery costs one map lookup. */
export function createAppIndex(apps: readonly AppConfig[]): AppIndex {
  const byRepo = new Map<string, AppConfig[]>();
  const byName = new Map<string, AppConfig>();
  for (const app of apps) {
    const key = repoKey(app.forge, app.repo);
    byRepo.set(key, [...(byRepo.get(key) ?? []), app]);
    byName.set(app.name, app);
  }
  return {
    all: apps,
    forRepo: (forge, repo) => byRepo.get(repoKey(forge, repo)) ?? [],
    // Branch names are case-sensitive in git.
    forBranch: (forge, repo, branch) => (byRepo.get(repoKey(forge, repo)) ?? []).filter((app) => app.branch === branch),
    get: (name) => byName.get(name),
  };
}
