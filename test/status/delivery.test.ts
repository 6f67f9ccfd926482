// How statuses reach a forge when things go wrong: limits, duplicates, outages, rate limits.
import t, { type Test } from 'tap';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createStatusReporter } from '../../src/status/reporter.js';
import { createKeys } from '../../src/store/keys.js';
import { startFlow, WORDS, type Flow } from '../support/flow.js';
import { configMap } from '../support/sync.js';

t.test("descriptions are cut to GitHub's 140 characters", async (t) => {
  const flow = await startFlow(t, 'github');
  const long = `deploy/${'very-long-directory-name/'.repeat(6)}settings.yaml`;
  const sha = await flow.repo.commit({ [long]: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' });
  await flow.push(sha);
  await flow.api.waitFor((api) => api.statuses.latest(sha, 'landfall/web')?.state === 'failure', 20_000);
  const description = flow.api.statuses.latest(sha, 'landfall/web')!.description!;
  t.equal(description.length, 140);
  t.match(description, /^Failed: deploy\/very-long-directory-name\/.*…$/);
  t.same(flow.api.unexpected, []);
});

/** Resolves when the status worker completes a job whose id passes `match`. */
function completion(flow: Flow, match: (id: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const listener = (job: { id?: string }) => {
      if (job.id && match(job.id)) {
        flow.workers.statusWorker.off('completed', listener);
        resolve();
      }
    };
    flow.workers.statusWorker.on('completed', listener);
  });
}

/** A reporter of the flow's own, to report chosen statuses directly. */
async function reporterFor(t: Test, flow: Flow) {
  const redis = new Redis(flow.web.config.redis.url);
  const queue = new Queue('status', { connection: redis, prefix: flow.web.config.redis.prefix });
  t.teardown(async () => {
    await queue.close();
    await redis.quit();
  });
  return createStatusReporter({ redis, keys: createKeys(flow.web.config.redis.prefix), queue });
}

t.test('an identical status is not posted twice', async (t) => {
  const flow = await startFlow(t, 'github');
  const reporter = await reporterFor(t, flow);
  const sha = 'c'.repeat(40);
  const status = {
    forge: 'github' as const,
    repo: 'acme/web',
    sha,
    context: 'landfall/web',
    state: 'succeeded' as const,
    description: 'Deployed ccccccc',
    targetUrl: 'https://landfall.test/syncs/x',
    recordId: 'x',
  };
  const posts = () => flow.api.requests.filter((r) => r.method === 'POST' && r.path.endsWith(sha)).length;
  await reporter.report({ ...status, at: 1 });
  await flow.api.waitFor(() => posts() === 1);
  const done = completion(flow, (id) => id.endsWith('-2'));
  await reporter.report({ ...status, at: 2 });
  await done;
  t.equal(posts(), 1, 'the same status again: nothing posted');
  await reporter.report({ ...status, description: 'Deployed ccccccc again', at: 3 });
  await flow.api.waitFor(() => posts() === 2);
  await reporter.report({ ...status, state: 'running', description: 'Deploying', at: 0 });
  t.equal(flow.api.statuses.latest(sha, 'landfall/web')?.description, 'Deployed ccccccc again');
  t.equal(posts(), 2, 'a status from an older event never replaces a newer one (nothing even queued)');
  t.equal(flow.api.statuses.latest(sha, 'landfall/web')?.description, 'Deployed ccccccc again');
  t.same(flow.api.unexpected, []);
});

t.test('GitLab: a repeated state answered 400 "Cannot transition status" counts as set', async (t) => {
  const flow = await startFlow(t, 'gitlab');
  const reporter = await reporterFor(t, flow);
  const sha = 'd'.repeat(40);
  const status = {
    forge: 'gitlab' as const,
    repo: 'acme/platform/web',
    sha,
    context: 'landfall/web',
    state: 'queued' as const,
    targetUrl: 'https://landfall.test/syncs/r1',
    ref: 'main',
    recordId: 'r1',
  };
  await reporter.report({ ...status, description: 'Queued to deploy ddddddd', at: 1 });
  await flow.api.waitFor((api) => api.statuses.latest(sha, 'landfall/web')?.state === 'pending');
  // Pending again with other words: GitLab refuses the transition from pending to pending.
  const done = completion(flow, (id) => id.endsWith('-2'));
  await reporter.report({ ...status, description: 'Queued again', targetUrl: 'https://landfall.test/syncs/r2', at: 2 });
  await done;
  t.ok(
    flow.api.requests.some((r) => r.status === 400 && /statuses/.test(r.path)),
    'GitLab answered 400',
  );
  t.same((await flow.history.get('r1'))?.statusErrors ?? [], [], 'no status failure recorded');
  t.same(await flow.history.list('web'), [], 'no sync involved');
  t.same(flow.api.unexpected, []);
});

t.test('forge API down during a deploy: the deploy succeeds, the status arrives once the API is back', async (t) => {
  const flow = await startFlow(t, 'gitea');
  flow.api.down(true);
  const sha = await flow.repo.commit({ 'deploy/cm.yaml': configMap('a') });
  const jobId = await flow.push(sha);
  for (;;) {
    const record = await flow.history.get(jobId);
    if (record?.result === 'succeeded') break;
    t.not(record?.result, 'failed', 'the deploy does not fail');
    await new Promise((r) => setTimeout(r, 25));
  }
  t.equal((flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'a' }) as any)?.data.k, 'v', 'deployed while the forge was down');
  t.equal(flow.api.statuses.latest(sha, 'landfall/web'), undefined, 'no status got through yet');
  flow.api.down(false);
  await flow.api.waitFor((api) => api.statuses.latest(sha, 'landfall/web')?.state === 'success', 30_000);
  t.pass('the status arrived after the outage');
  t.same(flow.api.unexpected, []);
});

