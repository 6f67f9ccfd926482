import type { ForgeId } from '../config/schema.js';
import { bitbucket } from './bitbucket/index.js';
import { bitbucketServer } from './bitbucket-server/index.js';
import { gitea } from './gitea/index.js';
import { github } from './github/index.js';
import { gitlab } from './gitlab/index.js';
import type { ForgeAdapter } from './types.js';

/** Every forge adapter, by id. One line per forge; the conformance test walks this map. */
export const FORGES: ReadonlyMap<ForgeId, ForgeAdapter> = new Map<ForgeId, ForgeAdapter>([
  [github.id, github],
  [gitlab.id, gitlab],
  [bitbucket.id, bitbucket],
  [bitbucketServer.id, bitbucketServer],
  [gitea.id, gitea],
]);
