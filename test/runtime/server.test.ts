// The built CLI as a user runs it: `npm start`'s command, the README's curl, graceful shutdown.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { freePort, ROOT, runCli } from '../support/process.js';
import { redisForTest } from '../support/redis.js';

const exec = promisify(execFile);

t.test('landfall serve with the quick-start config answers the README curl with 202', async (t) => {
  const { prefix, redis } = await redisForTest(t, 'srv');
  const port = await freePort();
  const server = runCli(['serve', '--role', 'web'], { LANDFALL_PORT: String(port), LANDFALL_REDIS_PREFIX: prefix });
  t.teardown(() => server.child.kill('SIGKILL'));
  await server.waitFor(/landfall web listening/);

  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const block = /<!-- readme-curl:start -->\n```sh\n([\s\S]+?)```\n<!-- readme-curl:end -->/.exec(readme)?.[1];
  t.ok(block, 'README has the curl block');
  const script = block!.replaceAll('localhost:8080', `127.0.0.1:${port}`);
  const { stdout } = await exec('bash', ['-c', script]);
  t.match(stdout, /^HTTP\/1\.1 202 Accepted/);
  t.match(stdout, /"accepted":\[\{"app":"guestbook","sha":"6f1ed002ab5595859014ebf0951522d9f29a9b42","jobId":"sync-guestbook-0"\}\]/);
  t.equal(await redis.exists(`${prefix}:sync:sync-guestbook-0`), 1, 'the job is in Redis');

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.same(await health.json(), { status: 'ok' });
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', checks: { redis: 'ok' } });
  const unknown = await fetch(`http://127.0.0.1:${port}/hooks/gogs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  t.equal(unknown.status, 404);
  const notConfigured = await fetch(`http://127.0.0.1:${port}/hooks/gitlab`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  t.equal(notConfigured.status, 404);
  t.match(await notConfigured.json(), { error: 'forge-not-configured' });

  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'exits 0 on SIGTERM');
  t.notOk(server.output().includes('quickstart-secret'), 'the secret never reached the log');
});

t.test('SIGTERM lets a request in flight finish, then exits', async (t) => {
  const { prefix } = await redisForTest(t, 'srv');
  const port = await freePort();
  const server = runCli(['serve', '--role', 'web'], { LANDFALL_PORT: String(port), LANDFALL_REDIS_PREFIX: prefix });
  t.teardown(() => server.child.kill('SIGKILL'));
  await server.waitFor(/landfall web listening/);

  const body = '{"zen":"Keep it logically awesome."}';
  const { createHmac } = await import('node:crypto');
  const signature = `sha256=${createHmac('sha256', 'quickstart-secret').update(body).digest('hex')}`;
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  // Headers and half the body, then the signal, then the rest. "Expect: 100-continue" makes the
  // server say when it has taken the request in, so the signal surely comes after that.
  socket.write(
    `POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: inflight\r\nX-Hub-Signature-256: ${signature}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    const check = () => (response.includes('100 Continue') ? resolve() : socket.once('data', check));
    check();
  });
  response = '';
  socket.write(body.slice(0, 10));
  server.child.kill('SIGTERM');
  await server.waitFor(/shutting down/);
  const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.status,
    () => 'refused',
  );
  t.not(refused, 200, `new requests are no longer served (${refused})`);
  socket.end(body.slice(10));
  await closed;
  t.match(response, /HTTP\/1\.1 200 OK/, 'the in-flight request was answered');
  t.match(response, /"ignored":"ping"/);
  t.equal(await server.exited, 0);
});

t.test('check-config prints the apps, or every problem and exit 1', async (t) => {
  const good = runCli(['check-config', '--config', 'landfall.yaml']);
  t.equal(await good.exited, 0);
  t.match(good.output(), /guestbook: github acme\/guestbook@main deploy -> default\/guestbook/);
  const example = runCli(['check-config'], { LANDFALL_CONFIG: 'landfall.example.yaml' });
  t.equal(await example.exited, 1, 'the example needs its variables');
  t.match(example.output(), /server\.apiTokens\[0\]: environment variable LANDFALL_API_TOKEN is not set/);
  const missing = runCli(['check-config', '--config', 'no-such-file.yaml']);
  t.equal(await missing.exited, 1);
  t.match(missing.output(), /no-such-file\.yaml: 1 problem:\n {2}file not found/);
});
