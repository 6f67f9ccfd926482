import { singleHeader } from '../signature.js';
import type { ForgeAdapter } from '../types.js';
import { parseGitlab } from './parse.js';
import { verifyGitlab } from './verify.js';

/** GitLab.com and self-managed GitLab webhooks. */
export const gitlab: ForgeAdapter = {
  id: 'gitlab',
  displayName: 'GitLab',
  signatureHeaders: ['X-Gitlab-Token', 'webhook-signature'],
  eventName: (headers) => singleHeader(headers, 'x-gitlab-event'),
  // Idempotency-Key (17.4+) and webhook-id hold the same value and survive resends;
  // older instances only have the per-event UUID.
  deliveryId: (headers) => singleHeader(headers, 'idempotency-key') ?? singleHeader(headers, 'webhook-id') ?? singleHeader(headers, 'x-gitlab-event-uuid'),
  verify: verifyGitlab,
  parse: parseGitlab,
};
