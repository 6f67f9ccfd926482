import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { VerifyResult } from './types.js';

/**
 * A header's value when it was sent exactly once. Node joins repeated headers into one string or
 * an array; a signature or token header sent twice is ambiguous and is treated as absent.
 */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (typeof value !== 'string') return undefined;
  return value;
}

/** Compares two strings in constant time, whatever their lengths and wherever they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  // Hashing first gives equal-length inputs, so not even the length of the secret leaks.
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

const HEX_256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a hex HMAC-SHA256 signature (with an optional prefix such as `sha256=`) against every
 * configured secret, so a secret can be rotated by listing old and new for a while.
 */
export function verifyHexSignature(header: string | undefined, headerName: string, prefix: string, secrets: readonly string[], body: Buffer): VerifyResult {
  if (header === undefined) return { ok: false, reason: `missing ${headerName} header` };
  if (!header.startsWith(prefix)) return { ok: false, reason: `${headerName} must start with "${prefix}"` };
  const given = header.slice(prefix.length);
  if (!HEX_256.test(given)) return { ok: false, reason: `${headerName} is not a ${prefix}<64 hex digits> signature` };
  const givenBytes = Buffer.from(given.toLowerCase(), 'hex');
  let match = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // Not short-circuited: every secret is tried, so timing does not tell which one matched.
    match = timingSafeEqual(expected, givenBytes) || match;
  }
  return match ? { ok: true } : { ok: false, reason: `${headerName} does not match the body signed with the configured secret` };
}

/**
 * Whether a forge section lets unsigned deliveries through: only with `insecureNoSignature: true`
 * and no secret at all (nor a GitLab signing token). Once a secret is configured it is always required.
 */
export function acceptsUnsigned(settings: {
  webhookSecret?: readonly string[] | undefined;
  signingToken?: readonly string[] | undefined;
  insecureNoSignature: boolean;
}): boolean {
  return settings.insecureNoSignature && !settings.webhookSecret?.length && !settings.signingToken?.length;
}
