import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { basicPassword, bearerToken, tokenAllowed } from '../auth.js';

/**
 * Bull Board at `/admin/queues`, behind the API tokens: browsers send HTTP Basic (any user name,
 * the token as password), scripts may send a bearer token. Encapsulated so its hook and its
 * relaxed page policy (it ships its own scripts) stay away from the dashboard.
 */
export async function adminRoutes(app: FastifyInstance, options: { queues: Queue[]; apiTokens: string[] }): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const token = bearerToken(request) ?? basicPassword(request);
    if (options.apiTokens.length > 0 && tokenAllowed(options.apiTokens, token)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Basic realm="Landfall queues", charset="UTF-8"')
      .send({ error: 'unauthorized', message: options.apiTokens.length ? 'log in with any user name and an API token as password' : 'set server.apiTokens to open the queue board' });
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({ queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: false })), serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' });
}
