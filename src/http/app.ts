import type { Queue } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { clipName } from '../clip.js';
import { LARGE_BODY_BYTES, type Config } from '../config/schema.js';
import type { DeliveryHandler, DeliveryHead, DeliveryRefusal } from '../intake/handle.js';
import type { Metrics } from '../metrics/families.js';
import type { Intake } from '../queue/producer.js';
import { allTokens, createAccessGuard, createMetricsGuard, scopedView, writeTokenGuard, type AccessGuardOptions } from './access.js';
import { createTokenGuard } from './auth.js';
import { createBodyBudget } from './body-budget.js';
import { CLOSE, HttpError, errorMessage, sendError } from './errors.js';
import { createRateLimiter, type RateLimitSettings } from './rate-limit.js';
import { adminRoutes } from './routes/admin.js';
import { apiRoutes } from './routes/api.js';
import { healthRoutes, type ReadinessChecks } from './routes/health.js';
import { hookRoutes } from './routes/hooks.js';
import { uiRoutes } from './ui/routes.js';
import type { View } from './view.js';

/**
 * The body limit of every route but `/hooks/*`: the API and the dashboard take a token, a form
 * or nothing at all, so a few kilobytes is plenty, and nothing else parses megabytes of JSON.
 */
export const SMALL_BODY_BYTES = 16 * 1024;

/** How often Node looks for requests past their header or request timeout (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/** What a connection may take and hold (the `server.*` keys of the same names). */
export type ConnectionLimits = Pick<Config['server'], 'headersTimeout' | 'requestTimeout' | 'idleTimeout' | 'maxConnections'>;

/** Everything the HTTP app needs; it creates no connections of its own. Parts left out are not served. */
export interface AppDeps {
  log: Logger;
  readiness: ReadinessChecks;
  metrics?: Metrics;
  /** Whether this app answers `GET /metrics` (default: when `metrics` is given); false when another listener serves it. */
  serveMetrics?: boolean;
  /** Timeouts and the connection cap; every role's port gets them. */
  limits: ConnectionLimits;
  /** Webhook intake (`/hooks/:forge`). */
  hooks?: {
    handleDelivery: DeliveryHandler;
    checkHead: (head: DeliveryHead) => DeliveryRefusal | undefined;
    maxBodyBytes: number;
    maxInFlightBytes: number;
  };
  /** Per-source limits of the webhook routes; their failure budget also counts wrong API tokens. */
  rateLimit?: RateLimitSettings;
  /** Proxy hops whose X-Forwarded-For names the client (0: the peer address is the source). */
  trustProxy?: number;
  /** JSON API and dashboard. */
  api?: { config: Config; view: View; intake: Intake };
  /**
   * Sign-in through the forge: registers its routes and session handling in the scope of the
   * dashboard and API, and answers who a request's session belongs to.
   */
  signIn?: (scope: FastifyInstance) => Promise<Pick<AccessGuardOptions, 'signedIn' | 'signInPath'>>;
  /** Bull Board over these queues. */
  admin?: { queues: Queue[]; apiTokens: string[]; writable: boolean; publicUrl: string };
}

