import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/schema.js';
import { tryQueueManualSync } from '../../intake/manual.js';
import type { Intake } from '../../queue/producer.js';
import { bearerToken, type TokenGuard } from '../auth.js';
import { errorBodySchema, errorMessage, sendError } from '../errors.js';
import { driftEntrySchema, healthEntrySchema } from '../../model/changes.js';
import { syncRecordSchema } from '../../model/records.js';
import { previewStateSchema } from '../../previews/store.js';
import { jsonSchema } from '../schemas.js';
import { appSummarySchema, type View } from '../view.js';

/** Options of the API routes. */
export interface ApiRoutesOptions {
  config: Config;
  view: View;
  intake: Intake;
  /** Checks API tokens, with the failure budget per source. */
  tokens: TokenGuard;
}

const error = jsonSchema(errorBodySchema);
const appParams = { type: 'object', properties: { app: { type: 'string', pattern: '^[a-z0-9-]{1,30}$' } }, required: ['app'] } as const;

const health = jsonSchema(healthEntrySchema);
const record = jsonSchema(syncRecordSchema);

const summary = jsonSchema(appSummarySchema);
const driftEntry = jsonSchema(driftEntrySchema);
const preview = jsonSchema(previewStateSchema);

/**
 * The JSON API: `/api/apps`, `/api/apps/:app`, `/api/apps/:app/syncs`, `/api/apps/:app/previews`, `/api/syncs/:id`, and
 * `POST /api/apps/:app/sync` with a bearer token from `server.apiTokens`. Every route has a
 * schema for what it takes and what it answers.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: Fastify awaits the promise an async plugin returns
export async function apiRoutes(app: FastifyInstance, options: ApiRoutesOptions): Promise<void> {
  const { view } = options;

  app.get(
    '/api/apps',
    { schema: { response: { 200: { type: 'object', properties: { apps: { type: 'array', items: summary } }, required: ['apps'] } } } },
    async () => ({ apps: await view.apps() }),
  );

  app.get<{ Params: { app: string } }>(
    '/api/apps/:app',
    {
      schema: {
        params: appParams,
        response: {
          200: {
            type: 'object',
            properties: {
              app: summary,
              drift: { type: 'array', items: driftEntry },
              health: { type: 'array', items: health },
              queued: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    kind: { type: 'string' },
                    sha: { type: 'string' },
                    state: { type: 'string' },
                    createdAt: { type: 'number' },
                  },
                },
              },
              webhook: {
                description: "The last check of the repository's webhook; absent until a worker ran one.",
                type: 'object',
                properties: {
                  ok: { type: 'boolean' },
                  checked: { type: 'boolean' },
                  hookId: { type: 'string' },
                  problems: { type: 'array', items: { type: 'string' } },
                  failedDeliveries: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { id: { type: 'string' }, event: { type: 'string' }, statusCode: { type: 'number' }, at: { type: 'number' } },
                    },
                  },
                  redelivered: { type: 'number' },
                  recovered: {
                    description:
                      'A hook the forge had disabled (GitLab) that the check sent a test delivery to, and how many open pull requests it queued plans for.',
                    type: 'object',
                    properties: { reenabled: { type: 'boolean' }, planned: { type: 'number' }, error: { type: 'string' } },
                  },
                  notes: { type: 'array', items: { type: 'string' } },
                  checkedAt: { type: 'number' },
                },
                required: ['ok', 'checked', 'problems', 'checkedAt'],
              },
            },
            required: ['app', 'drift', 'health', 'queued'],
          },
          404: error,
        },
      },
    },
    async (request, reply) => {
      const config = view.app(request.params.app);
      if (!config) return sendError(reply, 'not-found', errorMessage('not-found', request.params.app));
      const [summaryOf, drift, queued, webhook] = await Promise.all([
        view.summary(config),
        view.drift(config.name),
        view.queued(config.name),
        view.webhook(config),
      ]);
      return {
        app: summaryOf,
        drift: drift?.drift ?? [],
        health: drift?.health ?? [],
        queued,
        ...(webhook ? { webhook: { ...webhook, redelivered: webhook.redelivered.filter((r) => !r.error).length } } : {}),
      };
    },
  );

  app.get<{ Params: { app: string }; Querystring: { limit?: number; kind?: 'sync' | 'plan' } }>(
    '/api/apps/:app/syncs',
    {
      schema: {
        params: appParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 }, kind: { type: 'string', enum: ['sync', 'plan'], default: 'sync' } },
        },
        response: { 200: { type: 'object', properties: { syncs: { type: 'array', items: record } }, required: ['syncs'] }, 404: error },
      },
    },
    async (request, reply) => {
      if (!view.app(request.params.app)) return sendError(reply, 'not-found', errorMessage('not-found', request.params.app));
      const limit = request.query.limit ?? 20;
      const syncs = request.query.kind === 'plan' ? await view.plans(request.params.app, limit) : await view.syncs(request.params.app, limit);
      return { syncs };
    },
  );

  app.get<{ Params: { app: string } }>(
    '/api/apps/:app/previews',
    {
      schema: {
        params: appParams,
        response: { 200: { type: 'object', properties: { previews: { type: 'array', items: preview } }, required: ['previews'] }, 404: error },
      },
    },
    async (request, reply) => {
      const found = view.app(request.params.app);
      if (!found) return sendError(reply, 'not-found', errorMessage('not-found', request.params.app));
      return { previews: await view.previews(found) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/syncs/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] }, response: { 200: record, 404: error } } },
    async (request, reply) => {
      const found = await view.sync(request.params.id);
      if (!found) return sendError(reply, 'not-found', `no sync or plan "${request.params.id}"`);
      return found;
    },
  );

  app.post<{ Params: { app: string } }>(
    '/api/apps/:app/sync',
    {
      schema: {
        params: appParams,
        response: {
          202: {
            type: 'object',
            properties: {
              accepted: {
                type: 'object',
                properties: { app: { type: 'string' }, jobId: { type: 'string' }, url: { type: 'string' } },
                required: ['app', 'jobId'],
              },
            },
            required: ['accepted'],
          },
          401: error,
          403: error,
          404: error,
          429: error,
          503: error,
        },
      },
    },
    async (request, reply) => {
      const verdict = options.tokens(request, bearerToken(request));
      if (!verdict.ok) {
        if (verdict.code === 'disabled') return sendError(reply, 'disabled', errorMessage('disabled', 'manual syncs'));
        if (verdict.code === 'rate-limited') {
          return sendError(reply, 'rate-limited', errorMessage('rate-limited', 'too many wrong API tokens from this source', verdict.retryAfterSeconds), {
            'retry-after': String(verdict.retryAfterSeconds),
          });
        }
        return sendError(reply, 'unauthorized', 'send Authorization: Bearer <one of server.apiTokens>', { 'www-authenticate': 'Bearer' });
      }
      const config = view.app(request.params.app);
      if (!config) return sendError(reply, 'not-found', errorMessage('not-found', request.params.app));
      const jobId = await tryQueueManualSync(options.intake, config);
      if (!jobId) return sendError(reply, 'unavailable', errorMessage('unavailable', 'sync'));
      return reply.code(202).send({ accepted: { app: config.name, jobId, url: `${options.config.server.publicUrl}/syncs/${jobId}` } });
    },
  );
}
