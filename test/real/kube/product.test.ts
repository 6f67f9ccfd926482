// The whole product on the real control plane: signed webhooks over a real socket into the web
// role, real Redis and BullMQ, workers, the real API server and controllers, statuses to the
// forge's API stand-in (the real forge runs in test/real/gitea/).
import t from 'tap';
import type { KubeObject } from '../../../src/kube/refs.js';
import { PUBLIC_URL, startRealFlow, WORDS } from '../../support/flow.js';
import { realKube, realKubeSkip } from '../../support/real-kube.js';
import { configMap, deployment } from '../../support/sync.js';

const skip = realKubeSkip();
const cm = (color: string) => configMap('settings', { color });

t.test('push deploys, a pull request is planned, a merge deploys, a failing rollout is reported', { skip }, async (t) => {
  const kube = await realKube(t);
  const flow = await startRealFlow(t, kube, 'github', ', healthTimeout: 90s');
  const words = WORDS.github;
  const latest = (sha: string, context = 'landfall/web') => flow.api.statuses.latest(sha, context);
  const settled = (sha: string, context = 'landfall/web', state = words.ok) => flow.api.waitFor(() => latest(sha, context)?.state === state, 120_000);

  const c0 = await flow.repo.commit({ 'deploy/cm.yaml': cm('blue'), 'deploy/web.yaml': deployment('web') });
  const job = await flow.push(c0);
  await settled(c0);
  t.equal(latest(c0)?.targetUrl, `${PUBLIC_URL}/syncs/${job}`, 'the status links to the sync page');
  t.match(latest(c0)?.description, new RegExp(`^Deployed [0-9a-f]{7} to default/${flow.namespace}: 2 created, healthy in \\d+(ms|s)$`));
  const live = (await kube.get('apps/v1', 'Deployment', 'web', flow.namespace)) as KubeObject & { status: { readyReplicas: number } };
  t.equal(live.status.readyReplicas, 2, 'pods Ready on the kwok node');

  const f1 = await flow.repo.commit({ 'deploy/cm.yaml': cm('green') }, 'turn green', 'feature');
  t.equal((await flow.pullRequest(7, 'opened', f1, 'feature')).status, 202);
  await settled(f1, 'landfall/web/plan');
  t.equal(latest(f1, 'landfall/web/plan')?.description, 'Plan: 1 to change, 1 unchanged');
  t.same((await kube.get('v1', 'ConfigMap', 'settings', flow.namespace))?.data, { color: 'blue' }, 'the plan wrote nothing');

  const m1 = await flow.repo.commit({ 'deploy/cm.yaml': cm('green') }, 'merge feature');
  await flow.push(m1);
  await settled(m1);
  t.match(latest(m1)?.description, /: 1 configured, healthy in/);
  t.same((await kube.get('v1', 'ConfigMap', 'settings', flow.namespace))?.data, { color: 'green' });

  const failing = deployment('web').replace('metadata: { labels: { app: web } }', 'metadata: { labels: { app: web, landfall.dev/test-behaviour: fail } }');
  const bad = await flow.repo.commit({ 'deploy/web.yaml': failing }, 'crash-looping pods');
  await flow.push(bad);
  await settled(bad, 'landfall/web', words.fail);
  t.match(latest(bad)?.description, /^Failed: .*web/, `the status names the object: ${latest(bad)?.description}`);
});
