import type { ForgeConfig } from '../../config/schema.js';
import { acceptsUnsigned, singleHeader, verifyHexSignature } from '../signature.js';
import type { VerifyResult, WebhookInput } from '../types.js';

/** Bitbucket Data Center signs with `X-Hub-Signature: sha256=<hex>` (HmacSHA256, the default algorithm). */
export function verifyBitbucketServer(input: WebhookInput, settings: ForgeConfig): VerifyResult {
  if (acceptsUnsigned(settings)) return { ok: true };
  return verifyHexSignature(singleHeader(input.headers, 'x-hub-signature'), 'X-Hub-Signature', 'sha256=', settings.webhookSecret ?? [], input.body);
}
