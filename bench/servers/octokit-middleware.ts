/**
 * Baseline: @octokit/webhooks' own Node middleware (`createNodeMiddleware`) verifying the same
 * signed push and dispatching it to a no-op `push` handler. It persists nothing. Run as
 * `node --import tsx bench/servers/octokit-middleware.ts <port> <secret>`; exits 3 when the
 * package is not installed.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const secret = process.argv[3] ?? '';
// Imported by a computed name: the package is optional, and type-checking must not need it.
const name = '@octokit/webhooks';
let octokit: {
  Webhooks: new (options: { secret: string }) => { on(event: string, handler: () => void): void };
  createNodeMiddleware: (webhooks: unknown, options: { path: string }) => (req: unknown, res: unknown, next?: () => void) => unknown;
};
try {
  octokit = (await import(name)) as typeof octokit;
} catch (err) {
  process.stderr.write(`${name} is not installed: ${(err as Error).message}\n`);
  process.exit(3);
}
const webhooks = new octokit.Webhooks({ secret });
webhooks.on('push', () => undefined);
const middleware = octokit.createNodeMiddleware(webhooks, { path: '/hooks/github' });
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  void middleware(req, res, () => res.writeHead(404).end());
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
