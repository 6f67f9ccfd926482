import { singleHeader } from '../signature.js';
import type { ForgeAdapter } from '../types.js';
import { parseGitea } from './parse.js';
import { verifyGitea } from './verify.js';

/** Gitea and Forgejo webhooks (Forgejo also sends the X-Gitea-* headers). */
export const gitea: ForgeAdapter = {
  id: 'gitea',
  displayName: 'Gitea / Forgejo',
  signatureHeaders: ['X-Gitea-Signature', 'X-Forgejo-Signature'],
  eventName: (headers) => singleHeader(headers, 'x-forgejo-event') ?? singleHeader(headers, 'x-gitea-event'),
  deliveryId: (headers) => singleHeader(headers, 'x-forgejo-delivery') ?? singleHeader(headers, 'x-gitea-delivery'),
  verify: verifyGitea,
  parse: parseGitea,
};
