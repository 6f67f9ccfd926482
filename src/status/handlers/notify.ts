import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { notifyJobSchema } from '../../model/jobs.js';
import { deliverNotification } from '../../notify.js';
import type { StatusJobHandler } from './handler.js';

/** `notify` jobs: deliver one notification; a refusal that retrying cannot mend fails the job at once. */
export function createNotifyHandler(deps: { config?: Config; log: Logger }): StatusJobHandler<typeof notifyJobSchema> {
  return {
    schema: notifyJobSchema,
    async run(data) {
      if (!deps.config) return 'no-config';
      await deliverNotification(deps.config, data.target, data.notification);
      return 'sent';
    },
    attemptFailed(data, err) {
      deps.log.warn({ target: data.target, event: data.notification.event, err }, 'notification not delivered');
    },
  };
}
