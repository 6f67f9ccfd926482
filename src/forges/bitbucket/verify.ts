import type { ForgeConfig } from '../../config/schema.js';
import { acceptsUnsigned, singleHeader, verifyHexSignature } from '../signature.js';
import type { VerifyResult, WebhookInput } from '../types.js';

/** Bitbucket Cloud signs with `X-Hub-Signature: sha256=<hex>` when the webhook has a secret. */
export function verifyBitbucket(input: WebhookInput, settings: ForgeConfig): VerifyResult {
  if (acceptsUnsigned(settings)) return { ok: true };
  return verifyHexSignature(singleHeader(input.headers, 'x-hub-signature'), 'X-Hub-Signature', 'sha256=', settings.webhookSecret ?? [], input.body);
}
