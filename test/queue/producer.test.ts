// Intake over a real socket and real Redis: matching, coalescing, de-duplication.
import t, { type Test } from 'tap';
import { queuesForTest } from '../support/queues.js';
import { redisForTest } from '../support/redis.js';
import { KITS } from '../support/sign.js';
import { Redis } from 'ioredis';
import { createIntake, IntakeUnavailableError } from '../../src/queue/producer.js';
import { createKeys } from '../../src/store/keys.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { startWeb } from '../support/web.js';

const SECRET = 'intake-secret-0123456789';
const sha = (c: string) => c.repeat(40);

async function setup(t: Test, apps: string, forges = `  github: { webhookSecret: ${SECRET} }\n  bitbucket: { webhookSecret: ${SECRET} }\n`) {
  const { url, prefix, redis } = await redisForTest(t, 'intake');
  const web = await startWeb(t, `redis: { url: ${url}, prefix: ${prefix} }\nforges:\n${forges}apps:\n${apps}`);
  const queues = queuesForTest(t, redis, prefix);
  const push = async (repo: string, branch: string, after: string, deliveryId?: string) => {
    const body = JSON.stringify(KITS.github.push(repo, branch, after));
    return web.post('/hooks/github', body, {
      'content-type': 'application/json',
      ...KITS.github.eventHeaders('push', deliveryId),
      ...(await KITS.github.sign(body, SECRET)),
    });
  };
  return { web, queues, redis, prefix, push };
}

/** A sync item as the delivery handler builds it for a push of `acme/web` main. */
const syncItem = (app: string, c: string) => ({
  kind: 'sync' as const,
  data: { app, trigger: 'push' as const, forge: 'github' as const, repo: 'acme/web', branch: 'main', sha: sha(c), receivedAt: Date.now() },
});

/** Landfall's intake on a redis-server of the test's own (so the test may flush or break it). */
async function privateIntake(t: Test, prefix: string) {
  const own = await startPrivateRedis(t);
  const redis = new Redis(own.url);
  t.teardown(() => redis.quit());
  const queues = queuesForTest(t, redis, prefix);
  const intake = createIntake({ redis, keys: createKeys(prefix), syncQueue: queues.sync, planQueue: queues.plan, prefix });
  return { redis, queues, intake };
}

t.test('one push matching two apps queues a sync for each', async (t) => {
  const { push, queues } = await setup(
    t,
    '  - { name: web-staging, forge: github, repo: acme/web, branch: main, namespace: staging }\n' +
      '  - { name: web-preview, forge: github, repo: acme/web, branch: main, path: preview, namespace: preview }\n' +
      '  - { name: web-prod, forge: github, repo: acme/web, branch: release, namespace: prod }\n',
  );
  const res = await push('acme/web', 'main', sha('1'));
  t.equal(res.status, 202);
  t.same(res.json.accepted, [
    { app: 'web-staging', sha: sha('1'), jobId: 'sync-web-staging-0' },
    { app: 'web-preview', sha: sha('1'), jobId: 'sync-web-preview-0' },
  ]);
  t.equal(await queues.total(), 2);
});

t.test('a burst coalesces into one pending sync per app; a started sync lets the next push queue one more', async (t) => {
  const { push, queues, redis, prefix } = await setup(t, '  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n');
  const answers = await Promise.all(['1', '2', '3', '4', '5'].map((c) => push('acme/web', 'main', sha(c))));
  for (const a of answers) t.equal(a.json.accepted[0].jobId, 'sync-web-0');
  t.equal(await queues.sync.count(), 1, 'one pending job for five pushes');
  t.same(
    (await redis.lrange(`${prefix}:app:web:queued`, 0, -1)).sort(),
    ['1', '2', '3', '4', '5'].map(sha),
    'every announced commit is remembered, to be marked superseded',
  );
  // What a worker does when it starts the pending job: bump the generation.
  await redis.incr(`${prefix}:app:web:gen`);
  const next = await push('acme/web', 'main', sha('6'));
  t.equal(next.json.accepted[0].jobId, 'sync-web-1');
  const job = await queues.sync.getJob('sync-web-1');
  t.equal(job?.data.generation, 1);
  t.equal(job?.data.sha, sha('6'));
});

t.test('duplicates are recognised by delivery id, per forge', async (t) => {
  const { push, queues, redis, prefix } = await setup(t, '  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n');
  t.equal((await push('acme/web', 'main', sha('1'), 'same-id')).status, 202);
  const again = await push('acme/web', 'main', sha('1'), 'same-id');
  t.same(again.json, { ignored: 'duplicate', detail: 'delivery same-id was already accepted' });
  const ttl = await redis.ttl(`${prefix}:delivery:github:same-id`);
  t.ok(ttl > 23 * 3600 && ttl <= 24 * 3600, `remembered for 24 hours (ttl ${ttl})`);
  t.equal(await queues.sync.count(), 1);
});