/** Builds the Fastify app without listening, so tests can drive it through a socket of their choosing. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { limits } = deps;
  // pino's Logger is a FastifyBaseLogger; typed as the base so the app's generics stay Fastify's defaults.
  const loggerInstance: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance,
    // One line per webhook is logged by the route; Fastify's two lines per request would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: SMALL_BODY_BYTES,
    // Slow clients are cut off: headers, the whole request, and silence each have a bound.
    http: { headersTimeout: limits.headersTimeout, requestTimeout: limits.requestTimeout, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    requestTimeout: limits.requestTimeout,
    connectionTimeout: limits.idleTimeout,
    keepAliveTimeout: limits.idleTimeout,
    return503OnClosing: true,
    requestIdHeader: false,
    // Fastify's own answers to a malformed or overlong path quote all of it; ours do not.
    frameworkErrors: (err, _request, reply) => {
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendError(reply, 'uri-too-long');
      else if (err.code === 'FST_ERR_BAD_URL') void sendError(reply, 'bad-request', 'the path is not a valid URL');
      else void sendError(reply, 'internal');
    },
    // Trust the first n proxy hops' X-Forwarded-For, and no more (beyond that anyone can write it).
    ...(deps.trustProxy ? { trustProxy: (_address: string, hop: number) => hop < (deps.trustProxy ?? 0) } : {}),
  });
  // Beyond the cap Node closes new connections at once, before they cost a parser or a buffer.
  app.server.maxConnections = limits.maxConnections;

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.code, err.message, err.headers);
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (status === 413) {
      const limit = request.routeOptions.bodyLimit ?? SMALL_BODY_BYTES;
      return sendError(reply, 'payload-too-large', errorMessage('payload-too-large', 'this route takes', limit), CLOSE);
    }
    if (status === 415) return sendError(reply, 'unsupported-media-type', err.message);
    if (status >= 500) return reply.code(status).send({ error: 'internal', message: 'internal error; see the server log' });
    return reply.code(status).send({ error: 'bad-request', message: err.message });
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not-found', `no route for ${request.method} ${clipName(request.url)}`));

  // What a JSON answer must never be: sniffed into something a browser runs, cached, or framed.
  // A callback hook, not an async one: it runs on every answer, webhooks included, and a promise per answer shows.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
    done(null, payload);
  });

  const limiter = deps.rateLimit ? createRateLimiter(deps.rateLimit) : undefined;
  await app.register(healthRoutes, { checks: deps.readiness });
  if (deps.metrics && deps.serveMetrics !== false) {
    const registry = deps.metrics.registry;
    // Beside the dashboard and API it is as private as they are; on a port of its own it is open.
    const guard = deps.api ? createMetricsGuard(deps.api.config, createTokenGuard(allTokens(deps.api.config), limiter)) : undefined;
    app.get('/metrics', guard ? { preHandler: guard } : {}, async (_request, reply) =>
      reply.header('content-type', registry.contentType).send(await registry.metrics()),
    );
  }
  if (deps.hooks) {
    const metrics = deps.metrics;
    const budget = createBodyBudget(
      // One source: one body of the largest size, and ordinary deliveries beside it.
      { limit: deps.hooks.maxInFlightBytes, perSource: deps.hooks.maxBodyBytes + LARGE_BODY_BYTES },
      metrics ? (bytes) => metrics.webhookBytesInFlight.set(bytes) : undefined,
    );
    await app.register(hookRoutes, {
      handleDelivery: deps.hooks.handleDelivery,
      checkHead: deps.hooks.checkHead,
      maxBodyBytes: deps.hooks.maxBodyBytes,
      budget,
      // Every body in flight is complete or cut off by then.
      busyRetryAfterSeconds: Math.ceil(limits.requestTimeout / 1000),
      ...(limiter ? { limiter } : {}),
      ...(metrics ? { metrics } : {}),
    });
  }
  if (deps.api) {
    const api = deps.api;
    const tokens = createTokenGuard(allTokens(api.config), limiter);
    // One scope for everything that shows apps: the guard decides who asks, the view shows them only their apps.
    await app.register(async (scope) => {
      const signIn = deps.signIn ? await deps.signIn(scope) : undefined;
      scope.addHook('preHandler', createAccessGuard({ config: api.config, tokens, ...(signIn ?? {}) }));
      const routes = { ...api, view: scopedView(api.view, api.config), tokens: writeTokenGuard(api.config, tokens) };
      await scope.register(apiRoutes, routes);
      await scope.register(uiRoutes, routes);
    });
  }
  if (deps.admin)
    await app.register(adminRoutes, {
      queues: deps.admin.queues,
      tokens: createTokenGuard(deps.admin.apiTokens, limiter),
      writable: deps.admin.writable,
      publicUrl: deps.admin.publicUrl,
    });
  return app;
}
