import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { basicPassword, bearerToken, type TokenGuard } from '../auth.js';
import { errorMessage, sendError } from '../errors.js';

/** Options of the queue board. */
export interface AdminRoutesOptions {
  queues: Queue[];
  tokens: TokenGuard;
  /** `server.queueBoardWritable`: whether the board may retry, promote and remove jobs. */
  writable: boolean;
  /** `server.publicUrl`: the board's own origin when a proxy rewrites Host. */
  publicUrl: string;
}

/** Methods that change nothing; everything else is a mutation. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bull Board at `/admin/queues`, behind the API tokens: browsers send HTTP Basic (any user name,
 * the token as password), scripts may send a bearer token. Read-only unless
 * `server.queueBoardWritable`; never framed; and since a browser sends its cached Basic
 * credentials with any request, even one another site makes it send, a mutation must come from
 * the board's own origin. Encapsulated so its hook and its relaxed page policy (it ships its own
 * scripts) stay away from the dashboard.
 */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const ownOrigin = new URL(options.publicUrl).origin;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'");
    const verdict = options.tokens(request, bearerToken(request) ?? basicPassword(request));
    if (verdict.ok === false && verdict.code === 'rate-limited') {
      return sendError(reply, 'rate-limited', errorMessage('rate-limited', 'too many wrong API tokens from this source', verdict.retryAfterSeconds), {
        'retry-after': String(verdict.retryAfterSeconds),
      });
    }
    if (!verdict.ok) {
      return sendError(
        reply,
        'unauthorized',
        verdict.code === 'disabled' ? 'set server.apiTokens to open the queue board' : 'log in with any user name and an API token as password',
        {
          'www-authenticate': 'Basic realm="Landfall queues", charset="UTF-8"',
        },
      );
    }
    if (SAFE_METHODS.has(request.method)) return undefined;
    if (!options.writable) return sendError(reply, 'read-only');
    if (!sameOrigin(request, ownOrigin)) return sendError(reply, 'cross-origin');
    return undefined;
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({ queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !options.writable })), serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' });
}

/**
 * Whether a request was made by a page of this origin. Browsers say so in Sec-Fetch-Site, or
 * at least send Origin with every request that is not a GET; a request with neither comes from
 * a script, which has no cached credentials to abuse (it still needed a token).
 */
function sameOrigin(request: FastifyRequest, ownOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (origin === ownOrigin) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
