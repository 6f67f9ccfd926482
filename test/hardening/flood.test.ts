// The public port under abuse: a `--role web` process with the chart's Node flags takes bounded
// unauthenticated floods (dozens of concurrent maximum-size bodies with wrong signatures, large
// bodies to other routes, slow bodies, slow headers, an unknown forge) while a forge sends signed
// deliveries. Its peak RSS stays under the chart's memory limit, it never exits, slow sockets are
// closed within the configured timeouts, and every signed delivery is accepted.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { chartWebLimits, rssOf, runFlood } from '../support/flood.js';
import { freePort, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';

const SECRET = 'flood-test-webhook-secret';
// Shorter than the defaults so the test is short; the memory settings are the defaults.
const HEADERS_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 5_000;
// Node looks for expired requests once a second (src/http/app.ts); on two shared cores busy with
// the flood itself, accepting a connection and the check can each lag by a second or more.
const TIMEOUT_SLACK_MS = 4_000;

t.test('unauthenticated floods do not take the web process past the chart memory limit', { timeout: 170_000 }, async (t) => {
  const chart = chartWebLimits();
  const { prefix } = await redisForTest(t, 'flood');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-flood-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const yaml = `server: { host: 127.0.0.1, port: ${port}, logLevel: info, spoolDir: "${join(dir, 'spool')}", apiTokens: ["flood-test-api-token"], headersTimeout: ${HEADERS_TIMEOUT_MS}ms, requestTimeout: ${REQUEST_TIMEOUT_MS}ms }\nredis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: ${SECRET} } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`;
  const config = parseConfig(yaml, {}, 'flood.yaml');
  await writeFile(join(dir, 'landfall.yaml'), yaml);
  // The chart's flags, and nothing of this test runner's (its loaders, its coverage collection).
  const web = runCli(['serve', '--role', 'web', '--config', join(dir, 'landfall.yaml')], { NODE_OPTIONS: chart.nodeOptions, NODE_V8_COVERAGE: undefined });
  t.teardown(() => web.child.kill('SIGKILL'));
  await web.waitFor(/landfall web listening/);
  const pid = web.child.pid as number;
  const idle = await rssOf(pid);

  const result = await runFlood({
    port,
    maxBodyBytes: config.server.maxBodyBytes,
    secret: SECRET,
    repo: 'acme/web',
    branch: 'main',
    bigBodies: { concurrent: 40, waves: 3 },
    nonHookBodies: 24,
    unknownForge: 24,
    slowBodies: 12,
    slowBodiesOneSource: 40,
    slowHeaders: 200,
    silent: 100,
    signedDeliveries: 40,
    signedEveryMs: 150,
  });
  const memory = await rssOf(pid);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  t.comment(`flood: ${JSON.stringify(result.statuses)}`);
  t.comment(
    `peak RSS ${mb(memory.peak)} (idle ${mb(idle.now)}); ${result.accepted} of ${result.signed} signed deliveries accepted; slow bodies closed after ${result.slowBodyMaxMs} ms at most, slow headers after ${result.slowHeaderMaxMs} ms, silent connections after ${result.silentMaxMs} ms; ${result.ms} ms in all`,
  );

  t.ok(memory.peak < chart.memoryLimitBytes, `peak RSS ${mb(memory.peak)} stays under the chart's limit of ${mb(chart.memoryLimitBytes)}`);
  t.equal(web.child.exitCode, null, 'the process never exited');
  t.equal(result.signed, result.accepted, `every signed delivery sent during the flood was accepted (${JSON.stringify(result.signedStatuses)})`);
  t.ok(result.signed >= 10, `${result.signed} signed deliveries were sent during the flood`);
  t.same(result.statuses['slow headers'], { 408: 200 }, 'every slow-header connection was cut off with 408');
  t.ok(result.slowHeaderMaxMs <= HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS, `slow headers were cut off within headersTimeout: ${result.slowHeaderMaxMs} ms`);
  t.ok(result.silentMaxMs <= HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS, `silent connections were closed within headersTimeout: ${result.silentMaxMs} ms`);
  t.same(result.statuses['slow body'], { 408: 12 }, 'every slow body was admitted, then cut off with 408');
  const oneSource = result.statuses['slow body, one source'] ?? {};
  t.ok(
    (oneSource['408'] ?? 0) > 0 && (oneSource['503'] ?? 0) > 0,
    `one source trickling 40 bodies of 1 MiB holds only its share: ${JSON.stringify(oneSource)}`,
  );
  t.ok(result.slowBodyMaxMs >= REQUEST_TIMEOUT_MS - 500, `slow bodies were not cut off before requestTimeout: ${result.slowBodyMaxMs} ms`);
  t.ok(result.slowBodyMaxMs <= REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS, `slow bodies were cut off within requestTimeout: ${result.slowBodyMaxMs} ms`);
  t.equal(result.busyWithoutRetryAfter, 0, 'every 503 says when to come back');

  const big: Record<string, number> = result.statuses['big body, wrong signature'] ?? {};
  t.notOk(big['202'] || big['200'], 'no forged body got through');
  t.ok((big['503'] ?? 0) > 0, 'bodies beyond the in-flight budget were answered 503');
  // The server answers 413 and closes while the refused body is still arriving; a client still
  // writing may then lose the answer to the reset (counted "closed"). Nothing else may come back.
  t.same(
    Object.keys(result.statuses['big body to another route'] ?? {}).filter((k) => k !== 'closed'),
    ['413'],
    'large bodies to other routes are refused with 413 (or cut off unread)',
  );
  const unknown = result.statuses['unknown forge'] ?? {};
  t.same(
    Object.keys(unknown).filter((s) => s !== '404' && s !== '429' && s !== 'closed'),
    [],
    'unknown forges are answered 404 (or 429 once the source is shut out, or cut off unread as above)',
  );
  t.ok((unknown['404'] ?? 0) + (unknown['429'] ?? 0) > 0, 'and some of those answers were read');

  // Still answering, and still accepting, after the flood.
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(health.status, 200, 'healthz answers after the flood');
  web.child.kill('SIGTERM');
  t.equal(await web.exited, 0, 'and it shuts down cleanly');
});
