import type { Queue } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { DeliveryHandler } from '../intake/handle.js';
import type { Metrics } from '../metrics.js';
import type { Intake } from '../queue/intake.js';
import type { RateLimitSettings } from './rate-limit.js';
import { adminRoutes } from './routes/admin.js';
import { apiRoutes } from './routes/api.js';
import { healthRoutes, type ReadinessChecks } from './routes/health.js';
import { hookRoutes } from './routes/hooks.js';
import { uiRoutes } from './ui/routes.js';
import type { View } from './view.js';

/** Everything the HTTP app needs; it creates no connections of its own. Parts left out are not served. */
export interface AppDeps {
  log: Logger;
  readiness: ReadinessChecks;
  metrics?: Metrics;
  /** Webhook intake (`/hooks/:forge`). */
  hooks?: { handleDelivery: DeliveryHandler; maxBodyBytes: number; rateLimit?: RateLimitSettings };
  /** Proxy hops whose X-Forwarded-For names the client (0: the peer address is the source). */
  trustProxy?: number;
  /** JSON API and dashboard. */
  api?: { config: Config; view: View; intake: Intake };
  /** Bull Board over these queues. */
  admin?: { queues: Queue[]; apiTokens: string[] };
  maxBodyBytes?: number;
}

/** Builds the Fastify app without listening, so tests can drive it through a socket of their choosing. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const maxBodyBytes = deps.hooks?.maxBodyBytes ?? deps.maxBodyBytes ?? 1_048_576;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One line per webhook is logged by the route; Fastify's two lines per request would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxBodyBytes,
    return503OnClosing: true,
    requestIdHeader: false,
    // Trust the first n proxy hops' X-Forwarded-For, and no more (beyond that anyone can write it).
    ...(deps.trustProxy ? { trustProxy: (_address: string, hop: number) => hop < (deps.trustProxy ?? 0) } : {}),
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code =
      status === 413 ? 'payload-too-large' : status === 415 ? 'unsupported-media-type' : status >= 500 ? 'internal' : 'bad-request';
    const message =
      status === 413
        ? `body is larger than server.maxBodyBytes (${maxBodyBytes} bytes)`
        : status >= 500
          ? 'internal error; see the server log'
          : err.message;
    return reply.code(status).send({ error: code, message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', message: `no route for ${request.method} ${request.url}` }));

  await app.register(healthRoutes, { checks: deps.readiness });
  if (deps.metrics) {
    const registry = deps.metrics.registry;
    app.get('/metrics', async (_request, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
  }
  if (deps.hooks) await app.register(hookRoutes, { ...deps.hooks, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
  if (deps.api) {
    await app.register(apiRoutes, deps.api);
    await app.register(uiRoutes, deps.api);
  }
  if (deps.admin) await app.register(adminRoutes, deps.admin);
  return app;
}
