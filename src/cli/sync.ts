import { Queue } from 'bullmq';
import type { Config } from '../config/schema.js';
import { queueManualSync as queueManual } from '../intake/manual.js';
import { createIntake, jobDefaults } from '../queue/producer.js';
import { QUEUES } from '../queue/names.js';
import { createProducerConnection } from '../redis/connection.js';
import { createKeys } from '../store/keys.js';

/** Queues a manual sync of an app's branch head, the way `POST /api/apps/:app/sync` does. */
export async function queueManualSync(config: Config, appName: string): Promise<string> {
  const app = config.apps.find((a) => a.name === appName);
  if (!app) throw new Error(`no app named "${appName}" (configured: ${config.apps.map((a) => a.name).join(', ') || 'none'})`);
  const redis = createProducerConnection(config.redis, { enableOfflineQueue: true });
  const syncQueue = new Queue(QUEUES.sync, { connection: redis, prefix: config.redis.prefix });
  const planQueue = new Queue(QUEUES.plan, { connection: redis, prefix: config.redis.prefix });
  try {
    const intake = createIntake({
      redis,
      keys: createKeys(config.redis.prefix),
      syncQueue,
      planQueue,
      prefix: config.redis.prefix,
      jobDefaults: jobDefaults(config),
    });
    return await queueManual(intake, app);
  } finally {
    await Promise.allSettled([syncQueue.close(), planQueue.close()]);
    await redis.quit().catch(() => redis.disconnect());
  }
}
