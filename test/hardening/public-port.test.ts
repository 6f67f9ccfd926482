// The public port's limits, one at a time: what is refused before the body is read, the budget of
// webhook bytes in flight (taken and given back on every outcome), small bodies off /hooks,
// security headers, the API token failure budget, the queue board's guard, clipped echoed names,
// timeouts and the connection cap. test/hardening/flood.test.ts throws them all at a real process.
import t from 'tap';
import { createHmac, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createBodyBudget } from '../../src/http/body-budget.js';
import { createMetrics } from '../../src/metrics/families.js';
import { attempt, chunked, requestHead } from '../support/flood.js';
import { parsePrometheus } from '../support/prometheus.js';
import { queuesForTest } from '../support/queues.js';
import { rawRequest } from '../support/raw-http.js';
import { redisForTest } from '../support/redis.js';
import { KITS } from '../support/sign.js';
import { startWeb } from '../support/web.js';
import { until } from '../support/workers.js';

const SECRET = 'public-port-webhook-secret';
const TOKEN = 'public-port-api-token';
const MiB = 1024 * 1024;
const sign = (body: Buffer | string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const push = (extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ ...(KITS.github.push('acme/web', 'main', randomUUID().replace(/-/g, '').padEnd(40, 'a')) as object), ...extra }));
const hookHeaders = (body: Buffer | undefined, extra: Record<string, string | number> = {}) => ({
  'content-type': 'application/json',
  'x-github-event': 'push',
  'x-github-delivery': randomUUID(),
  'x-hub-signature-256': body ? sign(body) : `sha256=${'0'.repeat(64)}`,
  ...extra,
});

// Each case from an address of its own, so no failure budget is shared between them.
let nextAddress = 10;
const address = () => `127.0.2.${nextAddress++}`;

