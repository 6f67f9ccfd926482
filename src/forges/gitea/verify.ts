import type { ForgeConfig } from '../../config/schema.js';
import { acceptsUnsigned, singleHeader, verifyHexSignature } from '../signature.js';
import type { VerifyResult, WebhookInput } from '../types.js';

/**
 * Gitea sends `X-Gitea-Signature`, Forgejo `X-Forgejo-Signature` (and the Gitea one for
 * compatibility): bare hex HMAC-SHA256 of the body, no prefix. When both are present both must match.
 */
export function verifyGitea(input: WebhookInput, settings: ForgeConfig): VerifyResult {
  if (acceptsUnsigned(settings)) return { ok: true };
  const secrets = settings.webhookSecret ?? [];
  const forgejo = singleHeader(input.headers, 'x-forgejo-signature');
  const gitea = singleHeader(input.headers, 'x-gitea-signature');
  if (forgejo === undefined && gitea === undefined) return { ok: false, reason: 'missing X-Gitea-Signature (or X-Forgejo-Signature) header' };
  if (forgejo !== undefined) {
    const result = verifyHexSignature(forgejo, 'X-Forgejo-Signature', '', secrets, input.body);
    if (!result.ok) return result;
  }
  if (gitea !== undefined) return verifyHexSignature(gitea, 'X-Gitea-Signature', '', secrets, input.body);
  return { ok: true };
}
