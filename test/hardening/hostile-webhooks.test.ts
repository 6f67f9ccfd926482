// A corpus of hostile deliveries, each with the answer it must get; nothing queued for any of them.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { queuesForTest } from '../support/queues.js';
import { rawRequest } from '../support/raw-http.js';
import { redisForTest } from '../support/redis.js';
import { KITS } from '../support/sign.js';
import { startWeb } from '../support/web.js';

const SECRET = 'hostile-webhook-secret';
const sign = (body: Buffer | string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const push = (repo = 'acme/web', extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ ...(KITS.github.push(repo, 'main', 'a'.repeat(40)) as object), ...extra }));

interface Case {
  name: string;
  body: Buffer;
  headers?: [string, string][];
  /** Replaces the usual headers entirely. */
  only?: [string, string][];
  status: number;
  error?: string;
  ignored?: string;
}

const deep = Buffer.from(
  `{"ref":"refs/heads/main","before":"${'0'.repeat(40)}","after":"${'b'.repeat(40)}","repository":{"full_name":"acme/web"},"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
);
const invalidUtf8 = Buffer.concat([Buffer.from('{"ref":"refs/heads/main","x":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
const utf16 = Buffer.from(JSON.stringify({ ref: 'refs/heads/main' }), 'utf16le');

const CASES: Case[] = [
  { name: 'invalid UTF-8 with a valid signature', body: invalidUtf8, status: 400, error: 'encoding-invalid' },
  {
    name: 'UTF-16 declared as JSON',
    body: utf16,
    only: [
      ['content-type', 'application/json; charset=utf-16'],
      ['x-github-event', 'push'],
      ['x-hub-signature-256', sign(utf16)],
    ],
    status: 415,
    error: 'unsupported-media-type',
  },
  { name: 'UTF-16 bytes declared as UTF-8', body: utf16, status: 400, error: 'json-invalid' },
  { name: 'deeply nested JSON (100,000 levels)', body: deep, status: 202 },
  { name: 'JSON that is only a string', body: Buffer.from('"push"'), status: 400, error: 'payload-invalid' },
  { name: 'JSON null', body: Buffer.from('null'), status: 400, error: 'payload-invalid' },
  {
    name: 'a __proto__ key',
    body: Buffer.from('{"__proto__":{"polluted":true},"ref":"refs/heads/main","before":"x","after":"y","repository":{"full_name":"acme/web"}}'),
    status: 202,
  },
  { name: 'a valid signature over a payload for another repo', body: push('evil/other'), status: 200, ignored: 'unknown-repo' },
  { name: 'a push to a ref that is neither branch nor tag', body: push('acme/web', { ref: 'refs/notes/commits' }), status: 200, ignored: 'unhandled-event' },
  {
    name: 'two X-Hub-Signature-256 headers',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-github-delivery', 'dup-sig'],
      ['x-hub-signature-256', sign(push())],
      ['x-hub-signature-256', sign(push())],
    ],
    status: 400,
    error: 'header-repeated',
  },
  {
    name: 'two X-GitHub-Delivery headers',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-github-delivery', 'one'],
      ['X-GitHub-Delivery', 'two'],
      ['x-hub-signature-256', sign(push())],
    ],
    status: 400,
    error: 'header-repeated',
  },
  {
    name: 'two content types',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['content-type', 'text/plain'],
      ['x-github-event', 'push'],
      ['x-hub-signature-256', sign(push())],
    ],
    status: 400,
    error: 'header-repeated',
  },
  {
    name: 'a signature in upper-case hex with a space',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-hub-signature-256', ` ${sign(push())}`],
    ],
    status: 202,
  },
  {
    name: 'a signature with trailing garbage',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-hub-signature-256', `${sign(push())}00`],
    ],
    status: 401,
  },
  {
    name: 'two X-GitHub-Event headers',
    body: push(),
    only: [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-github-event', 'ping'],
      ['x-hub-signature-256', sign(push())],
    ],
    status: 400,
    error: 'header-repeated',
  },
  { name: 'a 20 KB header', body: push(), headers: [['x-padding', 'p'.repeat(20_000)]], status: 431 },
  {
    name: 'no content type at all',
    body: push(),
    only: [
      ['x-github-event', 'push'],
      ['x-hub-signature-256', sign(push())],
    ],
    status: 415,
  },
];

t.test('hostile webhook corpus', async (t) => {
  const { url, prefix, redis } = await redisForTest(t, 'hostile');
  const web = await startWeb(
    t,
    `redis: { url: ${url}, prefix: ${prefix} }\nserver: { maxBodyBytes: 8388608 }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
  );
  const queues = queuesForTest(t, redis, prefix);
  const port = Number(new URL(web.url).port);
  let n = 0;
  for (const c of CASES) {
    const headers: [string, string][] = c.only ?? [
      ['content-type', 'application/json'],
      ['x-github-event', 'push'],
      ['x-github-delivery', `hostile-${n++}`],
      ['x-hub-signature-256', sign(c.body)],
      ...(c.headers ?? []),
    ];
    const before = await queues.sync.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed');
    const res = await rawRequest({ port, path: '/hooks/github', headers, body: c.body });
    t.equal(res.status, c.status, `${c.name}: ${res.status} ${res.body.slice(0, 200)}`);
    if (c.error) t.equal(res.json?.error, c.error, `${c.name}: says ${c.error}`);
    if (c.ignored) t.equal(res.json?.ignored, c.ignored, `${c.name}: ignored as ${c.ignored}`);
    if (c.status !== 202)
      t.equal(await queues.sync.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed'), before, `${c.name}: nothing queued`);
  }
  t.equal(Object.getPrototypeOf({}).polluted, undefined, 'no prototype pollution');

  t.test('a huge JSON body within the limit is handled, and one over it is refused unread', async (t) => {
    const commits = Array.from({ length: 20_000 }, (_, i) => ({ id: i.toString(16).padStart(40, '0'), message: 'x'.repeat(300) }));
    const big = push('acme/web', { commits });
    t.ok(big.length > 6_000_000 && big.length < 8_388_608, `${(big.length / 1e6).toFixed(1)} MB`);
    const ok = await rawRequest({
      port,
      path: '/hooks/github',
      headers: [
        ['content-type', 'application/json'],
        ['x-github-event', 'push'],
        ['x-github-delivery', 'big-1'],
        ['x-hub-signature-256', sign(big)],
      ],
      body: big,
    });
    t.equal(ok.status, 202);
    const job = await queues.sync.getJob(ok.json.accepted[0].jobId);
    t.ok(JSON.stringify(job?.data).length < 1_000, 'the job carries the neutral event, not the payload');
    const over = Buffer.concat([big, Buffer.alloc(3_000_000, 32)]);
    const refused = await rawRequest({
      port,
      path: '/hooks/github',
      headers: [
        ['content-type', 'application/json'],
        ['x-github-event', 'push'],
        ['x-hub-signature-256', sign(over)],
      ],
      body: over,
    });
    t.equal(refused.status, 413);
  });
});

