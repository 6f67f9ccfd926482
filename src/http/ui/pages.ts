import type { PreviewState, PreviewStatus } from '../../previews/store.js';
import { formatDuration } from '../../config/duration.js';
import type { AppConfig, Config } from '../../config/schema.js';
import { commitUrl } from '../../forges/links.js';
import type { StoredWebhookCheck } from '../../hook-admin/stored-checks.js';
import type { DriftState, SyncRecord } from '../../model/records.js';
import { failureReason } from '../../status/wording.js';
import type { AppSummary, QueuedJob } from '../view.js';
import { ago, html, page, when, type Html } from './html.js';

const STATUS_WORDS: Record<string, string> = {
  synced: 'synced',
  progressing: 'progressing',
  'out-of-sync': 'out of sync',
  drifted: 'drifted',
  degraded: 'degraded',
  failed: 'failed',
  'not-deployed': 'not deployed',
};

function badge(state: string, label = STATUS_WORDS[state] ?? state): Html {
  return html`<span class="badge s-${state}">${label}</span>`;
}

function commit(app: AppConfig | undefined, config: Config, sha: string | undefined): Html {
  if (!sha) return html`<span class="muted">—</span>`;
  const url = app ? commitUrl(app, config.forges, sha) : undefined;
  return url ? html`<a class="mono" href="${url}" title="${sha}">${sha.slice(0, 7)}</a>` : html`<span class="mono" title="${sha}">${sha.slice(0, 7)}</span>`;
}

function duration(record: Pick<SyncRecord, 'startedAt' | 'finishedAt'>): string {
  return record.startedAt && record.finishedAt ? formatDuration(record.finishedAt - record.startedAt) : '—';
}

function objectName(o: { kind: string; namespace?: string; name: string }): string {
  return `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

/** A signed-in person as the pages show them: their login, and their groups when they signed in with OpenID Connect. */
export interface PagePerson {
  login: string;
  groups?: readonly string[] | undefined;
}

/** Group names a page lists at most (a provider may send hundreds). */
const GROUPS_SHOWN = 20;

/** "a, b and 3 more": a person's groups, for the line that says why they see nothing. */
function groupList(groups: readonly string[]): string {
  const shown = groups.slice(0, GROUPS_SHOWN).join(', ');
  return groups.length > GROUPS_SHOWN ? `${shown} and ${groups.length - GROUPS_SHOWN} more` : shown;
}

/** The dashboard's line about who is signed in, and why they see no app when they see none. */
function personLine(person: PagePerson, seesApps: boolean): Html {
  const out = html`<a href="/auth/sign-out">Sign out</a>`;
  if (seesApps) return html`<p class="muted">Signed in as ${person.login}. ${out}</p>`;
  const why =
    person.groups === undefined
      ? 'the forge says you can read none of the repositories the apps deploy from.'
      : person.groups.length
        ? `none of your groups (${groupList(person.groups)}) is given access to an app in server.auth.groups.`
        : 'the sign-in provider listed no groups for you, and access follows groups (server.auth.groups).';
  return html`<p class="card">Signed in as <strong>${person.login}</strong>, but you have access to no app: ${why} Ask whoever runs Landfall. ${out}</p>`;
}

/** `/`: every app, what it runs, whether that is well. */
export function appsPage(config: Config, apps: AppSummary[], now = Date.now(), person?: PagePerson): string {
  const rows = apps.map((a) => {
    const app = config.apps.find((c) => c.name === a.name);
    return html`<tr>
      <td>
        <a href="/apps/${a.name}"><strong>${a.name}</strong></a>
        <div class="muted">${a.repo}@${a.branch}</div>
      </td>
      <td data-label="State">
        ${badge(a.status)}
        <div class="muted">${a.reason}</div>
      </td>
      <td data-label="Deployed">
        ${commit(app, config, a.deployedSha)}
        <div class="muted" title="${when(a.deployedAt)}">${a.deployedAt ? `since ${ago(a.deployedAt, now)}` : ''}</div>
      </td>
      <td class="opt" data-label="Where">${a.cluster}/${a.namespace}</td>
      <td class="opt" data-label="Last sync">
        ${
          a.lastSync
            ? html`<a href="/syncs/${a.lastSync.id}">${badge(a.lastSync.result)}</a>
                <div class="muted" title="${when(a.lastSync.finishedAt ?? a.lastSync.startedAt)}">
                  ${a.lastSync.trigger}, ${ago(a.lastSync.finishedAt ?? a.lastSync.startedAt, now)}
                </div>`
            : html`<span class="muted">never</span>`
        }
      </td>
    </tr>`;
  });
  return page(
    'Apps',
    html`<h1>Apps</h1>
      ${person ? personLine(person, rows.length > 0) : ''}
      <div class="scroll">
        <table class="cards">
          <thead>
            <tr>
              <th>App</th>
              <th>State</th>
              <th>Deployed</th>
              <th class="opt">Where</th>
              <th class="opt">Last sync</th>
            </tr>
          </thead>
          <tbody>
            ${
              rows.length
                ? rows
                : html`<tr>
                    <td colspan="5" class="muted">${person ? 'No apps to show.' : 'No apps are configured.'}</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>`,
  );
}

