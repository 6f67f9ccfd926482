// A worker process SIGKILLed in each phase (checkout, apply, health wait, prune): the job is taken
// up again by another worker and finishes correctly; the cluster ends as Git says.
import t, { type Test } from 'tap';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/process.js';
import { configMap, deployment } from '../support/sync.js';
import { until, workerHarness } from '../support/workers.js';

const version = (h: Awaited<ReturnType<typeof workerHarness>>) =>
  (h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'version' }) as any)?.data?.v;

/** Starts a worker process, waits until a sync is in `phase`, SIGKILLs it, then lets a survivor finish. */
async function killIn(t: Test, h: Awaited<ReturnType<typeof workerHarness>>, phase: string, jobId: Promise<string>, release: () => void | Promise<void>) {
  const doomed = runCli(['serve', '--role', 'worker', '--config', h.configFile]);
  t.teardown(() => doomed.child.kill('SIGKILL'));
  await doomed.waitFor(/landfall workers running/);
  const id = await jobId;
  await until(`the sync reaches ${phase}`, async () => (await h.history.get(id))?.phases.at(-1)?.name === phase);
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  await release();
  await h.startWorker();
  const record = await until(
    'the job is finished by another worker',
    async () => {
      const r = await h.history.get(id);
      return r && (r.result === 'succeeded' || r.result === 'failed') ? r : undefined;
    },
    60_000,
  );
  t.equal(record.result, 'succeeded', `${phase}: ${record.error?.message ?? 'finished'}`);
  t.ok((record.runs ?? 0) >= 2, `${phase}: taken up again (run ${record.runs})`);
  t.ok(
    record.log.some((l) => /stopped before it finished/.test(l.msg)),
    `${phase}: the record says so`,
  );
  return record;
}

t.test('killed in checkout', async (t) => {
  // A git that stalls on fetch while a marker file exists.
  const h0 = await workerHarness(t);
  const marker = join(h0.configFile, '..', 'stall');
  const wrapper = join(h0.configFile, '..', 'git-stall.sh');
  await writeFile(wrapper, `#!/bin/sh\ncase "$*" in *fetch*) while [ -e "${marker}" ]; do sleep 0.05; done;; esac\nexec git "$@"\n`);
  await chmod(wrapper, 0o755);
  await writeFile(marker, '');
  const h = await workerHarness(t, ', path: deploy', `, git: "${wrapper}"`);
  const c1 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }) });
  await killIn(t, h, 'checkout', h.push(c1), () => rm(marker));
  t.equal(version(h), '1');
});

t.test('killed in apply', async (t) => {
  const h = await workerHarness(t);
  const c1 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }), 'deploy/other.yaml': configMap('other') });
  // The first write of the apply phase (the inventory) hangs for a long while.
  h.server.failNext({ method: 'PATCH', pathRegex: /configmaps\/landfall\.web$/, query: { dryRun: null }, delayMs: 10_000 });
  await killIn(t, h, 'apply', h.push(c1), () => undefined);
  t.equal(version(h), '1');
  t.ok(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'other' }));
});

t.test('killed while waiting for health', async (t) => {
  const h = await workerHarness(t);
  h.server.setRollout({ kind: 'Deployment', name: 'web' }, 'hang');
  const c1 = await h.repo.commit({ 'deploy/web.yaml': deployment('web'), 'deploy/v.yaml': configMap('version', { v: '1' }) });
  await killIn(t, h, 'health', h.push(c1), () => {
    h.server.setRollout({ kind: 'Deployment', name: 'web' }, 'succeed');
    // The controller acts on writes; a restart annotation nudges it, as a real controller's resync would.
    h.server.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }, { metadata: { annotations: { nudge: '1' } } }, 'test');
  });
  t.equal(version(h), '1');
});

t.test('killed in prune', async (t) => {
  const h = await workerHarness(t);
  const c1 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '1' }), 'deploy/old.yaml': configMap('old') });
  await h.startWorker();
  await h.push(c1);
  await until('first deploy', async () => (await h.history.appState('web')).deployedSha === c1);
  await h.stopWorkers();
  const c2 = await h.repo.commit({ 'deploy/v.yaml': configMap('version', { v: '2' }), 'deploy/old.yaml': null });
  h.server.failNext({ method: 'DELETE', pathRegex: /configmaps\/old$/, delayMs: 10_000 });
  await killIn(t, h, 'prune', h.push(c2), () => undefined);
  t.equal(version(h), '2');
  t.equal(h.server.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'old' }), undefined, 'pruned in the end');
});
