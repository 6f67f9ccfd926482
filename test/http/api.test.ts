// The JSON API, Bull Board's guard and /metrics, after a real flow.
import t from 'tap';
import { startFlow } from '../support/flow.js';
import { parsePrometheus } from '../support/prometheus.js';
import { configMap, deployment } from '../support/sync.js';
import { until } from '../support/workers.js';

const TOKEN = 'api-token-for-tests-1';

t.test('API, admin and metrics after a flow', async (t) => {
  const flow = await startFlow(t, 'github', '', { apiTokens: [TOKEN] });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${flow.web.url}${path}`, { headers });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };

  const c1 = await flow.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/cm.yaml': configMap('settings') });
  const jobId = await flow.push(c1);
  await flow.api.waitFor((api) => api.statuses.latest(c1, 'landfall/web')?.state === 'success', 20_000);
  const bad = await flow.repo.commit({ 'deploy/bad.yaml': 'kind: ConfigMap\nmetadata: { name: x }\n' });
  const badJob = await flow.push(bad);
  await flow.api.waitFor((api) => api.statuses.latest(bad, 'landfall/web')?.state === 'failure', 20_000);
  // The forge hears of the failure a moment before the worker lets go of the job.
  await until('the failed job is done', async () => (await get('/api/apps')).json.apps[0].status !== 'progressing');

  t.test('GET /api/apps', async (t) => {
    const res = await get('/api/apps');
    t.equal(res.status, 200);
    t.match(res.json.apps, [
      {
        name: 'web',
        forge: 'github',
        repo: 'acme/web',
        branch: 'main',
        cluster: 'default',
        namespace: 'web',
        status: 'failed',
        deployedSha: c1,
        lastSync: { id: badJob, result: 'failed', trigger: 'push' },
      },
    ]);
    t.match(res.json.apps[0].reason, /deploy\/bad\.yaml#1: apiVersion is required/);
  });

  t.test('GET /api/apps/:app', async (t) => {
    const res = await get('/api/apps/web');
    t.equal(res.status, 200);
    t.match(res.json, { app: { name: 'web' }, drift: [], queued: [] });
    t.equal((await get('/api/apps/nope')).status, 404);
    t.equal((await get('/api/apps/Not_Valid')).status, 400, 'the route schema refuses a malformed name');
  });

  t.test('GET /api/apps/:app/syncs and /api/syncs/:id', async (t) => {
    const list = await get('/api/apps/web/syncs?limit=5');
    t.same(
      list.json.syncs.map((s: any) => s.id),
      [badJob, jobId],
    );
    const one = await get(`/api/syncs/${jobId}`);
    t.match(one.json, { id: jobId, app: 'web', sha: c1, result: 'succeeded', trigger: 'push' });
    t.ok(one.json.changes.length === 2 && one.json.health.length === 2 && one.json.phases.length === 8 && one.json.log.length > 0);
    t.equal((await get('/api/syncs/nope')).status, 404);
    t.equal((await get('/api/apps/web/syncs?limit=1000')).status, 400);
  });

  t.test('POST /api/apps/:app/sync needs a token', async (t) => {
    const post = (headers: Record<string, string>, app = 'web') => fetch(`${flow.web.url}/api/apps/${app}/sync`, { method: 'POST', headers });
    const none = await post({});
    t.equal(none.status, 401);
    t.equal(none.headers.get('www-authenticate'), 'Bearer');
    t.equal((await post({ authorization: 'Bearer wrong-token-value' })).status, 401);
    t.equal((await post({ authorization: `Bearer ${TOKEN}` }, 'nope')).status, 404);
    const ok = await post({ authorization: `Bearer ${TOKEN}` });
    t.equal(ok.status, 202);
    const body = (await ok.json()) as any;
    t.match(body, { accepted: { app: 'web', jobId: /^sync-web-\d+$/, url: `https://landfall.test/syncs/${body.accepted.jobId}` } });
    const queued = await get(`/api/syncs/${body.accepted.jobId}`);
    t.equal(queued.status, 200, 'a queued or running sync has a record at once');
    t.match(queued.json.result, /queued|running|failed|succeeded/);
  });

  t.test('Bull Board is behind the API token', async (t) => {
    t.equal((await get('/admin/queues')).status, 401);
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    const page = await get('/admin/queues', { authorization: basic });
    t.equal(page.status, 200);
    t.match(page.text, /<html/i);
    const queues = await get('/admin/queues/api/queues', { authorization: basic });
    t.equal(queues.status, 200);
    t.ok(queues.json.queues.some((q: any) => q.name === 'sync'));
    t.equal((await get('/admin/queues', { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` })).status, 401);
  });

  t.test('/metrics in Prometheus text format has every family, with the expected labels', async (t) => {
    // Make sure a status report and a plan were counted.
    const f1 = await flow.repo.commit({ 'deploy/cm.yaml': configMap('settings', { k: 'w' }), 'deploy/bad.yaml': null }, 'pr', 'feature');
    await flow.pullRequest(4, 'opened', f1, 'feature');
    await flow.api.waitFor((api) => api.statuses.latest(f1, 'landfall/web/plan')?.state === 'success', 20_000);
    const res = await get('/metrics');
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /text\/plain/);
    const families = parsePrometheus(res.text);
    const labels = (name: string) => (families.get(name)?.samples ?? []).map((m) => m.labels);
    t.ok(
      labels('landfall_webhooks_total').some((l) => l.forge === 'github' && l.outcome === 'accepted'),
      'webhooks by forge and result',
    );
    t.ok(
      families
        .get('landfall_webhook_duration_seconds')
        ?.samples.some((m) => m.name === 'landfall_webhook_duration_seconds_count' && m.labels.forge === 'github' && m.value >= 2),
      'webhook handling time',
    );
    t.equal(families.get('landfall_webhook_duration_seconds')?.type, 'histogram');
    t.ok(
      labels('landfall_syncs_total').some((l) => l.app === 'web' && l.result === 'succeeded' && l.trigger === 'push'),
      'syncs by app and result',
    );
    t.ok(labels('landfall_syncs_total').some((l) => l.app === 'web' && l.result === 'failed'));
    t.ok(
      labels('landfall_sync_phase_duration_seconds').some((l) => l.app === 'web' && l.phase === 'apply'),
      'sync duration by phase',
    );
    t.ok(
      labels('landfall_queue_jobs').some((l) => l.queue === 'sync' && l.state === 'waiting'),
      'queue depth',
    );
    t.equal(families.get('landfall_drifted_objects')?.type, 'gauge', 'drifted objects per app');
    t.ok(
      labels('landfall_status_reports_total').some((l) => l.forge === 'github' && l.result === 'posted'),
      'status reports by forge and result',
    );
    t.ok(
      labels('landfall_plans_total').some((l) => l.app === 'web' && l.result === 'succeeded'),
      'plans',
    );
    t.ok(families.has('process_cpu_user_seconds_total') && families.has('nodejs_heap_size_used_bytes'), 'process defaults');
  });
});
