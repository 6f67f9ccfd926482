import { format } from 'node:util';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

/** One refusal: its status and its message, a `util.format` template (`%s`) filled in by whoever refuses. */
export interface HttpErrorSpec {
  status: number;
  message: string;
}

/**
 * Every answer the HTTP layer refuses with itself (the webhook handler's own answers come from
 * the intake), in the manner of fastify's `createError` codes: declared once here with its
 * status and message template; code elsewhere names the code and fills in the template, or
 * says why in its own words.
 */
export const HTTP_ERRORS = {
  'bad-request': { status: 400, message: '%s' },
  'body-incomplete': { status: 400, message: 'body %s' },
  unauthorized: { status: 401, message: '%s' },
  disabled: { status: 403, message: '%s are off: set server.apiTokens to allow them' },
  'cross-origin': { status: 403, message: 'changes to the queues must come from the queue board itself' },
  'not-found': { status: 404, message: 'no app named "%s"' },
  'forge-unknown': { status: 404, message: 'unknown forge "%s"; use one of %s' },
  'read-only': { status: 405, message: 'the queue board is read-only; set server.queueBoardWritable: true to retry, promote or remove jobs from it' },
  'payload-too-large': { status: 413, message: 'body is larger than %s (%d bytes)' },
  'uri-too-long': { status: 414, message: 'a segment of the path is too long' },
  'unsupported-media-type': { status: 415, message: '%s' },
  'rate-limited': { status: 429, message: '%s; try again in %ds' },
  internal: { status: 500, message: 'internal error; see the server log' },
  busy: { status: 503, message: 'too many webhook bytes in flight (server.maxInFlightBytes); try again in %ds' },
  unavailable: { status: 503, message: 'the %s could not be queued; try again' },
} as const satisfies Record<string, HttpErrorSpec>;

/** One of {@link HTTP_ERRORS}. */
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** A code's template filled in with `args` (`util.format`); with no args, the template as it stands. */
export function errorMessage(code: HttpErrorCode, ...args: unknown[]): string {
  return args.length > 0 ? format(HTTP_ERRORS[code].message, ...args) : HTTP_ERRORS[code].message;
}

/** The status a code answers with. */
export function errorStatus(code: HttpErrorCode): number {
  return HTTP_ERRORS[code].status;
}

/** The body of every refusal: `error` is one of {@link HTTP_ERRORS} here, or one of the intake's codes for webhooks. */
export const errorBodySchema = z.object({ error: z.string(), message: z.string() });

/** A refusal thrown from a hook or a body parser; the error handlers answer it as it says. */
export class HttpError extends Error {
  /** Fastify reads `statusCode` from thrown errors. */
  readonly statusCode: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string = errorMessage(code),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = errorStatus(code);
  }
}

/** Sends a refusal as `{error, message}` with the code's status; the message defaults to the code's template. */
export function sendError(reply: FastifyReply, code: HttpErrorCode, message: string = errorMessage(code), headers: Record<string, string> = {}): FastifyReply {
  return reply.code(errorStatus(code)).headers(headers).send({ error: code, message });
}

/**
 * Ends the connection after this answer. For a refusal sent before the body was read: Node then
 * discards whatever the client still sends instead of keeping the socket for another request.
 */
export const CLOSE = { connection: 'close' } as const;