/** The app page's line on the repository's webhook, from the workers' last check. */
function webhookLine(check: StoredWebhookCheck | undefined, now: number): Html {
  if (!check)
    return html`<span class="muted"
      >not checked yet (workers check it at start and every <code>worker.webhookCheckInterval</code> when the forge has a token)</span
    >`;
  const checked = html`<span class="muted" title="${when(check.checkedAt)}">checked ${ago(check.checkedAt, now)}</span>`;
  const redelivered = check.redelivered.filter((r) => !r.error).length;
  const recovered = check.recovered?.reenabled
    ? html`; re-enabled the hook the forge had disabled and queued ${check.recovered.planned} ${check.recovered.planned === 1 ? 'plan' : 'plans'} of open pull
      requests`
    : '';
  const again = html`${redelivered ? html`; asked the forge to redeliver ${redelivered} failed ${redelivered === 1 ? 'delivery' : 'deliveries'}` : ''}${recovered}`;
  if (check.ok) return html`${badge('succeeded', 'ok')} hook ${check.hookId ?? ''} is active with the right URL and events${again} ${checked}`;
  return html`${badge('failed', check.checked ? 'problem' : 'not checked')} ${check.problems.join('; ')}${again} ${checked}`;
}

/** `/apps/:app`: what runs, drift, health, history, and a sync button for token holders. */
export function appPage(
  config: Config,
  summary: AppSummary,
  drift: DriftState | undefined,
  syncs: SyncRecord[],
  plans: SyncRecord[],
  queued: QueuedJob[],
  more: {
    now?: number;
    notice?: string;
    webhook?: StoredWebhookCheck | undefined;
    /** A signed-in person: their login (and groups), and the form's CSRF token when they may sync (push access, or a group with write access). */
    person?: (PagePerson & { csrf?: string }) | undefined;
    /** The app's pull-request previews (apps with `previews:`). */
    previews?: PreviewState[];
  } = {},
): string {
  const { now = Date.now(), notice, webhook, person } = more;
  const app = config.apps.find((c) => c.name === summary.name);
  const busy = summary.status === 'progressing' || queued.length > 0;
  const history = syncs.map(
    (r) =>
      html`<tr>
        <td><a href="/syncs/${r.id}">${badge(r.result)}</a></td>
        <td>${commit(app, config, r.sha ?? r.requestedSha)}</td>
        <td>${r.trigger}</td>
        <td class="opt" title="${when(r.startedAt ?? r.createdAt)}">${ago(r.startedAt ?? r.createdAt, now)}</td>
        <td class="opt">${duration(r)}</td>
        <td>${r.error ? failureReason(r.error.message) : r.result === 'superseded' && r.supersededBy ? `superseded by ${r.supersededBy.slice(0, 7)}` : ''}</td>
      </tr>`,
  );
  const driftRows = (drift?.drift ?? []).map(
    (d) =>
      html`<tr>
        <td class="mono">${objectName(d)}</td>
        <td>${d.missing ? html`<strong>deleted by hand</strong>` : (d.paths ?? []).map((p) => html`<code>${p}</code> `)}</td>
      </tr>`,
  );
  const health = (drift?.health ?? syncs.find((s) => s.health.length)?.health ?? []).map(
    (h) =>
      html`<tr>
        <td class="mono">${objectName(h)}</td>
        <td>${badge(h.status, h.status)}</td>
        <td>${h.reason !== 'Current' ? `${h.reason}: ` : ''}${h.message}</td>
      </tr>`,
  );
  const previewRows = (more.previews ?? []).map(
    (p) =>
      html`<tr id="pr-${p.number}">
        <td>#${p.number} <span class="mono">${p.headBranch ?? ''}</span>${p.fork ? html` <span class="muted">(fork)</span>` : ''}</td>
        <td>${badge(PREVIEW_BADGE[p.status], p.status)}</td>
        <td>${commit(app, config, p.sha)}</td>
        <td class="mono">${p.namespace}</td>
        <td>${p.url && p.status !== 'expired' ? html`<a href="${p.url}">${p.url}</a>` : ''}${p.syncId ? html` <a href="/syncs/${p.syncId}">sync</a>` : ''}</td>
        <td>${p.reason ?? ''}</td>
        <td class="opt">${ago(p.lastPushAt, now)}</td>
      </tr>`,
  );
  const planRows = plans.map(
    (p) =>
      html`<tr>
        <td><a href="/syncs/${p.id}">${badge(p.result)}</a></td>
        <td>#${p.pullRequest?.number ?? '?'} ${p.pullRequest?.headBranch ?? ''}</td>
        <td>${commit(app, config, p.sha ?? p.requestedSha)}</td>
        <td class="opt">${ago(p.startedAt ?? p.createdAt, now)}</td>
      </tr>`,
  );
  return page(
    summary.name,
    html`<h1>${summary.name} ${badge(summary.status)}</h1>
      <div class="card">
        <p>${summary.reason}</p>
        <dl class="facts">
          <dt>Deployed</dt>
          <dd>
            ${commit(app, config, summary.deployedSha)}
            ${summary.deployedAt ? html`<span class="muted" title="${when(summary.deployedAt)}">since ${ago(summary.deployedAt, now)}</span>` : ''}
          </dd>
          <dt>Source</dt>
          <dd>
            ${summary.forge} <span class="mono">${summary.repo}</span> branch <span class="mono">${summary.branch}</span>, path
            <span class="mono">${summary.path}</span>
          </dd>
          <dt>Target</dt>
          <dd>cluster <span class="mono">${summary.cluster}</span>, namespace <span class="mono">${summary.namespace}</span></dd>
          <dt>Branch head</dt>
          <dd>${commit(app, config, summary.headSha)} ${drift?.checkedAt ? html`<span class="muted">checked ${ago(drift.checkedAt, now)}</span>` : ''}</dd>
          <dt>Policy</dt>
          <dd>prune ${summary.prune ? 'on' : 'off'}, self-heal ${summary.selfHeal ? 'on' : 'off'}</dd>
          <dt>Webhook</dt>
          <dd>${webhookLine(webhook, now)}</dd>
        </dl>
      </div>
      ${notice ? html`<div class="card">${notice}</div>` : ''}
      ${
        person && !person.csrf
          ? html`<p class="card muted">
              ${
                person.groups
                  ? `Signed in as ${person.login}, whose groups may read ${summary.name} but not sync it: syncing needs a group with access: write in server.auth.groups.`
                  : `Signed in as ${person.login}, who may read ${summary.repo} but not push to it: syncing needs write access.`
              }
              <a href="/auth/sign-out">Sign out</a>
            </p>`
          : html`<form class="inline card" method="post" action="/apps/${summary.name}/sync">
              ${
                person?.csrf
                  ? html`<input type="hidden" name="_csrf" value="${person.csrf}" /><span>Signed in as ${person.login}</span>`
                  : html`<label for="token">API token</label> <input id="token" type="password" name="token" autocomplete="current-password" required />`
              }
              <button type="submit">Sync now</button>
              ${busy ? html`<span class="muted">a sync is already queued or running</span>` : ''}
            </form>`
      }
      <h2>Drift</h2>
      ${
        driftRows.length
          ? html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th>Object</th>
                    <th>Changed by hand</th>
                  </tr>
                </thead>
                <tbody>
                  ${driftRows}
                </tbody>
              </table>
            </div>`
          : html`<p class="muted">
              ${drift?.checkedAt ? `No drift at the last check (${ago(drift.checkedAt, now)})${drift.healedAt ? `; drift was healed ${ago(drift.healedAt, now)} by ${drift.healedBy}` : ''}.` : 'Not checked yet.'}
            </p>`
      }
      <h2>Health</h2>
      ${
        health.length
          ? html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th>Object</th>
                    <th>Status</th>
                    <th>Detail</th>
                  </tr>
                </thead>
                <tbody>
                  ${health}
                </tbody>
              </table>
            </div>`
          : html`<p class="muted">No health report yet.</p>`
      }
      <h2>History</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Result</th>
              <th>Commit</th>
              <th>Trigger</th>
              <th class="opt">Started</th>
              <th class="opt">Took</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            ${queued
              .filter((q) => q.kind === 'sync' && q.state !== 'active')
              .map(
                (q) =>
                  html`<tr>
                    <td><a href="/syncs/${q.id}">${badge('queued')}</a></td>
                    <td>${commit(app, config, q.sha || undefined)}</td>
                    <td>queued</td>
                    <td class="opt">${ago(q.createdAt, now)}</td>
                    <td class="opt">—</td>
                    <td></td>
                  </tr>`,
              )}${
              history.length
                ? history
                : html`<tr>
                    <td colspan="6" class="muted">No syncs yet.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      ${
        app?.previews
          ? html`<h2 id="previews">Previews</h2>
              ${
                previewRows.length
                  ? html`<div class="scroll">
                      <table>
                        <thead>
                          <tr>
                            <th>Pull request</th>
                            <th>Status</th>
                            <th>Commit</th>
                            <th>Namespace</th>
                            <th>Where</th>
                            <th>Why</th>
                            <th class="opt">Last push</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${previewRows}
                        </tbody>
                      </table>
                    </div>`
                  : html`<p class="muted">
                      No previews: ${app.previews.trigger === 'label' ? `add the label “${app.previews.label}” to a pull request` : 'open a pull request'} into
                      ${app.branch}.
                    </p>`
              }`
          : ''
      }
      ${
        planRows.length
          ? html`<h2>Pull-request plans</h2>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Result</th>
                      <th>Pull request</th>
                      <th>Commit</th>
                      <th class="opt">When</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${planRows}
                  </tbody>
                </table>
              </div>`
          : ''
      }`,
    { ...(busy ? { refreshSeconds: 3 } : {}) },
  );
}

/** A preview's status as one of the badge colours. */
const PREVIEW_BADGE: Record<PreviewStatus, string> = {
  waiting: 'queued',
  deploying: 'running',
  ready: 'succeeded',
  failed: 'failed',
  sleeping: 'not-deployed',
  expired: 'not-deployed',
};

/** `/syncs/:id`, every status's target: phases, change set, health, the error in words, the log. */
export function syncPage(config: Config, record: SyncRecord, now = Date.now()): string {
  const app = config.apps.find((c) => c.name === record.app);
  const plan = record.kind === 'plan';
  const running = record.result === 'running' || record.result === 'queued';
  const total = Math.max(1, ...record.phases.map((p) => (p.finishedAt ?? now) - p.startedAt));
  const phases = record.phases.map((p) => {
    const ms = (p.finishedAt ?? now) - p.startedAt;
    return html`<tr>
      <td>${p.name}</td>
      <td class="phase">
        <meter min="0" max="100" value="${Math.max(1, Math.round((ms / total) * 100))}"></meter
        >${formatDuration(ms)}${p.finishedAt === undefined ? ' (running)' : ''}
      </td>
    </tr>`;
  });
  const changes = record.changes.map(
    (c) =>
      html`<tr>
        <td>
          ${badge(c.action === 'deleted' ? 'failed' : c.action === 'unchanged' ? 'not-deployed' : c.action === 'failed' ? 'failed' : 'succeeded', plan ? planWord(c.action) : c.action === 'deleted' ? 'pruned' : c.action)}
        </td>
        <td class="mono">${objectName(c)}</td>
        <td>${(c.paths ?? []).map((p) => html`<code>${p}</code> `)}${c.message ? html`<span class="muted">${c.message}</span>` : ''}</td>
        <td class="opt muted mono">${c.source ?? ''}</td>
      </tr>`,
  );
  const health = record.health.map(
    (h) =>
      html`<tr>
        <td class="mono">${objectName(h)}</td>
        <td>${badge(h.status, h.status)}</td>
        <td>${h.reason !== 'Current' ? `${h.reason}: ` : ''}${h.message}</td>
      </tr>`,
  );
  const log = record.log.map((l) => html`<div class="l-${l.level}">${when(l.at)} ${l.msg}</div>`);
  const stepBadge = (result: string) => badge(result === 'running' ? 'running' : result === 'failed' ? 'failed' : 'succeeded', result);
  const steps = (record.steps ?? []).flatMap((s) => [
    html`<tr>
      <td>${s.type === 'wave' ? `wave ${s.wave ?? 0}` : `${s.type} hooks`}</td>
      <td>${stepBadge(s.result)}</td>
      <td>${formatDuration((s.finishedAt ?? now) - s.startedAt)}${s.finishedAt === undefined ? ' (running)' : ''}</td>
      <td>
        ${s.type === 'wave' ? `${s.objects ?? 0} object${s.objects === 1 ? '' : 's'}` : ''}${s.message ? html` <span class="muted">${s.message}</span>` : ''}
      </td>
    </tr>`,
    ...(s.hooks ?? []).map(
      (h) =>
        html`<tr>
          <td class="mono">&nbsp;&nbsp;${h.kind} ${h.namespace ? `${h.namespace}/` : ''}${h.name ?? h.hook}</td>
          <td>${stepBadge(h.result)}</td>
          <td>${formatDuration((h.finishedAt ?? now) - h.startedAt)}</td>
          <td>${h.message ?? ''}${h.logs?.length ? html`<div class="log mono">${h.logs.map((line) => html`<div>${line}</div>`)}</div>` : ''}</td>
        </tr>`,
    ),
  ]);
  const planned = (record.plannedHooks ?? []).map(
    (h) =>
      html`<tr>
        <td>${{ 'pre-sync': 'before the deploy', 'post-sync': 'after the deploy', 'sync-fail': 'if the deploy fails' }[h.phase]}</td>
        <td class="mono">${h.kind} ${h.namespace ? `${h.namespace}/` : ''}${h.name}</td>
      </tr>`,
  );
  const title = plan ? `Plan for ${record.app} #${record.pullRequest?.number ?? ''}` : `Sync ${record.id}`;
  // A preview's record is kept under `<app>-pr-<n>`, which is no app of the configuration.
  const previewOf = record.trigger === 'preview' ? /^(.+)-pr-(\d+)$/.exec(record.app) : null;
  const preview = previewOf?.[1] && previewOf[2] ? { app: previewOf[1], number: Number(previewOf[2]) } : undefined;
  return page(
    title,
    html`<h1>${title} ${badge(record.result)}</h1>
      <div class="card">
        <dl class="facts">
          <dt>App</dt>
          <dd>
            ${
              preview
                ? html`preview of <a href="/apps/${preview.app}#pr-${preview.number}">${preview.app} #${preview.number}</a>`
                : html`<a href="/apps/${record.app}">${record.app}</a>`
            }
            → <span class="mono">${record.cluster}/${record.namespace}</span>
          </dd>
          <dt>Commit</dt>
          <dd>
            ${commit(app, config, record.sha ?? (record.requestedSha || undefined))}${record.requestedSha && record.sha && record.requestedSha !== record.sha ? html` <span class="muted">(announced ${record.requestedSha.slice(0, 7)}; the branch head was deployed)</span>` : ''}
          </dd>
          ${
            plan
              ? html`<dt>Pull request</dt>
                  <dd>
                    #${record.pullRequest?.number} <span class="mono">${record.pullRequest?.headBranch}</span> →
                    <span class="mono">${record.pullRequest?.baseBranch}</span>
                  </dd>`
              : html`<dt>Trigger</dt>
                  <dd>${record.trigger}${record.deliveryId ? html` <span class="muted mono">${record.deliveryId}</span>` : ''}</dd>`
          }
          <dt>Started</dt>
          <dd title="${when(record.startedAt)}">
            ${record.startedAt ? ago(record.startedAt, now) : 'not yet'}${record.attempt > 1 ? ` (attempt ${record.attempt})` : ''}
          </dd>
          <dt>Took</dt>
          <dd>${running ? 'still running' : duration(record)}</dd>
          ${
            record.supersededBy
              ? html`<dt>Superseded by</dt>
                  <dd>${commit(app, config, record.supersededBy)}</dd>`
              : ''
          }
        </dl>
      </div>
      ${
        record.error
          ? html`<h2>What went wrong</h2>
              <div class="error">
                <strong>${failureReason(record.error.message)}</strong>

                ${record.error.message}${advice(record.error.code)}
              </div>`
          : ''
      }
      ${
        record.statusErrors?.length
          ? html`<h2>Forge status reports that failed</h2>
              <div class="card">${record.statusErrors.map((e) => html`<div>${e}</div>`)}</div>`
          : ''
      }
      <h2>Phases</h2>
      ${
        phases.length
          ? html`<table>
              <tbody>
                ${phases}
              </tbody>
            </table>`
          : html`<p class="muted">${running ? 'Waiting for a worker.' : 'No phases ran.'}</p>`
      }
      ${
        steps.length
          ? html`<h2>Hooks and waves</h2>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Step</th>
                      <th>Result</th>
                      <th>Took</th>
                      <th>Detail</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${steps}
                  </tbody>
                </table>
              </div>`
          : ''
      }
      ${
        planned.length
          ? html`<h2>Hooks the deploy will run</h2>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th>When</th>
                      <th>Hook</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${planned}
                  </tbody>
                </table>
              </div>`
          : ''
      }
      <h2>${plan ? 'Plan' : 'Changes'}</h2>
      ${
        changes.length
          ? html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th>Action</th>
                    <th>Object</th>
                    <th>Fields</th>
                    <th class="opt">Source</th>
                  </tr>
                </thead>
                <tbody>
                  ${changes}
                </tbody>
              </table>
            </div>`
          : html`<p class="muted">None${running ? ' yet' : ''}.</p>`
      }
      ${
        plan
          ? ''
          : html`<h2>Health</h2>
              ${
                health.length
                  ? html`<div class="scroll">
                      <table>
                        <thead>
                          <tr>
                            <th>Object</th>
                            <th>Status</th>
                            <th>Detail</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${health}
                        </tbody>
                      </table>
                    </div>`
                  : html`<p class="muted">No health report${running ? ' yet' : ''}.</p>`
              }`
      }
      <h2>Log</h2>
      <div class="log mono">${log.length ? log : 'Nothing logged.'}</div>`,
    { ...(running ? { refreshSeconds: 2 } : {}) },
  );
}

function planWord(action: string): string {
  return (
    {
      created: 'to create',
      configured: 'to change',
      recreated: 'to recreate',
      deleted: 'to prune',
      unchanged: 'unchanged',
      skipped: 'left alone',
      failed: 'failed',
    }[action] ?? action
  );
}

/** What a person can do about a failure, by its code. */
function advice(code: string): string {
  const tips: Record<string, string> = {
    MANIFEST_INVALID: '\n\nFix the manifest named above and push again; nothing was written to the cluster.',
    DRY_RUN_FAILED:
      '\n\nThe API server refused the object in a dry-run; nothing was written. Change the manifest (immutable fields need the object deleted first).',
    HEALTH_FAILED: "\n\nThe objects were applied but did not become healthy. Look at the object's events (kubectl describe) and push a fix or revert.",
    HEALTH_TIMEOUT:
      '\n\nThe objects were applied but were not healthy within healthTimeout. Look at the pods (kubectl describe) and push a fix, revert, or raise healthTimeout.',
    HOOK_FAILED:
      '\n\nA hook failed, so the phases after it did not run. Its reason and the last lines of its log are under "Hooks and waves"; fix the hook or what it checks and push again.',
    PRUNE_FAILED: '\n\nEverything was applied; deleting what Git no longer has failed. Landfall tries again on the next sync.',
    EMPTY_RENDER: "\n\nCheck the app's path; set allowEmpty: true only if an empty app is intended.",
    BRANCH_MISSING: "\n\nThe app's branch does not exist in the repository. Check apps[].branch.",
    GIT_FAILED: '\n\nLandfall could not fetch from the repository. Check cloneUrl and the forge token.',
  };
  return tips[code] ?? '';
}