t.test('a flood from one source is rate limited; valid deliveries from others keep flowing', async (t) => {
  const { url, prefix } = await redisForTest(t, 'flood');
  const web = await startWeb(
    t,
    `redis: { url: ${url}, prefix: ${prefix} }\nserver: { rateLimit: { perSecond: 100, burst: 200, failuresPerMinute: 20 } }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
  );
  const port = Number(new URL(web.url).port);
  const forged = push();
  const attacker = async (i: number) =>
    rawRequest({
      port,
      path: '/hooks/github',
      localAddress: '127.0.0.2',
      headers: [
        ['content-type', 'application/json'],
        ['x-github-event', 'push'],
        ['x-github-delivery', `f-${i}`],
        ['x-hub-signature-256', `sha256=${'0'.repeat(64)}`],
      ],
      body: forged,
    });
  const forge = async (i: number) => {
    const body = push('acme/web', { after: i.toString(16).padStart(40, 'c') });
    return rawRequest({
      port,
      path: '/hooks/github',
      localAddress: '127.0.0.3',
      headers: [
        ['content-type', 'application/json'],
        ['x-github-event', 'push'],
        ['x-github-delivery', `ok-${i}`],
        ['x-hub-signature-256', sign(body)],
      ],
      body,
    });
  };
  const flood = [];
  const valid = [];
  for (let i = 0; i < 200; i++) {
    flood.push(attacker(i));
    if (i % 10 === 0) valid.push(forge(i));
  }
  const floodAnswers = (await Promise.all(flood)).map((r) => r.status);
  const validAnswers = (await Promise.all(valid)).map((r) => r.status);
  t.equal(floodAnswers.filter((s) => s === 401).length, 20, 'the first refusals are answered 401');
  t.equal(floodAnswers.filter((s) => s === 429).length, 180, 'then the source is shut out with 429');
  t.same([...new Set(validAnswers)], [202], `all ${validAnswers.length} valid deliveries from another source were accepted`);
  const limited = await attacker(999);
  t.ok(Number(limited.headers['retry-after']) > 0, 'with a Retry-After');
});
