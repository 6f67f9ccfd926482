import type { AppConfig, Config } from '../config/schema.js';
import { createForgeApis } from '../forges/api-clients.js';
import type { ForgeApi } from '../forges/forge-api.js';
import { checkWebhooks, syncWebhooks, type HookCheckResult, type HookSyncResult } from '../hook-admin/manage.js';
import type { ForgeId } from '../config/schema.js';

/** The apps named on the command line (all when none), or an error naming the unknown ones. */
export function selectApps(config: Config, names: readonly string[]): AppConfig[] {
  if (names.length === 0) return [...config.apps];
  const unknown = names.filter((n) => !config.apps.some((a) => a.name === n));
  if (unknown.length > 0) {
    throw new Error(`no app named ${unknown.map((n) => `"${n}"`).join(', ')} (configured: ${config.apps.map((a) => a.name).join(', ') || 'none'})`);
  }
  return config.apps.filter((a) => names.includes(a.name));
}

function appsOf(apps: readonly AppConfig[], forge: ForgeId, repo: string): string {
  const names = apps.filter((a) => a.forge === forge && a.repo.toLowerCase() === repo.toLowerCase()).map((a) => a.name);
  return names.length ? ` (${names.length === 1 ? 'app' : 'apps'} ${names.join(', ')})` : '';
}

/** What `webhooks sync` prints: one line per repository and a total; `failed` decides the exit code. */
export function formatSync(results: readonly HookSyncResult[], apps: readonly AppConfig[], dryRun: boolean): { text: string; failed: number } {
  const lines: string[] = [];
  const verb = {
    created: dryRun ? 'would create' : 'created',
    updated: dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
    failed: 'FAILED',
  } as const;
  for (const r of results) {
    const where = `${r.forge} ${r.repo}${appsOf(apps, r.forge, r.repo)}`;
    if (r.action === 'failed') lines.push(`✗ ${where}: ${r.error ?? 'failed'}`);
    else if (r.action === 'unchanged') lines.push(`✓ ${where}: hook ${r.hookId ?? ''} is right; nothing to change`);
    else lines.push(`${dryRun ? '~' : '✓'} ${where}: ${verb[r.action]} hook${r.hookId ? ` ${r.hookId}` : ''}: ${r.changes.join('; ')}`);
    for (const w of r.warnings ?? []) lines.push(`    warning: ${w}`);
  }
  const count = (a: HookSyncResult['action']) => results.filter((r) => r.action === a).length;
  const failed = count('failed');
  lines.push(
    `${results.length} ${results.length === 1 ? 'repository' : 'repositories'}: ${count('created')} ${verb.created}, ${count('updated')} ${verb.updated}, ${count('unchanged')} unchanged, ${failed} failed` +
      (dryRun ? ' (dry run: nothing was changed)' : ''),
  );
  return { text: `${lines.join('\n')}\n`, failed };
}

/** What `webhooks check` prints; `bad` (repositories with problems) decides the exit code. */
export function formatCheck(results: readonly HookCheckResult[], apps: readonly AppConfig[]): { text: string; bad: number } {
  const lines: string[] = [];
  for (const r of results) {
    const where = `${r.forge} ${r.repo}${appsOf(apps, r.forge, r.repo)}`;
    if (r.ok) {
      lines.push(`✓ ${where}: hook ${r.hookId ?? ''} is active, points at the right URL with the right events`);
      for (const n of r.notes ?? []) lines.push(`    note: ${n}`);
      continue;
    }
    lines.push(`✗ ${where}:`);
    for (const p of r.problems) lines.push(`    ${p}`);
    for (const n of r.notes ?? []) lines.push(`    note: ${n}`);
    for (const d of r.failedDeliveries.slice(0, 5)) {
      lines.push(
        `    delivery ${d.id} (${d.event}) at ${new Date(d.at).toISOString()}: ${d.statusCode === 0 ? 'no answer' : `Landfall answered ${d.statusCode}`}`,
      );
    }
    if (r.failedDeliveries.length > 5) lines.push(`    ... and ${r.failedDeliveries.length - 5} more`);
  }
  const bad = results.filter((r) => !r.ok).length;
  lines.push(`${results.length} ${results.length === 1 ? 'repository' : 'repositories'}: ${results.length - bad} ok, ${bad} with problems`);
  return { text: `${lines.join('\n')}\n`, bad };
}

/** A warning when `server.publicUrl` is an address no forge can reach (the default is localhost). */
export function publicUrlWarning(config: Config): string {
  const host = new URL(config.server.publicUrl).hostname;
  return /^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(host)
    ? `warning: server.publicUrl is ${config.server.publicUrl}; a forge on another machine cannot deliver there. Set server.publicUrl (LANDFALL_SERVER__PUBLIC_URL) to Landfall's public address.\n`
    : '';
}

/** `landfall webhooks sync`: returns the text to print and the exit code. */
export async function runWebhooksSync(
  config: Config,
  names: readonly string[],
  options: { dryRun?: boolean; force?: boolean },
  apis: Map<ForgeId, ForgeApi> = createForgeApis(config.forges),
): Promise<{ text: string; code: number }> {
  const apps = selectApps(config, names);
  const results = await syncWebhooks(config, apis, apps, options);
  const { text, failed } = formatSync(results, apps, options.dryRun === true);
  return { text: publicUrlWarning(config) + text, code: failed > 0 ? 1 : 0 };
}

/** `landfall webhooks check`: returns the text to print and the exit code. */
export async function runWebhooksCheck(
  config: Config,
  names: readonly string[],
  apis: Map<ForgeId, ForgeApi> = createForgeApis(config.forges),
): Promise<{ text: string; code: number }> {
  const apps = selectApps(config, names);
  const results = await checkWebhooks(config, apis, apps);
  const { text, bad } = formatCheck(results, apps);
  return { text, code: bad > 0 ? 1 : 0 };
}
