import type { SyncRecord } from '../store/history.js';
import type { ChangeEntry } from '../sync/types.js';
import { failureReason, planSummary, short } from './wording.js';

/** The invisible marker that finds an app's plan comment again on later pushes. */
export function commentMarker(app: string): string {
  return `<!-- landfall-plan:${app} -->`;
}

/** Comments stay well under every forge's limit (GitHub allows 65,536 characters). */
const MAX_COMMENT = 60_000;

function objectLine(c: ChangeEntry): string {
  const name = c.namespace ? `${c.namespace}/${c.name}` : c.name;
  const paths = c.paths?.length ? `: ${c.paths.map((p) => `\`${p}\``).join(', ')}` : '';
  const note = c.message ? ` (${c.message})` : '';
  return `- ${c.kind} \`${name}\`${paths}${note}`;
}

/**
 * A plan as Markdown for a pull-request comment: what would be created, changed (with field
 * paths) and pruned. Values never appear, only names and paths, so Secrets stay secret.
 */
export function planComment(record: SyncRecord, pageUrl: string): string {
  const head = `${commentMarker(record.app)}\n### Landfall plan for \`${record.app}\` at ${short(record.sha ?? record.requestedSha)}\n`;
  const footer = `\n[Plan details](${pageUrl}) · deploys to \`${record.cluster}/${record.namespace}\` when merged`;
  if (record.result === 'failed') {
    return `${head}\n**This change would not deploy.** ${failureReason(record.error?.message ?? 'unknown error')}\n\n\`\`\`\n${(record.error?.message ?? '').slice(0, 4_000)}\n\`\`\`\n${footer}`;
  }
  const sections: string[] = [];
  const group = (action: string, title: string) => {
    const items = record.changes.filter((c) => c.action === action);
    if (items.length > 0) sections.push(`**${title}** (${items.length})\n${items.map(objectLine).join('\n')}`);
  };
  group('created', 'To create');
  group('configured', 'To change');
  group('deleted', 'To prune');
  group('skipped', 'Left alone');
  let body = `${head}\n${planSummary(record.changes)}.\n\n${sections.join('\n\n')}\n${footer}`;
  if (body.length > MAX_COMMENT) body = `${body.slice(0, MAX_COMMENT)}\n\n… (truncated; the full plan is on the [plan page](${pageUrl}))`;
  return body;
}