t.test('a Bitbucket push of several refs queues only the tracked branch', async (t) => {
  const { web, queues } = await setup(t, '  - { name: web, forge: bitbucket, repo: acme/web, branch: main, namespace: web }\n');
  const body = JSON.stringify({
    repository: { full_name: 'acme/web' },
    push: {
      changes: [
        { new: { name: 'feature', type: 'branch', target: { hash: sha('a') } }, old: null },
        { new: { name: 'main', type: 'branch', target: { hash: sha('b') } }, old: { name: 'main', type: 'branch', target: { hash: sha('c') } } },
        { new: { name: 'v1', type: 'tag', target: { hash: sha('b') } }, old: null },
      ],
    },
  });
  const res = await web.post('/hooks/bitbucket', body, {
    'content-type': 'application/json',
    ...KITS.bitbucket.eventHeaders('repo:push'),
    ...(await KITS.bitbucket.sign(body, SECRET)),
  });
  t.equal(res.status, 202);
  t.same(res.json.accepted, [{ app: 'web', sha: sha('b'), jobId: 'sync-web-0' }]);
  t.equal((await queues.sync.getJob('sync-web-0'))?.data.before, sha('c'));
});

t.test('pull requests become plan jobs keyed by head; a redelivered head plans nothing twice', async (t) => {
  const { web, queues } = await setup(t, '  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n');
  const pr = (action: string, head: string, base = 'main') =>
    JSON.stringify({
      action,
      number: 7,
      pull_request: { merged: false, head: { sha: head, ref: 'feature', repo: { full_name: 'fork/web' } }, base: { ref: base } },
      repository: { full_name: 'acme/web' },
    });
  const send = async (body: string) =>
    web.post('/hooks/github', body, {
      'content-type': 'application/json',
      ...KITS.github.eventHeaders('pull_request'),
      ...(await KITS.github.sign(body, SECRET)),
    });
  const opened = await send(pr('opened', sha('1')));
  t.same(opened.json.accepted, [{ app: 'web', sha: sha('1'), jobId: `plan-web-7-${sha('1')}` }]);
  t.equal((await queues.plan.getJob(`plan-web-7-${sha('1')}`))?.data.headRepo, 'fork/web', 'fork recorded');
  const updated = await send(pr('synchronize', sha('2')));
  t.equal(updated.json.accepted[0].jobId, `plan-web-7-${sha('2')}`);
  const redelivered = await send(pr('synchronize', sha('2')));
  t.equal(redelivered.json.accepted[0].jobId, `plan-web-7-${sha('2')}`);
  t.equal(await queues.plan.count(), 2);
  t.equal((await send(pr('opened', sha('3'), 'develop'))).json.ignored, 'untracked-branch', 'a pull request into an untracked branch');
  t.equal((await send(pr('labeled', sha('3')))).json.ignored, 'unhandled-action');
});

