import type { ForgeConfig } from '../../config/schema.js';
import { acceptsUnsigned, singleHeader, verifyHexSignature } from '../signature.js';
import type { VerifyResult, WebhookInput } from '../types.js';

/**
 * GitHub signs with `X-Hub-Signature-256: sha256=<hex>`. The legacy SHA-1 `X-Hub-Signature` is
 * never accepted on its own: SHA-1 is broken, and GitHub always sends the SHA-256 header too.
 */
export function verifyGithub(input: WebhookInput, settings: ForgeConfig): VerifyResult {
  if (acceptsUnsigned(settings)) return { ok: true };
  const header = singleHeader(input.headers, 'x-hub-signature-256');
  if (header === undefined && input.headers['x-hub-signature'] !== undefined) {
    return { ok: false, reason: 'only the SHA-1 X-Hub-Signature was sent; Landfall requires X-Hub-Signature-256' };
  }
  return verifyHexSignature(header, 'X-Hub-Signature-256', 'sha256=', settings.webhookSecret ?? [], input.body);
}
