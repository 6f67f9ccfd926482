// Intake held at 2,000 signed deliveries per second for 30 seconds on loopback (bounded,
// self-stopping): no errors, every accepted delivery recorded once, memory flat.
import t from 'tap';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';
import { githubExamples } from '../support/fixtures.js';

const SECRET = 'load-test-webhook-secret';
const RATE = Number(process.env.LANDFALL_LOAD_RATE ?? 2_000);
const SECONDS = Number(process.env.LANDFALL_LOAD_SECONDS ?? 30);

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

t.test(`${RATE} signed deliveries per second for ${SECONDS} s`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
  const { prefix, redis } = await redisForTest(t, 'load');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = join(dir, 'landfall.yaml');
  await writeFile(
    config,
    `server: { host: 127.0.0.1, port: ${port}, logLevel: warn, spoolDir: "${join(dir, 'spool')}", rateLimit: { perSecond: 100000, burst: 100000 } }\nredis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: master, namespace: web }\n  - { name: api, forge: github, repo: acme/api, branch: master, namespace: api }\n`,
  );
  const web = runCli(['serve', '--role', 'web', '--config', config], { LANDFALL_SERVER__LOG_LEVEL: 'info' });
  t.teardown(() => web.child.kill('SIGKILL'));
  await web.waitFor(/landfall web listening/);

  // A real push (GitHub's example), for two apps, each signed once.
  const example = githubExamples('push').find((e) => e.ref === 'refs/heads/master')!;
  const bodies = ['acme/web', 'acme/api'].map((repo) => JSON.stringify({ ...example, repository: { ...example.repository, full_name: repo } }));
  const signatures = bodies.map((b) => `sha256=${createHmac('sha256', SECRET).update(b).digest('hex')}`);
  let n = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssKb(web.child.pid!)), 1_000);
  const options = {
    url: `http://127.0.0.1:${port}/hooks/github`,
    method: 'POST',
    connections: 32,
    overallRate: RATE,
    duration: SECONDS,
    requests: [
      {
        setupRequest: (req: any) => {
          const i = n++ % 2;
          return {
            ...req,
            body: bodies[i],
            headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signatures[i] },
          };
        },
      },
    ],
  };
  // (autocannon's types lag its options: `requests` and `overallRate` are documented and work.)
  const result = await autocannon(options);
  clearInterval(sampler);
  const accepted = result['2xx'];
  t.equal(result.errors, 0, 'no connection errors');
  t.equal(result.timeouts, 0, 'no timeouts');
  t.equal(result.non2xx, 0, 'no answer other than 2xx');
  t.ok(
    result.requests.total >= RATE * SECONDS * 0.95,
    `held the rate: ${result.requests.total} requests in ${SECONDS} s (${Math.round(result.requests.average)}/s, p99 ${result.latency.p99} ms)`,
  );
  // Every accepted delivery was recorded exactly once (SET NX per delivery id).
  let recorded = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:delivery:github:*`, 'COUNT', 5000);
    cursor = next;
    recorded += keys.length;
  } while (cursor !== '0');
  // Requests in flight when the clock ran out were recorded but their answers not counted.
  t.ok(
    recorded >= accepted && recorded <= accepted + 32,
    `every accepted delivery recorded once: ${accepted} accepted, ${recorded} recorded (at most 32 in flight at the end)`,
  );
  const jobs = await redis.keys(`${prefix}:sync:sync-*`);
  t.same(jobs.sort(), [`${prefix}:sync:sync-api-0`, `${prefix}:sync:sync-web-0`], 'coalesced into one pending sync per app');
  // Memory flat: the last third no higher than the middle third by more than a margin.
  const third = Math.floor(samples.length / 3);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const middle = avg(samples.slice(third, 2 * third));
  const last = avg(samples.slice(2 * third));
  t.ok(last <= middle * 1.15 + 8_192, `RSS flat: middle ${Math.round(middle / 1024)} MB, last ${Math.round(last / 1024)} MB`);
  t.ok(samples.length >= SECONDS - 2, `peak RSS ${Math.round(Math.max(...samples) / 1024)} MB over ${samples.length} samples (see BENCHMARKS.md)`);
  web.child.kill('SIGTERM');
  t.equal(await web.exited, 0);
});
