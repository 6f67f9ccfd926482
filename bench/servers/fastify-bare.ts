/**
 * Baseline: a bare Fastify route answering 202 to the webhook, with Fastify's defaults (its JSON
 * body parser, no logger) and nothing else: no signature check, nothing stored. What the
 * framework alone costs. Run as `node --import tsx bench/servers/fastify-bare.ts <port>`.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false });
// The same shape of answer Landfall gives, so response sizes match.
const answer = { accepted: [{ app: 'web', sha: '0000000000000000000000000000000000000000', jobId: 'sync-web-0' }] };
app.post('/hooks/github', (_request, reply) => reply.code(202).send(answer));
app.get('/healthz', () => Promise.resolve({ ok: true }));
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.on('SIGINT', () => void app.close().then(() => process.exit(0)));
