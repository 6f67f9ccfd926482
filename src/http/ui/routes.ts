import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import { currentAccess, field } from '../access.js';
import type { Config } from '../../config/schema.js';
import type { Intake } from '../../queue/producer.js';
import { clipName } from '../../clip.js';
import type { TokenGuard } from '../auth.js';
import { tryQueueManualSync } from '../../intake/manual.js';
import type { View } from '../view.js';
import { FAVICON, STYLESHEET } from './assets.js';
import { html, page } from './html.js';
import { appPage, appsPage, syncPage } from './pages.js';

/**
 * A strict policy: nothing runs, nothing loads from elsewhere; the one stylesheet comes from
 * here. Pages refresh themselves with a meta tag while a sync runs, which needs no script.
 */
export const DASHBOARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function send(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .send(body);
}

/** The server-rendered dashboard: `/`, `/apps/:app`, `/syncs/:id`, and the sync button's form. */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: Fastify awaits the promise an async plugin returns
export async function uiRoutes(app: FastifyInstance, options: { config: Config; view: View; intake: Intake; tokens: TokenGuard }): Promise<void> {
  const { config, view } = options;
  // The sync button posts a plain form; parse it here only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.get('/assets/landfall.css', async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get('/favicon.svg', async (_request, reply) =>
    reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON),
  );
  app.get('/favicon.ico', async (_request, reply) => reply.redirect('/favicon.svg', 301));

  app.get('/', async (_request, reply) => {
    const access = currentAccess();
    const person = access?.kind === 'user' && access.login ? { login: access.login, groups: access.groups } : undefined;
    return send(reply, 200, appsPage(config, await view.apps(), Date.now(), person));
  });

  app.get<{ Params: { app: string }; Querystring: { queued?: string } }>('/apps/:app', async (request, reply) => {
    const appConfig = view.app(request.params.app);
    if (!appConfig) return send(reply, 404, notFound(`No app named “${clipName(request.params.app)}”.`));
    const [summary, drift, syncs, plans, queued, webhook, previews] = await Promise.all([
      view.summary(appConfig),
      view.drift(appConfig.name),
      view.syncs(appConfig.name, 30),
      view.plans(appConfig.name, 10),
      view.queued(appConfig.name),
      view.webhook(appConfig),
      view.previews(appConfig),
    ]);
    const access = currentAccess();
    // Decorated only when sign-in is on.
    const csrf = 'generateCsrf' in reply;
    const person =
      access?.kind === 'user' && access.login
        ? { login: access.login, groups: access.groups, ...(access.canWrite(appConfig.name) && csrf ? { csrf: reply.generateCsrf() } : {}) }
        : undefined;
    return send(reply, 200, appPage(config, summary, drift, syncs, plans, queued, { webhook, person, previews }));
  });

  // A signed-in person's form carries a CSRF token instead of an API token; it must be right.
  // Decorated only when sign-in is on.
  const csrfProtection = 'csrfProtection' in app;
  const personCsrf: preHandlerHookHandler = function (request, reply, done) {
    if (csrfProtection && currentAccess()?.kind === 'user' && !field(request.body, 'token')) return app.csrfProtection(request, reply, done);
    done();
  };
  app.post<{ Params: { app: string }; Body: { token?: string } }>('/apps/:app/sync', { preHandler: personCsrf }, async (request, reply) => {
    const appConfig = view.app(request.params.app);
    if (!appConfig) return send(reply, 404, notFound(`No app named “${clipName(request.params.app)}”.`));
    const access = currentAccess();
    if (access?.kind === 'user' && !request.body?.token) {
      if (!access.canWrite(appConfig.name)) {
        return send(
          reply,
          403,
          page(
            'Not allowed',
            html`<h1>Not allowed</h1>
              <p>
                ${
                  access.groups
                    ? `Syncing ${appConfig.name} needs a group with access: write to it in server.auth.groups.`
                    : `Syncing ${appConfig.name} needs write access to ${appConfig.repo}.`
                }
                <a href="/apps/${appConfig.name}">Back</a>
              </p>`,
          ),
        );
      }
      const jobId = await tryQueueManualSync(options.intake, appConfig);
      if (!jobId)
        return send(
          reply,
          503,
          page(
            'Try again',
            html`<h1>Could not queue the sync</h1>
              <p>Redis did not take it; try again. <a href="/apps/${appConfig.name}">Back</a></p>`,
          ),
        );
      request.log.info({ app: appConfig.name, user: access.login, jobId }, 'sync requested');
      return reply.redirect(`/syncs/${encodeURIComponent(jobId)}`, 303);
    }
    const verdict = options.tokens(request, request.body?.token);
    if (verdict.ok === false && verdict.code === 'rate-limited') {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return send(
        reply,
        429,
        page(
          'Not allowed',
          html`<h1>Too many wrong tokens</h1>
            <p>
              Too many wrong API tokens came from your address; try again in ${verdict.retryAfterSeconds} seconds. <a href="/apps/${appConfig.name}">Back</a>
            </p>`,
        ),
      );
    }
    if (!verdict.ok) {
      return send(
        reply,
        401,
        page(
          'Not allowed',
          html`<h1>Not allowed</h1>
            <p>That is not one of this server's API tokens (<code>server.apiTokens</code>). <a href="/apps/${appConfig.name}">Back</a></p>`,
        ),
      );
    }
    const jobId = await tryQueueManualSync(options.intake, appConfig);
    if (!jobId)
      return send(
        reply,
        503,
        page(
          'Try again',
          html`<h1>Could not queue the sync</h1>
            <p>Redis did not take it; try again. <a href="/apps/${appConfig.name}">Back</a></p>`,
        ),
      );
    return reply.redirect(`/syncs/${encodeURIComponent(jobId)}`, 303);
  });

  app.get<{ Params: { id: string } }>('/syncs/:id', async (request, reply) => {
    const record = await view.sync(request.params.id);
    if (!record) return send(reply, 404, notFound(`No sync or plan “${clipName(request.params.id)}”. Old ones are forgotten after the newest ${100} per app.`));
    return send(reply, 200, syncPage(config, record));
  });
}

function notFound(message: string): string {
  return page(
    'Not found',
    html`<h1>Not found</h1>
      <p>${message}</p>
      <p><a href="/">All apps</a></p>`,
  );
}
