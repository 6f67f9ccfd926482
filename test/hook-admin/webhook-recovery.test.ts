// The periodic webhook check: deliveries that failed while Landfall was down are redelivered
// (GitHub, GitLab), once, unless intake took them since; the result feeds the dashboard, the API
// and a metric. End to end: a worker runs it at start.
import { Writable } from 'node:stream';
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createForgeApis } from '../../src/forges/api-clients.js';
import { runWebhookCheck } from '../../src/hook-admin/monitor.js';
import { readWebhookChecks } from '../../src/hook-admin/stored-checks.js';
import { createLogger } from '../../src/log/logger.js';
import { createProcessMetrics } from '../../src/runtime/process-metrics.js';
import { createKeys } from '../../src/store/keys.js';
import { FLOW_REPOS, startFlow } from '../support/flow.js';
import { startForgeApi } from '../support/forge-api/index.js';
import { parsePrometheus } from '../support/prometheus.js';
import { redisForTest } from '../support/redis.js';
import { until } from '../support/workers.js';

const SECRET = 'hook-secret-for-tests';
const TOKEN = 'forge-token-for-tests';

function quietLog(lines: string[] = []) {
  return createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
}

function config(forge: 'github' | 'gitlab', url: string, prefix: string): Config {
  return parseConfig(
    `server: { publicUrl: "https://landfall.test" }
redis: { prefix: ${prefix} }
forges: { ${forge}: { webhookSecret: ${SECRET}, token: ${TOKEN}, ${forge === 'github' ? 'apiUrl' : 'url'}: "${url}" } }
apps:
  - { name: web, forge: ${forge}, repo: acme/web, branch: main, namespace: web }
  - { name: api, forge: ${forge}, repo: acme/api, branch: main, namespace: api }
`,
    {},
  );
}

t.test('GitHub: failed deliveries are redelivered once; refused, accepted and recovered ones are not', async (t) => {
  const api = await startForgeApi('github', { token: TOKEN });
  t.teardown(() => api.close());
  const { prefix, redis } = await redisForTest(t, 'whc');
  const cfg = config('github', api.url, prefix);
  const keys = createKeys(prefix);
  const apis = createForgeApis(cfg.forges);
  const hook = api.seedHook('acme/web', {
    url: 'https://landfall.test/hooks/github',
    events: ['issue_comment', 'pull_request', 'push'],
    secret: SECRET,
    settings: { content_type: 'json' },
  });
  const id = Number(hook.id);
  const seed = (guid: string, status_code: number, event = 'pull_request') =>
    api.seedDelivery('acme/web', id, {
      guid,
      status_code,
      status: status_code === 0 ? 'failed to connect' : status_code === 200 ? 'OK' : `Invalid HTTP Response: ${status_code}`,
      event,
      action: event === 'pull_request' ? 'opened' : null,
    }).id;
  seed('g-ok', 200, 'push');
  const noAnswer = seed('g-down', 0);
  const badGateway = seed('g-502', 502, 'push');
  seed('g-401', 401);
  seed('g-taken', 503);
  seed('g-recovered', 500);
  seed('g-recovered', 200);
  // Intake accepted g-taken after all (another Landfall replica answered a retry).
  await redis.set(keys.delivery('github', 'g-taken'), '1');

  const processMetrics = createProcessMetrics(cfg);
  const { metrics } = processMetrics;
  t.teardown(() => processMetrics.close());
  const logs: string[] = [];
  const first = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog(logs), metrics });
  t.same(
    api.redeliveries.map((r) => String(r.deliveryId)).sort(),
    [noAnswer, badGateway].map(String).sort(),
    'no answer and 502 are asked for again; 401, accepted and recovered ones are not',
  );
  t.same(first.redelivered.map((r) => r.guid).sort(), ['g-502', 'g-down']);
  t.ok(logs.some((l) => l.includes('asked the forge to redeliver a failed webhook') && l.includes('g-down')));

  const stored = await readWebhookChecks(redis, keys);
  t.same(
    stored.map((s) => [s.repo, s.ok]),
    [
      ['acme/api', false],
      ['acme/web', false],
    ],
  );
  const web = stored.find((s) => s.repo === 'acme/web')!;
  t.same(web.apps, ['web']);
  t.match(web.problems, [/^3 of 7 recent deliveries failed: .*1× 401.*\(401: the secret differs; run `landfall webhooks sync --force`\)/]);
  t.equal(web.redelivered.length, 2);
  t.match(stored.find((s) => s.repo === 'acme/api')?.problems, [/no webhook points at https:\/\/landfall\.test\/hooks\/github/]);

  const families = parsePrometheus(await metrics.registry.metrics());
  const problems = families.get('landfall_webhook_problems');
  t.same(problems?.samples.map((s) => [s.labels.repo, s.value]).sort(), [
    ['acme/api', 1],
    ['acme/web', 1],
  ]);
  t.equal(families.get('landfall_webhook_redeliveries_total')?.samples.find((s) => s.labels.result === 'requested')?.value, 2);

  // The redeliveries got through (the forge logs them with the same guid): only the 401 is left,
  // and nothing is asked for twice.
  const second = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog() });
  t.equal(second.redelivered.length, 0);
  t.equal(api.redeliveries.length, 2);
  const again = (await readWebhookChecks(redis, keys)).find((s) => s.repo === 'acme/web')!;
  t.same(
    again.failedDeliveries.map((d) => d.statusCode),
    [401],
  );
  t.same(api.unexpected, []);
});

