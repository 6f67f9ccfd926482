import { singleHeader } from '../signature.js';
import type { ForgeAdapter } from '../types.js';
import { parseGithub } from './parse.js';
import { verifyGithub } from './verify.js';

/** GitHub and GitHub Enterprise Server webhooks. */
export const github: ForgeAdapter = {
  id: 'github',
  displayName: 'GitHub',
  signatureHeaders: ['X-Hub-Signature-256'],
  eventName: (headers) => singleHeader(headers, 'x-github-event'),
  deliveryId: (headers) => singleHeader(headers, 'x-github-delivery'),
  verify: verifyGithub,
  parse: parseGithub,
};