t.test('the public port', async (t) => {
  const { url, prefix, redis } = await redisForTest(t, 'port');
  const metrics = createMetrics();
  const web = await startWeb(
    t,
    `redis: { url: ${url}, prefix: ${prefix} }\nserver: { apiTokens: [${TOKEN}], maxBodyBytes: ${2 * MiB}, maxInFlightBytes: ${4 * MiB}, requestTimeout: 20s, rateLimit: { perSecond: 1000, burst: 1000, failuresPerMinute: 5 } }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
    {},
    { metrics },
  );
  const port = Number(new URL(web.url).port);
  const inFlight = async () => parsePrometheus(await metrics.registry.metrics()).get('landfall_webhook_bytes_in_flight')?.samples[0]?.value;
  /** Sends only the head of a request that announces a body, and waits for the server to answer and close. */
  const headOnly = (path: string, headers: Record<string, string | number>, localAddress = address()) =>
    attempt({ port, localAddress, head: requestHead('POST', path, { 'content-length': MiB, ...headers }) });

  t.test('what the headers decide is answered before a byte of the body arrives', async (t) => {
    const cases: [string, string, Record<string, string | number>, number][] = [
      ['a content type other than JSON', '/hooks/github', { ...hookHeaders(undefined), 'content-type': 'text/plain' }, 415],
      ['no signature header', '/hooks/github', { 'content-type': 'application/json', 'x-github-event': 'push' }, 401],
      ['a forge that is not configured', '/hooks/gitea', hookHeaders(undefined), 404],
      ['a name that is no forge', '/hooks/not-a-forge', hookHeaders(undefined), 404],
      ['a Content-Length over maxBodyBytes', '/hooks/github', { ...hookHeaders(undefined), 'content-length': 2 * MiB + 1 }, 413],
      ['a body to a route that takes small ones', '/nope', { 'content-type': 'application/json' }, 413],
      ['a body to the manual-sync API', '/api/apps/web/sync', { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, 413],
    ];
    for (const [what, path, headers, status] of cases) {
      const res = await headOnly(path, headers);
      t.equal(res.status, status, `${what}: ${status} without the body (a server waiting for it would answer 408 after 20 s)`);
    }
    // Two signature headers: node's rawHeaders keep both.
    const repeated = await attempt({
      port,
      localAddress: address(),
      head: `POST /hooks/github HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: application/json\r\nx-github-event: push\r\nx-hub-signature-256: sha256=1\r\nx-hub-signature-256: sha256=2\r\ncontent-length: ${MiB}\r\n\r\n`,
    });
    t.equal(repeated.status, 400, 'a signature header sent twice: 400 before the body');
    t.equal(await inFlight(), 0, 'no budget held by any of them');
  });

  t.test('a source shut out is refused before its body, and unknown forge names count', async (t) => {
    const source = address();
    for (let i = 0; i < 5; i++) t.equal((await headOnly(`/hooks/evil-${i}`, hookHeaders(undefined), source)).status, 404);
    const shut = await headOnly('/hooks/evil-again', hookHeaders(undefined), source);
    t.equal(shut.status, 429, 'the sixth unknown forge name is 429, unread');
    t.ok(Number(shut.retryAfter) > 0, 'with Retry-After');
    const forged = address();
    for (let i = 0; i < 5; i++)
      t.equal(
        (await rawRequest({ port, path: '/hooks/github', localAddress: forged, headers: Object.entries(hookHeaders(undefined)), body: push() })).status,
        401,
      );
    const big = await headOnly('/hooks/github', hookHeaders(undefined), forged);
    t.equal(big.status, 429, 'a source that sent five forged deliveries gets 429 before uploading another body');
  });

  t.test('webhook bytes in flight are bounded, and given back however a request ends', async (t) => {
    // Admitted: 2 MiB of the 3 MiB region for large bodies is held while the body does not come.
    const holder = connect({ port, host: '127.0.0.1', localAddress: address() });
    holder.on('error', () => undefined);
    holder.write(requestHead('POST', '/hooks/github', { ...hookHeaders(undefined), 'content-length': 2 * MiB }));
    await until('the first large body to be admitted', async () => (await inFlight()) === 2 * MiB);
    const refused = await headOnly('/hooks/github', { ...hookHeaders(undefined), 'content-length': 2 * MiB });
    t.equal(refused.status, 503, 'a second large body does not fit: 503 before its body');
    t.equal(refused.retryAfter, '20', 'with Retry-After: the request timeout, by when every body in flight is done');
    const small = push();
    const ok = await rawRequest({ port, path: '/hooks/github', localAddress: address(), headers: Object.entries(hookHeaders(small)), body: small });
    t.equal(ok.status, 202, 'an ordinary delivery still has room');
    holder.destroy();
    await until('an aborted upload to give its bytes back', async () => (await inFlight()) === 0);
    t.pass('the aborted upload gave its 2 MiB back');

    const forged = Buffer.alloc(2 * MiB - 10, 0x20);
    const wrong = await rawRequest({ port, path: '/hooks/github', localAddress: address(), headers: Object.entries(hookHeaders(undefined)), body: forged });
    t.equal(wrong.status, 401, 'a large body with a wrong signature is read, then refused');
    t.equal(await inFlight(), 0, 'and gives its bytes back');
    const large = push({ padding: 'p'.repeat(1.5 * MiB) });
    const accepted = await rawRequest({ port, path: '/hooks/github', localAddress: address(), headers: Object.entries(hookHeaders(large)), body: large });
    t.equal(accepted.status, 202, 'a large signed delivery is accepted');
    t.equal(await inFlight(), 0, 'and gives its bytes back');
  });

  t.test('chunked bodies are counted as they stream and cut off at maxBodyBytes', async (t) => {
    const over = chunked(Buffer.alloc(3 * MiB, 0x20));
    const cut = await attempt({
      port,
      localAddress: address(),
      head: requestHead('POST', '/hooks/github', { ...hookHeaders(undefined), 'transfer-encoding': 'chunked' }),
      body: over,
    });
    t.ok(cut.status === 413 || cut.status === undefined, `413, or the connection closed under the sender (${cut.status})`);
    const large = push({ padding: 'q'.repeat(1.5 * MiB) });
    const res = await attempt({
      port,
      localAddress: address(),
      head: requestHead('POST', '/hooks/github', { ...hookHeaders(large), 'transfer-encoding': 'chunked' }),
      body: chunked(large),
    });
    t.equal(res.status, 202, 'a chunked signed delivery over 1 MiB is accepted');
    const smallOne = push();
    t.equal(
      (
        await attempt({
          port,
          localAddress: address(),
          head: requestHead('POST', '/hooks/github', { ...hookHeaders(smallOne), 'transfer-encoding': 'chunked' }),
          body: chunked(smallOne, 100),
        })
      ).status,
      202,
      'and a small one',
    );
    const elsewhere = await attempt({
      port,
      localAddress: address(),
      head: requestHead('POST', '/nope', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
      body: chunked(Buffer.alloc(MiB, 0x20)),
    });
    t.ok(elsewhere.status === 413 || elsewhere.status === undefined, `a chunked body to another route is cut off at 16 KiB (${elsewhere.status})`);
    t.equal(await inFlight(), 0, 'nothing left held');
  });

  t.test('JSON answers are neither sniffed, cached nor framed', async (t) => {
    for (const path of ['/api/apps', '/api/apps/nope', '/healthz']) {
      const res = await fetch(`${web.url}${path}`);
      t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
      t.equal(res.headers.get('cache-control'), 'no-store', `${path}: no-store`);
      t.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", `${path}: a policy that loads and frames nothing`);
    }
    const page = await fetch(`${web.url}/`);
    t.match(page.headers.get('content-security-policy'), /style-src 'self'/, 'the dashboard keeps its own policy');
  });

  t.test('wrong API tokens count against their source', async (t) => {
    const sync = (localAddress: string, token?: string) =>
      rawRequest({ port, path: '/api/apps/web/sync', localAddress, headers: token ? [['authorization', `Bearer ${token}`]] : [] });
    const guesser = address();
    for (let i = 0; i < 8; i++) t.equal((await sync(guesser)).status, 401, 'no token at all is no guess');
    for (let i = 0; i < 5; i++) t.equal((await sync(guesser, `wrong-token-${i}`)).status, 401);
    const shut = await sync(guesser, 'wrong-token-again');
    t.equal(shut.status, 429, 'the sixth wrong token is 429');
    t.ok(Number(shut.headers['retry-after']) > 0, 'with Retry-After');
    t.equal((await sync(guesser, TOKEN)).status, 429, 'and the right one is not even compared for the rest of the minute');
    t.equal((await sync(address(), TOKEN)).status, 202, 'another source is unaffected');
    const basic = (token: string) => [['authorization', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`]] as [string, string][];
    const boardGuesser = address();
    for (let i = 0; i < 5; i++)
      t.equal((await rawRequest({ port, path: '/admin/queues', method: 'GET', localAddress: boardGuesser, headers: basic(`nope-${i}`) })).status, 401);
    t.equal(
      (await rawRequest({ port, path: '/admin/queues', method: 'GET', localAddress: boardGuesser, headers: basic('nope') })).status,
      429,
      'the queue board counts wrong tokens too',
    );
    const webhook = push();
    t.equal(
      (await rawRequest({ port, path: '/hooks/github', localAddress: guesser, headers: Object.entries(hookHeaders(webhook)), body: webhook })).status,
      202,
      "token guessing does not shut out the source's webhooks",
    );
  });

  t.test('the queue board: never framed, read-only unless asked', async (t) => {
    const basic: [string, string] = ['authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`];
    const page = await rawRequest({ port, path: '/admin/queues', method: 'GET', localAddress: address(), headers: [basic] });
    t.equal(page.status, 200);
    t.equal(page.headers['x-frame-options'], 'DENY');
    t.equal(page.headers['content-security-policy'], "frame-ancestors 'none'");
    const pause = await rawRequest({
      port,
      path: '/admin/queues/api/queues/sync/pause',
      method: 'PUT',
      localAddress: address(),
      headers: [basic, ['sec-fetch-site', 'same-origin']],
    });
    t.equal(pause.status, 405, 'read-only by default, even from the board itself');
    t.match(pause.json, { error: 'read-only' });
  });

  t.test('echoed names are clipped in answers and job data', async (t) => {
    const long = 'b'.repeat(100_000);
    const body = Buffer.from(JSON.stringify(KITS.github.push('acme/web', long, 'c'.repeat(40))));
    const res = await rawRequest({ port, path: '/hooks/github', localAddress: address(), headers: Object.entries(hookHeaders(body)), body });
    t.equal(res.status, 200);
    t.equal(res.json.ignored, 'untracked-branch');
    t.ok(res.body.length < 1_000, `the answer is ${res.body.length} bytes, not 100 KB`);
    t.match(res.json.detail, /b…/);
    const pr = Buffer.from(JSON.stringify(KITS.github.pullRequest('acme/web', 7, 'opened', 'd'.repeat(40), long, 'main')));
    const planned = await rawRequest({
      port,
      path: '/hooks/github',
      localAddress: address(),
      headers: Object.entries({ ...hookHeaders(pr), 'x-github-event': 'pull_request' }),
      body: pr,
    });
    t.equal(planned.status, 202);
    const queues = queuesForTest(t, redis, prefix);
    const job = await queues.plan.getJob(planned.json.accepted[0].jobId);
    t.equal(job?.data.headBranch.length, 256, 'the head branch is kept to 256 characters');
    t.ok(job?.data.headBranch.endsWith('…'));
    const notFound = await fetch(`${web.url}/apps/${'z'.repeat(5_000)}`);
    const text = await notFound.text();
    t.ok(text.length < 3_000, `a dashboard 404 does not echo a 5,000-character name: ${notFound.status} ${text.slice(0, 300)}`);
  });

  t.test('timeouts and the connection cap are set on the server', async (t) => {
    const server = web.runtime.app.server;
    t.equal(server.headersTimeout, 10_000);
    t.equal(server.requestTimeout, 20_000);
    t.equal(server.keepAliveTimeout, 65_000);
    t.equal(server.timeout, 65_000, 'idle sockets');
    t.equal(server.maxConnections, 1_000);
  });
});

