// The preview queue's worker over real BullMQ and Redis: the newest job of a pull request wins (an
// older one does nothing), and a job for a pull request whose preview is busy waits for the lock.
import { Queue, QueueEvents } from 'bullmq';
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { queuePreview } from '../../src/queue/producer.js';
import { createPreviewWorker } from '../../src/previews/worker.js';
import { createPreviewStore } from '../../src/previews/store.js';
import { createKeys } from '../../src/store/keys.js';
import { redisForTest } from '../support/redis.js';
import { until } from '../support/workers.js';

t.test('an older job of a pull request does nothing; a busy preview makes the job wait for its lock', async (t) => {
  const { redis, prefix } = await redisForTest(t, 'pvw');
  const keys = createKeys(prefix);
  // An app without previews: a job that gets past the sequence and the lock fails on it, which shows it ran.
  const config = parseConfig(
    `redis: { prefix: ${prefix} }\nforges: { github: { webhookSecret: s3cret-value } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web }\n`,
    {},
  );
  const connection = redis.duplicate({ maxRetriesPerRequest: null });
  t.teardown(() => connection.quit());
  const queue = new Queue('preview', { connection: redis, prefix });
  const eventsConnection = redis.duplicate({ maxRetriesPerRequest: null });
  const events = new QueueEvents('preview', { connection: eventsConnection, prefix });
  t.teardown(async () => {
    await queue.close();
    await events.close();
    await eventsConnection.quit();
  });
  await events.waitUntilReady();
  const log = createLogger({ level: 'silent' });
  const store = createPreviewStore(redis, keys);
  const options = { attempts: 1, backoff: { type: 'exponential' as const, delay: 10 } };
  const data = { app: 'web', forge: 'github' as const, repo: 'acme/web', number: 3, cause: 'opened' as const, receivedAt: Date.now() };
  const older = await queuePreview({ redis, keys, queue }, data, options);
  const newer = await queuePreview({ redis, keys, queue }, { ...data, cause: 'updated' }, options);
  // The preview of #3 is busy: another worker holds its lock.
  await redis.set(keys.previewLock('web', 3), 'someone-else', 'PX', 60_000);
  const worker = createPreviewWorker({
    config,
    connection,
    redis,
    keys,
    log,
    queue,
    concurrency: 1,
    lockMs: 5_000,
    busyRetryMs: 50,
    preview: { config, store, apis: new Map(), reporter: { report: async () => undefined, reportComment: async () => undefined }, log, sync: {} as never },
    sweep: { config, store, apis: new Map(), kube: () => Promise.reject(new Error('no cluster')), log },
  });
  t.teardown(() => worker.close());
  const olderJob = await queue.getJob(older);
  t.equal(await olderJob?.waitUntilFinished(events, 10_000), 'superseded', 'the older job did nothing');
  const newerJob = await queue.getJob(newer);
  await until('the newer job to wait for the lock', async () => (await newerJob?.getState()) === 'delayed' && (newerJob?.attemptsMade ?? 0) === 0);
  t.pass('the newer one waits while the preview is busy, without spending an attempt');
  await redis.del(keys.previewLock('web', 3));
  const failed = await newerJob?.waitUntilFinished(events, 10_000).catch((err: Error) => err);
  t.match(failed, /app "web" has no previews in the configuration any more/, 'then it runs');
});
