import type { PlannedHook, SyncRecord } from '../model/records.js';
import type { ChangeEntry } from '../model/changes.js';
import { fitMarkdown } from '../clip.js';
import { changeSummary, failureReason, planSummary, short } from './wording.js';

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

function changeSections(record: SyncRecord, titles: Record<string, string>): string[] {
  const sections: string[] = [];
  for (const [action, title] of Object.entries(titles)) {
    const items = record.changes.filter((c) => c.action === action);
    if (items.length > 0) sections.push(`**${title}** (${items.length})\n${items.map(objectLine).join('\n')}`);
  }
  return sections;
}

/**
 * A plan as Markdown: what would be created, changed (with field paths) and pruned. Values never
 * appear, only names and paths, so Secrets stay secret. Without `pageUrl` (`landfall plan`, which
 * keeps no record) the footer links nothing.
 */
export function planMarkdown(record: SyncRecord, pageUrl?: string): string {
  const footer = `\n${pageUrl ? `[Plan details](${pageUrl}) · ` : ''}deploys to \`${record.cluster}/${record.namespace}\` when merged`;
  if (record.result === 'failed') {
    return `**This change would not deploy.** ${failureReason(record.error?.message ?? 'unknown error')}\n\n\`\`\`\n${(record.error?.message ?? '').slice(0, 4_000)}\n\`\`\`\n${footer}`;
  }
  const sections = changeSections(record, {
    created: 'To create',
    configured: 'To change',
    recreated: 'To delete and create again',
    deleted: 'To prune',
    skipped: 'Left alone',
  });
  const hooks = record.plannedHooks ?? [];
  if (hooks.length > 0) {
    // Hooks are not diffed: each deploy runs them anew, so the plan says when they would run.
    const listed = hooks.map((h) => `- ${HOOK_WHEN[h.phase]}: ${h.kind} \`${h.namespace ? `${h.namespace}/` : ''}${h.name}\``);
    sections.push(`**Hooks** (${hooks.length})\n${listed.join('\n')}`);
  }
  return `${planSummary(record.changes)}.\n\n${sections.join('\n\n')}\n${footer}`;
}

/** When a planned hook would run, in the plan's words. */
const HOOK_WHEN: Record<PlannedHook['phase'], string> = {
  'pre-sync': 'before the deploy',
  'post-sync': 'after the deploy',
  'sync-fail': 'if the deploy fails',
};

/** A deploy as Markdown: what was applied (with field paths) and pruned, health, or why it failed. */
export function deployMarkdown(record: SyncRecord, pageUrl: string): string {
  const footer = `\n[Sync details](${pageUrl}) · \`${record.cluster}/${record.namespace}\``;
  const lines: string[] = [];
  if (record.result === 'failed' && record.error) {
    lines.push(`**The deploy failed.** ${failureReason(record.error.message)}\n\n\`\`\`\n${record.error.message.slice(0, 4_000)}\n\`\`\``);
  }
  if (record.phases.length > 0)
    lines.push(record.phases.map((p) => `${p.name} ${p.finishedAt !== undefined ? `${((p.finishedAt - p.startedAt) / 1000).toFixed(1)}s` : '…'}`).join(' · '));
  const sections = changeSections(record, {
    created: 'Created',
    configured: 'Changed',
    recreated: 'Deleted and created again',
    deleted: 'Pruned',
    failed: 'Failed',
    skipped: 'Left alone',
  });
  if (sections.length > 0) lines.push(sections.join('\n\n'));
  else if (record.result === 'succeeded') lines.push(`${changeSummary(record.changes)}.`);
  const unhealthy = record.health.filter((h) => h.status !== 'Current');
  if (unhealthy.length > 0)
    lines.push(
      `**Not healthy** (${unhealthy.length})\n${unhealthy.map((h) => `- ${h.kind} \`${h.namespace ? `${h.namespace}/` : ''}${h.name}\`: ${h.status}${h.reason ? ` ${h.reason}` : ''}${h.message ? `: ${h.message.slice(0, 300)}` : ''}`).join('\n')}`,
    );
  return `${lines.join('\n\n')}\n${footer}`;
}

/** A plan as Markdown for a pull-request comment, with the marker that finds it again. */
export function planComment(record: SyncRecord, pageUrl: string): string {
  const head = `${commentMarker(record.app)}\n### Landfall plan for \`${record.app}\` at ${short(record.sha ?? record.requestedSha)}\n\n`;
  return fitMarkdown(`${head}${planMarkdown(record, pageUrl)}`, MAX_COMMENT, pageUrl);
}
