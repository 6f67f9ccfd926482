import type { FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../forges/signature.js';
import type { RateLimiter } from './rate-limit.js';

/** Whether `token` is one of the configured API tokens (compared in constant time, all of them). */
export function tokenAllowed(tokens: readonly string[], token: string | undefined): boolean {
  if (!token) return false;
  let ok = false;
  for (const candidate of tokens) ok = constantTimeEqual(candidate, token) || ok;
  return ok;
}

/** The bearer token of a request, if it sent one. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/** The password of HTTP Basic credentials (browsers can send these, not bearer tokens). */
export function basicPassword(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** The outcome of an API token check. */
export type TokenVerdict = { ok: true } | { ok: false; code: 'disabled' | 'unauthorized' } | { ok: false; code: 'rate-limited'; retryAfterSeconds: number };

/** Checks API tokens for one request; see {@link createTokenGuard}. */
export type TokenGuard = (request: FastifyRequest, token: string | undefined) => TokenVerdict;

/**
 * API token checks with a failure budget: every wrong token counts against its source address
 * (the rate limiter's failures per minute, under a key of its own, so token guessing never shuts
 * out that source's webhooks), and a source that spent its budget is refused with 429 before its
 * token is even compared. A request that sends no token is not a guess and is not counted.
 */
export function createTokenGuard(tokens: readonly string[], limiter?: RateLimiter): TokenGuard {
  return function check(request, token) {
    if (tokens.length === 0) return { ok: false, code: 'disabled' };
    const source = `api|${request.ip}`;
    const decision = limiter?.check(source);
    if (decision && !decision.ok) return { ok: false, code: 'rate-limited', retryAfterSeconds: decision.retryAfterSeconds };
    if (tokenAllowed(tokens, token)) return { ok: true };
    if (token) limiter?.fail(source);
    return { ok: false, code: 'unauthorized' };
  };
}
