import type { FastifyInstance } from 'fastify';
import { FORGE_IDS, type ForgeId } from '../../config/schema.js';
import type { DeliveryHandler } from '../../intake/handle.js';
import type { Metrics } from '../../metrics.js';
import { createRateLimiter, type RateLimitSettings } from '../rate-limit.js';

/** Options of the webhook routes plugin. */
export interface HookRoutesOptions {
  handleDelivery: DeliveryHandler;
  maxBodyBytes: number;
  metrics?: Metrics;
  rateLimit?: RateLimitSettings;
}

/**
 * `POST /hooks/<forge>`. Encapsulated on purpose: the raw-bytes body parser that signature
 * checks need applies to these routes alone, while the rest of the app parses JSON as usual.
 */
export async function hookRoutes(app: FastifyInstance, options: HookRoutesOptions): Promise<void> {
  const limiter = options.rateLimit ? createRateLimiter(options.rateLimit) : undefined;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.post<{ Params: { forge: string } }>(
    '/hooks/:forge',
    {
      bodyLimit: options.maxBodyBytes,
      schema: {
        params: { type: 'object', properties: { forge: { type: 'string' } }, required: ['forge'] },
      },
    },
    async (request, reply) => {
      const forge = request.params.forge;
      if (!(FORGE_IDS as readonly string[]).includes(forge)) {
        return reply.code(404).send({ error: 'forge-unknown', message: `unknown forge "${forge}"; use one of ${FORGE_IDS.join(', ')}` });
      }
      const source = `${forge}|${request.ip}`;
      const decision = limiter?.take(source);
      if (decision && !decision.ok) {
        options.metrics?.webhooks.inc({ forge, outcome: 'rate-limited' });
        return reply.code(429).header('retry-after', String(decision.retryAfterSeconds)).send({ error: 'rate-limited', message: `${decision.reason}; try again in ${decision.retryAfterSeconds}s` });
      }
      const started = process.hrtime.bigint();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const headerNames = request.raw.rawHeaders.filter((_, i) => i % 2 === 0);
      const answer = await options.handleDelivery({ forge: forge as ForgeId, headers: request.headers, body, headerNames });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (answer.status >= 400 && answer.status < 500) limiter?.fail(source);
      options.metrics?.webhooks.inc({ forge, outcome: answer.outcome });
      options.metrics?.webhookSeconds.observe({ forge }, seconds);
      request.log.info({ forge, outcome: answer.outcome, status: answer.status, ms: seconds * 1000 }, 'webhook handled');
      return reply.code(answer.status).send(answer.body);
    },
  );
}
