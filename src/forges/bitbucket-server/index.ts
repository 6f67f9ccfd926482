import { singleHeader } from '../signature.js';
import type { ForgeAdapter } from '../types.js';
import { parseBitbucketServer } from './parse.js';
import { verifyBitbucketServer } from './verify.js';

/** Bitbucket Data Center / Server webhooks. */
export const bitbucketServer: ForgeAdapter = {
  id: 'bitbucket-server',
  displayName: 'Bitbucket Data Center',
  signatureHeaders: ['X-Hub-Signature'],
  eventName: (headers) => singleHeader(headers, 'x-event-key'),
  deliveryId: (headers) => singleHeader(headers, 'x-request-id'),
  verify: verifyBitbucketServer,
  parse: parseBitbucketServer,
};