t.test('a writable queue board takes changes from its own origin only', async (t) => {
  const { url, prefix, redis } = await redisForTest(t, 'board');
  const web = await startWeb(
    t,
    `redis: { url: ${url}, prefix: ${prefix} }\nserver: { apiTokens: [${TOKEN}], queueBoardWritable: true, publicUrl: "https://landfall.example.com" }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
  );
  const port = Number(new URL(web.url).port);
  const queues = queuesForTest(t, redis, prefix);
  const basic: [string, string] = ['authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`];
  const put = (path: string, headers: [string, string][]) =>
    rawRequest({ port, path: `/admin/queues/api/queues/sync/${path}`, method: 'PUT', headers: [basic, ...headers] });
  for (const [what, headers] of [
    ['Sec-Fetch-Site: cross-site', [['sec-fetch-site', 'cross-site']]],
    ['Sec-Fetch-Site: same-site', [['sec-fetch-site', 'same-site']]],
    ['an Origin of another site', [['origin', 'https://evil.example']]],
    ['Origin: null', [['origin', 'null']]],
  ] as [string, [string, string][]][]) {
    const res = await put('pause', headers);
    t.equal(res.status, 403, `${what}: refused`);
  }
  t.equal(await queues.sync.isPaused(), false, 'nothing was paused');
  t.equal((await put('pause', [['sec-fetch-site', 'same-origin']])).status, 200, 'from the board itself: done');
  t.equal(await queues.sync.isPaused(), true);
  t.equal((await put('resume', [['origin', 'https://landfall.example.com']])).status, 200, 'an Origin equal to server.publicUrl is the board too');
  t.equal(await queues.sync.isPaused(), false);
  t.equal((await put('pause', [])).status, 200, 'a script that sends neither header (and a token) is no browser');
  await queues.sync.resume();
});

