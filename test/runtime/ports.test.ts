// Which listener serves what: a web and a worker process side by side on one host, webhooks on a
// port of their own (what an Ingress publishes), /metrics on a port of its own.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { freePort, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';

const SECRET = 'quickstart-secret';

async function ping(port: number): Promise<Response> {
  const body = '{"zen":"Keep it logically awesome."}';
  return fetch(`http://127.0.0.1:${port}/hooks/github`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'ping',
      'x-github-delivery': `ping-${port}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
  });
}

t.test('a web and a worker process with the same configuration both start on one host', async (t) => {
  const { prefix } = await redisForTest(t, 'ports');
  const port = await freePort();
  const probePort = await freePort();
  // The same environment for both, as a single host (or a docker-compose file) gives them.
  const env = { LANDFALL_PORT: String(port), LANDFALL_REDIS_PREFIX: prefix, LANDFALL_WORKER__PROBE_PORT: String(probePort) };
  const web = runCli(['serve', '--role', 'web'], env);
  t.teardown(() => web.child.kill('SIGKILL'));
  await web.waitFor(/landfall web listening/);
  const worker = runCli(['serve', '--role', 'worker'], env);
  t.teardown(() => worker.child.kill('SIGKILL'));
  await worker.waitFor(/landfall worker probes listening/);
  t.notMatch(worker.output(), /EADDRINUSE/);

  t.same(
    await (await fetch(`http://127.0.0.1:${probePort}/readyz`)).json(),
    { status: 'ready', checks: { redis: 'ok', workers: 'ok' } },
    'the worker answers probes on its own port',
  );
  const workerMetrics = await fetch(`http://127.0.0.1:${probePort}/metrics`);
  t.equal(workerMetrics.status, 200, 'and scrapes');
  t.match(await workerMetrics.text(), /process_cpu/);
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'the web process answers on server.port');
  t.equal((await ping(port)).status, 200, 'and takes webhooks there');

  web.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  t.equal(await web.exited, 0);
  t.equal(await worker.exited, 0);
});

t.test('server.hooksPort serves webhooks alone; server.metricsPort serves /metrics alone', async (t) => {
  const { prefix } = await redisForTest(t, 'ports');
  const [port, hooksPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const web = runCli(['serve', '--role', 'all'], {
    LANDFALL_PORT: String(port),
    LANDFALL_REDIS_PREFIX: prefix,
    LANDFALL_SERVER__HOOKS_PORT: String(hooksPort),
    LANDFALL_SERVER__METRICS_PORT: String(metricsPort),
    LANDFALL_WORKER__PROBE_PORT: '0',
  });
  t.teardown(() => web.child.kill('SIGKILL'));
  await web.waitFor(/landfall web listening/);
  t.match(web.output(), /landfall hooks listening/);
  t.match(web.output(), /landfall metrics listening/);

  const hooks = `http://127.0.0.1:${hooksPort}`;
  t.equal((await ping(hooksPort)).status, 200, 'the hooks port takes webhooks');
  t.equal((await fetch(`${hooks}/healthz`)).status, 200, 'and answers liveness probes');
  for (const path of ['/', '/api/apps', '/apps/guestbook', '/metrics', '/admin/queues']) {
    t.equal((await fetch(`${hooks}${path}`)).status, 404, `the hooks port does not serve ${path}`);
  }

  const main = `http://127.0.0.1:${port}`;
  t.equal((await ping(port)).status, 404, 'the main port no longer takes webhooks');
  t.equal((await fetch(`${main}/api/apps`)).status, 200, 'it serves the API');
  t.equal((await fetch(`${main}/metrics`)).status, 404, 'and no longer /metrics');

  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(scrape.status, 200, 'the metrics port serves /metrics');
  t.match(await scrape.text(), /landfall_webhooks_total/, 'with the webhook counters of this process');
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/api/apps`)).status, 404, 'and nothing else of the app');

  web.child.kill('SIGTERM');
  t.equal(await web.exited, 0);
});