t.test('a Redis that lost its script cache (restart, failover) still records pushes: EVALSHA falls back to EVAL', async (t) => {
  // A private server: flushing the shared one's scripts would disturb every other test file.
  const own = await startPrivateRedis(t);
  const prefix = 'intake-noscript';
  const web = await startWeb(
    t,
    `redis: { url: ${own.url}, prefix: ${prefix} }\nforges:\n  github: { webhookSecret: ${SECRET} }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
  );
  const redis = new Redis(own.url);
  t.teardown(() => redis.quit());
  const push = async (after: string) => {
    const body = JSON.stringify(KITS.github.push('acme/web', 'main', after));
    return web.post('/hooks/github', body, {
      'content-type': 'application/json',
      ...KITS.github.eventHeaders('push'),
      ...(await KITS.github.sign(body, SECRET)),
    });
  };
  t.equal((await push(sha('1'))).status, 202);
  await redis.script('FLUSH');
  const after = await push(sha('2'));
  t.equal(after.status, 202, 'accepted after the flush');
  t.same(after.json.accepted, [{ app: 'web', sha: sha('2'), jobId: 'sync-web-0' }]);
  t.same((await redis.lrange(`${prefix}:app:web:queued`, 0, -1)).sort(), [sha('1'), sha('2')], 'both pushes recorded');
  t.equal(await redis.hget(`${prefix}:app:web:desired`, 'sha'), sha('2'));
  // From now on the script is cached again: a delivery runs it by hash, without sending it.
  const calls = async () => {
    const stats = await redis.info('commandstats');
    const count = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    return { eval: count('eval'), evalsha: count('evalsha') };
  };
  const before = await calls();
  t.equal((await push(sha('3'))).status, 202);
  const now = await calls();
  t.same({ eval: now.eval - before.eval, evalsha: now.evalsha - before.evalsha }, { eval: 0, evalsha: 1 }, 'one EVALSHA, no EVAL');
});

t.test('deliveries arriving together share one round trip, each recorded once, in order', async (t) => {
  const prefix = 'intake-batch';
  const { redis, queues, intake } = await privateIntake(t, prefix);
  const item = syncItem;
  const evalshas = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  // Loads the script and queues each app's pending sync, so the deliveries below only join them
  // (BullMQ's job add runs scripts of its own).
  await intake.enqueue('github', 'warm-up', [item('web', '0'), item('api', '0')]);
  const before = await evalshas();
  // Twenty deliveries in one turn of the event loop, as under load; one id is sent twice.
  const results = await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => intake.enqueue('github', `d-${i}`, [item(i % 2 ? 'web' : 'api', (i % 9) + 1 + '')])),
    intake.enqueue('github', 'd-3', [item('web', '4')]),
  ]);
  const calls = (await evalshas()) - before;
  t.equal(calls, 1, `one script call for 21 deliveries (${calls})`);
  t.equal(results.filter((r) => r.duplicate).length, 1, 'the id sent twice is a duplicate the second time');
  t.same(results[20], { duplicate: true });
  t.same(
    results.slice(0, 20).map((r) => (r.duplicate ? 'dup' : r.accepted[0]!.jobId)),
    Array.from({ length: 20 }, (_, i) => `sync-${i % 2 ? 'web' : 'api'}-0`),
  );
  t.same(
    await redis.lrange(`${prefix}:app:web:queued`, 0, -1),
    [sha('0'), ...Array.from({ length: 10 }, (_, k) => sha(String(((2 * k + 1) % 9) + 1)))],
    'every push recorded once, in arrival order',
  );
  t.equal(await redis.hget(`${prefix}:app:api:desired`, 'sha'), sha(String((18 % 9) + 1)), 'the last delivery is the desired revision');
  t.equal(await queues.sync.count(), 2, 'one pending job per app');
});

t.test('a batch that Redis refuses part of the way releases every claim, so nothing is taken for a duplicate later', async (t) => {
  const prefix = 'intake-batch-fail';
  const { redis, queues, intake } = await privateIntake(t, prefix);
  const item = (app: string) => syncItem(app, 'a');
  // The second delivery's app has a key of the wrong type: the script fails after recording the first.
  await redis.set(`${prefix}:app:broken:queued`, 'not a list');
  const both = await Promise.allSettled([intake.enqueue('github', 'first', [item('web')]), intake.enqueue('github', 'second', [item('broken')])]);
  t.same(
    both.map((r) => r.status),
    ['rejected', 'rejected'],
    'neither is acknowledged',
  );
  t.ok(
    both.every((r) => r.status === 'rejected' && r.reason instanceof IntakeUnavailableError),
    'both as "Redis unavailable", so the web answers from the spool or 503',
  );
  t.equal(await redis.exists(`${prefix}:delivery:github:first`, `${prefix}:delivery:github:second`), 0, 'both claims released');
  await redis.del(`${prefix}:app:broken:queued`);
  const again = await Promise.all([intake.enqueue('github', 'first', [item('web')]), intake.enqueue('github', 'second', [item('broken')])]);
  t.same(
    again.map((r) => r.duplicate),
    [false, false],
    'the retried deliveries are recorded, not taken for duplicates',
  );
  t.equal(await queues.sync.count(), 2);
});

t.test('deliveries of one batch that start the same pending sync add its job once', async (t) => {
  const { redis, prefix } = await redisForTest(t, 'intake-adds');
  const queues = queuesForTest(t, redis, prefix);
  const add = queues.sync.add.bind(queues.sync);
  const added: string[] = [];
  queues.sync.add = ((name, data, opts) => {
    added.push(String(opts?.jobId));
    return add(name, data, opts);
  }) as typeof queues.sync.add;
  const intake = createIntake({ redis, keys: createKeys(prefix), syncQueue: queues.sync, planQueue: queues.plan, prefix });
  const item = syncItem;
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => intake.enqueue('github', `a-${i}`, [item(i < 5 ? 'web' : 'api', String(i))])));
  t.same(
    results.map((r) => (r.duplicate ? 'dup' : r.accepted[0]!.jobId)),
    [...Array(5).fill('sync-web-0'), ...Array(5).fill('sync-api-0')],
  );
  t.same(added.sort(), ['sync-api-0', 'sync-web-0'], 'two adds for ten deliveries');
  t.equal((await queues.sync.getJob('sync-web-0'))?.data.sha, sha('0'), "the job carries the first delivery's commit; the worker deploys the branch head");
});
