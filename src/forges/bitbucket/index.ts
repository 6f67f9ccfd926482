import { singleHeader } from '../signature.js';
import type { ForgeAdapter } from '../types.js';
import { parseBitbucket } from './parse.js';
import { verifyBitbucket } from './verify.js';

/** Bitbucket Cloud (bitbucket.org) webhooks. */
export const bitbucket: ForgeAdapter = {
  id: 'bitbucket',
  displayName: 'Bitbucket Cloud',
  signatureHeaders: ['X-Hub-Signature'],
  eventName: (headers) => singleHeader(headers, 'x-event-key'),
  deliveryId: (headers) => singleHeader(headers, 'x-request-uuid'),
  verify: verifyBitbucket,
  parse: parseBitbucket,
};
