import type { FastifyInstance } from 'fastify';

/** What readiness depends on, each check answering within its own timeout. */
export interface ReadinessChecks {
  [name: string]: () => Promise<boolean>;
}

/** `GET /healthz` (the process is alive) and `GET /readyz` (it can do its work now). */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: Fastify awaits the promise an async plugin returns
export async function healthRoutes(app: FastifyInstance, options: { checks: ReadinessChecks }): Promise<void> {
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const entries = await Promise.all(Object.entries(options.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const));
    const ready = entries.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      checks: Object.fromEntries(entries.map(([name, ok]) => [name, ok ? 'ok' : 'failing'])),
    });
  });
}
