import type { FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../forges/signature.js';

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
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
