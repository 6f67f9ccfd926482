// Workers over real BullMQ and Redis: newest wins, bursts coalesce, one sync per app at a time.
import t from 'tap';
import { runCli } from '../support/process.js';
import { configMap } from '../support/sync.js';
import { until, workerHarness } from '../support/workers.js';

const deployedValue = (h: Awaited<ReturnType<typeof workerHarness>>) =>
  (h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'version' }) as any)?.data?.v;

/** A syncs that got past resolving: it touched (or tried to touch) the cluster. */
const touched = (r: { phases: { name: string }[] }) => r.phases.some((p) => p.name === 'checkout');

t.test('deliveries out of order never roll back; a force-push to an older commit does', async (t) => {
  const h = await workerHarness(t);
  const c1 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }) });
  const c2 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '2' }) });
  await h.startWorker();
  await h.push(c2);
  await h.idle();
  t.equal(deployedValue(h), '2');
  // The webhook for c1 arrives late.
  await h.push(c1);
  await h.idle();
  t.equal(deployedValue(h), '2', 'the late delivery did not roll back');
  const late = (await h.records()).at(-1)!;
  t.equal(late.result, 'superseded');
  t.equal(late.supersededBy, c2);
  t.notOk(touched(late), 'without touching the cluster');
  // A deliberate rollback: the branch is force-pushed to c1.
  await h.repo.forcePush(c1);
  await h.push(c1);
  await h.idle();
  t.equal(deployedValue(h), '1', 'the force-push to c1 deployed it');
  t.equal((await h.history.appState('web')).deployedSha, c1);
});

t.test('a burst of 20 commits to one app: the head is deployed after at most two syncs', async (t) => {
  const h = await workerHarness(t);
  const first = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '0' }) });
  await h.startWorker();
  await h.push(first);
  await h.idle();
  const before = (await h.records()).length;
  // Twenty pushes land in git, and their webhooks arrive together, faster than any sync runs.
  const shas: string[] = [];
  for (let i = 1; i <= 20; i++) shas.push(await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: String(i) }) }));
  await Promise.all(shas.map((sha) => h.push(sha)));
  await h.idle();
  t.equal(deployedValue(h), '20', 'the head runs');
  const burst = (await h.records()).slice(before);
  const syncs = burst.filter(touched);
  t.ok(syncs.length <= 2, `${syncs.length} syncs touched the cluster`);
  t.ok(burst.length <= 3, `${burst.length} jobs for 20 pushes`);
  const deployedInOrder = syncs.map((r) => shas.indexOf(r.sha!));
  t.same(
    deployedInOrder,
    [...deployedInOrder].sort((a, b) => a - b),
    'never an older commit after a newer one',
  );
});

t.test('a sync several pushes joined waits for the branch to be still (bounded); a lone push never waits', async (t) => {
  const h = await workerHarness(t);
  const c1 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }) });
  // Settling that would outlast the test's patience if it applied: only the bound can end it.
  const settle = { settleMs: 60_000, maxSettleMs: 3_000 };
  const settling = () => h.logs.filter((l) => l.includes('waits for the branch to settle')).map((l) => JSON.parse(l));
  await h.startWorker({ settle });
  await h.push(c1);
  await h.idle(20_000);
  t.equal(deployedValue(h), '1', 'a lone push deploys at once');
  t.same(settling(), [], 'without waiting');
  await h.stopWorkers();
  const before = (await h.records()).length;
  const [c2, c3, c4] = [
    await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '2' }) }),
    await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '3' }) }),
    await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '4' }) }),
  ];
  const job = await h.push(c2);
  t.equal(await h.push(c3), job, 'two pushes joined one pending sync');
  await h.startWorker({ settle });
  await until('the sync to wait', async () => settling().length > 0);
  t.equal(await h.push(c4), job, 'a push while it waits still joins it: nothing was claimed');
  await h.idle(20_000);
  t.equal(deployedValue(h), '4', 'the head deployed once the bound was reached');
  const waited = settling();
  t.ok(
    waited.every((l) => l.app === 'web' && l.waitMs > 0 && l.waitMs <= settle.maxSettleMs),
    'every wait within the bound',
  );
  t.ok(
    waited.every((l) => l.joined >= 2),
    'only because several pushes joined',
  );
  const burst = (await h.records()).slice(before);
  t.same(
    burst.filter(touched).map((r) => r.sha),
    [c4],
    'one sync for three pushes, of the newest',
  );
});

t.test("two worker processes on one app never sync it concurrently; a SIGKILLed worker's job is taken up again", async (t) => {
  const h = await workerHarness(t);
  const c1 = await h.repo.commit({
    'deploy/v.yaml': configMap('version', { v: '1' }),
    'deploy/web.yaml':
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [ { name: web, image: "nginx:1" } ] }\n',
  });
  // The first rollout hangs, so the first worker is surely mid-sync (health phase) when it dies.
  h.server.setRollout({ kind: 'Deployment', name: 'web' }, 'hang');
  const doomed = runCli(['serve', '--role', 'worker', '--config', h.configFile]);
  t.teardown(() => doomed.child.kill('SIGKILL'));
  await doomed.waitFor(/landfall workers running/);
  const jobId = await h.push(c1);
  for (;;) {
    const record = await h.history.get(jobId);
    if (record?.phases.at(-1)?.name === 'health') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  h.server.setRollout({ kind: 'Deployment', name: 'web' }, 'succeed');
  // The rollout controller only acts on writes; nudge it as a real controller's resync would.
  h.server.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }, { metadata: { annotations: { nudge: '1' } } }, 'test');

  // Two survivors: one in this process, one in another.
  const other = runCli(['serve', '--role', 'worker', '--config', h.configFile]);
  t.teardown(() => other.child.kill('SIGKILL'));
  await other.waitFor(/landfall workers running/);
  await h.startWorker();
  const c2 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '2' }) });
  await h.push(c2);
  await h.idle(60_000);
  const records = await h.records();
  const resumed = records.find((r) => r.id === jobId)!;
  t.equal(resumed.result === 'succeeded' || resumed.result === 'superseded', true, `the killed job was taken up again and finished (${resumed.result})`);
  t.ok(resumed.attempt >= 2 || resumed.result === 'superseded', 'by another worker');
  t.equal(deployedValue(h), '2', 'the cluster ends as Git says');
  const spans = records
    .filter(touched)
    .map((r) => [r.startedAt!, r.finishedAt!] as const)
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    // A killed attempt's span ends when the retry rewrote it; compare completed spans only.
    t.ok(
      spans[i]![0] >= spans[i - 1]![1] - 5 || records.find((r) => r.startedAt === spans[i - 1]![0])?.id === jobId,
      `sync ${i} started after sync ${i - 1} finished`,
    );
  }
  other.child.kill('SIGTERM');
  t.equal(await other.exited, 0);
});
