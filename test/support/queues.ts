import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Read access to the sync and plan queues under a test prefix. */
export function queuesForTest(t: Teardown, redis: Redis, prefix: string) {
  const sync = new Queue('sync', { connection: redis, prefix });
  const plan = new Queue('plan', { connection: redis, prefix });
  t.teardown(async () => {
    await sync.close();
    await plan.close();
  });
  return {
    sync,
    plan,
    /** Number of jobs in any state, across both queues. */
    async total(): Promise<number> {
      const [a, b] = await Promise.all([
        sync.getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'),
        plan.getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'),
      ]);
      return a + b;
    },
  };
}
