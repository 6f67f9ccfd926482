import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DeliveryHandler } from '../intake/handle.js';
import { healthRoutes, type ReadinessChecks } from './routes/health.js';
import { hookRoutes } from './routes/hooks.js';

/** Everything the HTTP app needs; it creates no connections of its own. */
export interface AppDeps {
  log: Logger;
  handleDelivery: DeliveryHandler;
  maxBodyBytes: number;
  readiness: ReadinessChecks;
}

/** Builds the Fastify app without listening, so tests can drive it through a socket of their choosing. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One line per webhook is logged by the route; Fastify's two lines per request would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.maxBodyBytes,
    return503OnClosing: true,
    requestIdHeader: false,
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code =
      status === 413 ? 'payload-too-large' : status === 415 ? 'unsupported-media-type' : status >= 500 ? 'internal' : 'bad-request';
    const message =
      status === 413
        ? `body is larger than server.maxBodyBytes (${deps.maxBodyBytes} bytes)`
        : status >= 500
          ? 'internal error; see the server log'
          : err.message;
    return reply.code(status).send({ error: code, message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', message: `no route for ${request.method} ${request.url}` }));

  await app.register(healthRoutes, { checks: deps.readiness });
  await app.register(hookRoutes, { handleDelivery: deps.handleDelivery, maxBodyBytes: deps.maxBodyBytes });
  return app;
}