t.test('a 429 with Retry-After and a 500 are retried', async (t) => {
  const flow = await startFlow(t, 'bitbucket-server');
  flow.api.failNext({ method: 'POST', status: 429, headers: { 'Retry-After': '1' } });
  flow.api.failNext({ method: 'POST', status: 500 });
  const sha = await flow.repo.commit({ 'deploy/cm.yaml': configMap('a') });
  await flow.push(sha);
  await flow.api.waitFor((api) => api.statuses.latest(sha, 'landfall/web')?.state === WORDS['bitbucket-server'].ok, 30_000);
  const faults = flow.api.requests.filter((r) => r.fault === 'failNext').map((r) => r.status);
  t.same(faults.sort(), [429, 500]);
  t.same(flow.api.unexpected, []);
});

t.test("a status that finally cannot be posted is logged and shown on the sync's record", async (t) => {
  const flow = await startFlow(t, 'github');
  // GitHub refuses the status for good (say the token lost access): a 403 that is no rate limit.
  flow.api.failNext({ method: 'POST', status: 403, body: { message: 'Resource not accessible by personal access token' }, times: 10 });
  const sha = await flow.repo.commit({ 'deploy/cm.yaml': configMap('a') });
  const jobId = await flow.push(sha);
  for (;;) {
    const record = await flow.history.get(jobId);
    if (record?.result === 'succeeded' && (record.statusErrors?.length ?? 0) > 0) {
      t.match(record.statusErrors![0], /landfall\/web \w+ on [0-9a-f]{7}: GitHub status for acme\/web@[0-9a-f]{7} answered 403/);
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  t.ok(
    flow.logs.some((l) => /commit status could not be posted/.test(l)),
    'logged',
  );
});

t.test('a plan shows which Secret keys change, never their values', async (t) => {
  const flow = await startFlow(t, 'gitea');
  const secret = (password: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\ntype: Opaque\nstringData:\n  password: ${password}\n`;
  const c0 = await flow.repo.commit({ 'deploy/secret.yaml': secret('first-secret-value-111') });
  await flow.push(c0);
  await flow.api.waitFor((api) => api.statuses.latest(c0, 'landfall/web')?.state === 'success', 20_000);
  const f1 = await flow.repo.commit({ 'deploy/secret.yaml': secret('second-secret-value-222') }, 'rotate', 'feature');
  await flow.pullRequest(3, 'opened', f1, 'feature');
  await flow.api.waitFor((api) => /To change/.test(api.comments.get(3)?.[0]?.body ?? ''), 20_000);
  const comment = flow.api.comments.get(3)![0]!.body;
  t.match(comment, /Secret `web\/db`/);
  const everything = JSON.stringify(flow.api.requests) + JSON.stringify(await flow.history.list('web', 10, 'plan')) + flow.logs.join('');
  for (const value of ['first-secret-value-111', 'second-secret-value-222', Buffer.from('second-secret-value-222').toString('base64')]) {
    t.notOk(everything.includes(value), `"${value.slice(0, 12)}…" appears in no status, comment, plan record or log`);
  }
});
