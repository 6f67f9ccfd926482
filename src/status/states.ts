import type { ForgeId } from '../config/schema.js';
import type { SyncResult } from '../model/records.js';

/** Where a deploy or plan stands, in Landfall's words (a sync's result); each forge has its own. */
export type NeutralState = SyncResult;

const TABLE: Record<ForgeId, Record<NeutralState, string>> = {
  github: { queued: 'pending', running: 'pending', succeeded: 'success', failed: 'failure', superseded: 'error' },
  gitea: { queued: 'pending', running: 'pending', succeeded: 'success', failed: 'failure', superseded: 'error' },
  gitlab: { queued: 'pending', running: 'running', succeeded: 'success', failed: 'failed', superseded: 'canceled' },
  bitbucket: { queued: 'INPROGRESS', running: 'INPROGRESS', succeeded: 'SUCCESSFUL', failed: 'FAILED', superseded: 'STOPPED' },
  'bitbucket-server': { queued: 'INPROGRESS', running: 'INPROGRESS', succeeded: 'SUCCESSFUL', failed: 'FAILED', superseded: 'CANCELLED' },
};

/** The forge's word for a neutral state (the table in DESIGN.md). */
export function forgeState(forge: ForgeId, state: NeutralState): string {
  return TABLE[forge][state];
}
