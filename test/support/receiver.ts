import { createServer, type IncomingHttpHeaders } from 'node:http';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A local HTTP endpoint that records what is POSTed to it (a notification target). */
export interface Receiver {
  url: string;
  received: { path: string; headers: IncomingHttpHeaders; body: any; raw: string }[];
  /** Resolves when a received body satisfies `match`; rejects after `timeoutMs`. */
  waitFor(match: (body: any) => boolean, timeoutMs?: number): Promise<any>;
}

/** Starts a receiver on 127.0.0.1 that answers 200 to everything. */
export async function startReceiver(t: Teardown): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      received.push({ path: req.url ?? '', headers: req.headers, body, raw });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find((r) => match(r.body));
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found.body);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`nothing matching received within ${timeoutMs} ms; got: ${JSON.stringify(received.map((r) => r.body)).slice(0, 2000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