t.test('the connection cap closes connections beyond it', async (t) => {
  const { url, prefix } = await redisForTest(t, 'conns');
  const web = await startWeb(t, `redis: { url: ${url}, prefix: ${prefix} }\nserver: { maxConnections: 3 }\nforges: { github: { webhookSecret: ${SECRET} } }\n`);
  const port = Number(new URL(web.url).port);
  const server = web.runtime.app.server;
  const open: Socket[] = [];
  t.teardown(() => open.forEach((s) => s.destroy()));
  for (let i = 0; i < 3; i++) {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    open.push(socket);
  }
  await until('three connections', () => new Promise<boolean>((resolve) => server.getConnections((_err, n) => resolve(n === 3))));
  const fourth = await attempt({ port, localAddress: '127.0.0.1', head: requestHead('GET', '/healthz', {}) });
  t.equal(fourth.status, undefined, 'the fourth connection is closed without an answer');
  open.pop()?.destroy();
  await until('two connections', () => new Promise<boolean>((resolve) => server.getConnections((_err, n) => resolve(n === 2))));
  t.equal(
    (await attempt({ port, localAddress: '127.0.0.1', head: requestHead('GET', '/healthz', {}) })).status,
    200,
    'below the cap again, connections are served',
  );
});

t.test('the body budget: large bodies share one region and leave room for small ones', async (t) => {
  const budget = createBodyBudget({ limit: 8 * MiB, perSource: 8 * MiB });
  let source = 0;
  const a = budget.lease(`s${source++}`);
  const first = a.alloc(4 * MiB);
  t.equal(first?.length, 4 * MiB);
  const b = budget.lease(`s${source++}`);
  t.equal(b.alloc(3 * MiB), undefined, 'the large share is 6 MiB: 4 + 3 does not fit');
  const small = budget.lease(`s${source++}`);
  t.ok(small.alloc(MiB), 'a body of 1 MiB draws on the whole budget');
  t.ok(small.take(0), 'taking nothing always works');
  const c = budget.lease(`s${source++}`);
  const second = c.alloc(2 * MiB);
  t.ok(second, '4 + 2 fits the large share');
  t.equal(budget.inFlight(), 7 * MiB);
  first?.fill(1);
  second?.fill(2);
  t.equal(first?.[4 * MiB - 1], 1, 'the two regions do not overlap');
  a.release();
  a.release();
  t.equal(budget.inFlight(), 3 * MiB, 'a second release gives back nothing more');
  const d = budget.lease(`s${source++}`);
  t.ok(d.alloc(3 * MiB), 'the freed stretch is reused');
  t.equal(d.alloc(2 * MiB), undefined, 'within the limit, but no stretch of the region is that long');
  for (const lease of [c, d, small]) lease.release();
  const e = budget.lease(`s${source}`);
  t.notOk(e.take(2 * MiB), 'take is for bodies kept as chunks, at most 1 MiB');
  t.ok(e.take(MiB));
  t.ok(e.alloc(MiB + 1), 'a chunked body outgrowing 1 MiB moves into a buffer');
  t.equal(e.held, MiB + 1, 'and what take counted is given back');
  e.release();
  t.equal(budget.inFlight(), 0);
});

t.test('the body budget: one source holds at most its share', async (t) => {
  const budget = createBodyBudget({ limit: 8 * MiB, perSource: 3 * MiB });
  const leases = [budget.lease('greedy'), budget.lease('greedy'), budget.lease('greedy'), budget.lease('greedy')];
  t.ok(
    leases.slice(0, 3).every((l) => l.alloc(MiB)),
    'three bodies of 1 MiB from one source',
  );
  t.equal(leases[3]?.alloc(MiB), undefined, 'not a fourth');
  t.ok(budget.lease('other').alloc(MiB), 'another source is unaffected');
  leases[0]?.release();
  t.ok(leases[3]?.alloc(MiB), 'once one is done, the source may send another');
});
