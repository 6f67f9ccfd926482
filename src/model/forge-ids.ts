/** The forges Landfall speaks to; these ids are used in routes, `apps[].forge`, job data and metrics. */
export const FORGE_IDS = ['github', 'gitlab', 'bitbucket', 'bitbucket-server', 'gitea'] as const;

/** One of {@link FORGE_IDS}. */
export type ForgeId = (typeof FORGE_IDS)[number];
