import type { FastifyReply } from 'fastify';

/**
 * Every answer the HTTP layer refuses with itself (the webhook handler's own answers come from
 * the intake). Declared once here with its status; code elsewhere names the code and says why.
 */
export const HTTP_ERRORS = {
  'bad-request': 400,
  'body-incomplete': 400,
  unauthorized: 401,
  disabled: 403,
  'cross-origin': 403,
  'not-found': 404,
  'forge-unknown': 404,
  'read-only': 405,
  'payload-too-large': 413,
  'uri-too-long': 414,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  internal: 500,
  busy: 503,
  unavailable: 503,
} as const;

/** One of {@link HTTP_ERRORS}. */
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** A refusal thrown from a hook or a body parser; the error handlers answer it as it says. */
export class HttpError extends Error {
  /** Fastify reads `statusCode` from thrown errors. */
  readonly statusCode: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = HTTP_ERRORS[code];
  }
}

/** Sends a refusal as `{error, message}` with the code's status. */
export function sendError(reply: FastifyReply, code: HttpErrorCode, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(HTTP_ERRORS[code]).headers(headers).send({ error: code, message });
}

/**
 * Ends the connection after this answer. For a refusal sent before the body was read: Node then
 * discards whatever the client still sends instead of keeping the socket for another request.
 */
export const CLOSE = { connection: 'close' } as const;
