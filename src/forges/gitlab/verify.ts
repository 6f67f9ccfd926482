import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ForgeConfig } from '../../config/schema.js';
import { acceptsUnsigned, constantTimeEqual, singleHeader } from '../signature.js';
import type { VerifyResult, WebhookInput } from '../types.js';

/** Signed deliveries older (or further in the future) than this are refused as possible replays. */
export const GITLAB_SIGNATURE_TOLERANCE_MS = 5 * 60_000;

/**
 * GitLab authenticates a delivery in one or both of two ways:
 * - `X-Gitlab-Token`: the secret token in plain text (compared in constant time);
 * - `webhook-signature` (signing token, Standard Webhooks): HMAC-SHA256 over
 *   `webhook-id.webhook-timestamp.body` with the base64 key inside `whsec_...`.
 * Every credential the delivery presents must be valid, and at least one that the configuration
 * knows must be present. With a signing token configured and a delivery carrying no signature,
 * the secret token is accepted only if one is configured too (the documented migration path).
 */
export function verifyGitlab(input: WebhookInput, settings: ForgeConfig): VerifyResult {
  const secrets = settings.webhookSecret ?? [];
  const signingTokens = 'signingToken' in settings ? (settings.signingToken ?? []) : [];
  if (acceptsUnsigned(settings)) return { ok: true };

  const signature = singleHeader(input.headers, 'webhook-signature');
  const token = singleHeader(input.headers, 'x-gitlab-token');
  let verified = false;

  if (signature !== undefined) {
    if (signingTokens.length === 0) {
      // A signature we cannot check proves nothing; fall through to the token.
    } else {
      const result = verifySignature(input, signature, signingTokens);
      if (!result.ok) return result;
      verified = true;
    }
  }
  if (token !== undefined && secrets.length > 0) {
    let match = false;
    for (const secret of secrets) match = constantTimeEqual(token, secret) || match;
    if (!match) return { ok: false, reason: 'X-Gitlab-Token does not match the configured secret token' };
    verified = true;
  }
  if (verified) return { ok: true };
  if (signingTokens.length > 0 && secrets.length === 0) return { ok: false, reason: 'missing webhook-signature header (a signing token is configured)' };
  return { ok: false, reason: 'missing X-Gitlab-Token header' };
}

function verifySignature(input: WebhookInput, header: string, signingTokens: readonly string[]): VerifyResult {
  const id = singleHeader(input.headers, 'webhook-id');
  const timestamp = singleHeader(input.headers, 'webhook-timestamp');
  if (!id || !timestamp) return { ok: false, reason: 'webhook-signature needs webhook-id and webhook-timestamp headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not a Unix time in seconds' };
  const skew = Math.abs(input.now - Number(timestamp) * 1000);
  if (skew > GITLAB_SIGNATURE_TOLERANCE_MS) {
    return { ok: false, reason: 'webhook-timestamp is more than 5 minutes away from now (replayed or clock skew)' };
  }
  const candidates: Buffer[] = [];
  for (const part of header.split(' ')) {
    const [version, value] = part.split(',', 2);
    if (version === 'v1' && value && /^[A-Za-z0-9+/]+={0,2}$/.test(value)) candidates.push(Buffer.from(value, 'base64'));
  }
  if (candidates.length === 0) return { ok: false, reason: 'webhook-signature has no v1,<base64> signature' };
  let match = false;
  for (const token of signingTokens) {
    const key = Buffer.from(token.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(input.body).digest();
    for (const candidate of candidates) {
      match = (candidate.length === expected.length && timingSafeEqual(candidate, expected)) || match;
    }
  }
  return match ? { ok: true } : { ok: false, reason: 'webhook-signature does not match the body signed with the configured signing token' };
}
