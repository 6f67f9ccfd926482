import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/schema.js';
import type { Intake } from '../queue/producer.js';

/**
 * Queues a manual sync of an app's branch head, for the API, the dashboard's button and
 * `landfall sync`: under a fresh delivery id, so it is never taken for a duplicate. Returns the
 * job id. Throws what the intake throws (Redis did not take it).
 */
export async function queueManualSync(intake: Intake, app: AppConfig): Promise<string> {
  const result = await intake.enqueue('manual', randomUUID(), [
    { kind: 'sync', data: { app: app.name, trigger: 'manual', forge: app.forge, repo: app.repo, branch: app.branch, sha: '', receivedAt: Date.now() } },
  ]);
  const jobId = result.duplicate ? undefined : result.accepted[0]?.jobId;
  if (!jobId) throw new Error('the manual sync was taken for a duplicate');
  return jobId;
}

/** {@link queueManualSync}, or undefined when Redis refused it (the HTTP routes answer 503 then). */
export async function tryQueueManualSync(intake: Intake, app: AppConfig): Promise<string | undefined> {
  return queueManualSync(intake, app).catch(() => undefined);
}