t.test('GitLab: failed hook events are resent; a refused resend is asked for again on the next run', async (t) => {
  const api = await startForgeApi('gitlab', { token: TOKEN });
  t.teardown(() => api.close());
  const { prefix, redis } = await redisForTest(t, 'whg');
  const cfg = config('gitlab', api.url, prefix);
  const keys = createKeys(prefix);
  const apis = createForgeApis(cfg.forges);
  const flags = { merge_requests_events: true, note_events: true, push_events: true };
  const hook = api.seedHook('acme/web', { url: 'https://landfall.test/hooks/gitlab', events: Object.keys(flags), secret: SECRET });
  api.seedHook('acme/api', { url: 'https://landfall.test/hooks/gitlab', events: Object.keys(flags), secret: SECRET });
  const down = api.seedDelivery('acme/web', Number(hook.id), { trigger: 'merge_request_hooks', response_status: 'internal error' }).id;
  const unavailable = api.seedDelivery('acme/web', Number(hook.id), { trigger: 'push_hooks', response_status: '503' }).id;
  api.seedDelivery('acme/web', Number(hook.id), { trigger: 'push_hooks', response_status: '200' });

  // The first resend is refused (rate limited): it is given back and asked for on the next run.
  api.failNext({ method: 'POST', pathRegex: /\/resend$/, status: 429 });
  const first = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog() });
  t.equal(first.redelivered.length, 2);
  t.equal(first.redelivered.filter((r) => r.error).length, 1);
  t.match(first.redelivered.find((r) => r.error)?.error, /429/);
  t.equal(api.redeliveries.length, 1);
  const second = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog() });
  t.same(
    second.redelivered.map((r) => r.error),
    [undefined],
  );
  t.same(api.redeliveries.map((r) => String(r.deliveryId)).sort(), [down, unavailable].map(String).sort());
  const third = await runWebhookCheck({ config: cfg, apis, redis, keys, log: quietLog() });
  t.equal(third.redelivered.length, 0, 'resent events keep their Idempotency-Key: recovered, not resent again');
  t.same(
    (await readWebhookChecks(redis, keys)).map((s) => s.ok),
    [true, true],
  );
  t.same(api.unexpected, []);
});

t.test('a worker checks the webhooks at start: redelivers what failed while it was down, and the dashboard, API and metric show it', async (t) => {
  let hookId = 0;
  let failed = 0;
  const flow = await startFlow(t, 'github', '', {
    beforeWorkers(api) {
      hookId = Number(
        api.seedHook(FLOW_REPOS.github, {
          url: 'https://landfall.test/hooks/github',
          events: ['issue_comment', 'pull_request', 'push'],
          secret: 'x'.repeat(20),
          settings: { content_type: 'json' },
        }).id,
      );
      failed = api.seedDelivery(FLOW_REPOS.github, hookId, {
        guid: 'missed-while-down',
        status_code: 0,
        status: 'failed to connect',
        event: 'pull_request',
        action: 'opened',
      }).id;
    },
  });
  await flow.api.waitFor((api) => api.redeliveries.length === 1, 20_000);
  t.equal(flow.api.redeliveries[0]?.deliveryId, failed);
  const get = async (path: string) => {
    const res = await fetch(`${flow.web.url}${path}`);
    return { status: res.status, text: await res.text() };
  };
  const body = await until('the webhook check is stored', async () => {
    const json = JSON.parse((await get('/api/apps/web')).text);
    return json.webhook ? json : undefined;
  });
  t.match(body.webhook, { ok: false, checked: true, hookId: String(hookId), redelivered: 1, problems: [/1 of 1 recent deliveries failed: 1× no answer/] });
  const page = await get('/apps/web');
  t.match(
    page.text,
    /<dt>Webhook<\/dt>\s*<dd><span class="badge s-failed">problem<\/span> 1 of 1 recent deliveries failed: 1× no answer; asked the forge to redeliver 1 failed delivery/,
  );
  const metrics = parsePrometheus((await get('/metrics')).text);
  t.same(
    metrics.get('landfall_webhook_problems')?.samples.map((s) => [s.labels.forge, s.labels.repo, s.value]),
    [['github', FLOW_REPOS.github, 1]],
  );
  t.same(flow.api.unexpected, []);
});
