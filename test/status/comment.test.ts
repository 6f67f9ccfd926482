// The plan as Markdown: hooks a plan found are listed with when they would run (they are not
// diffed: each deploy runs them anew), after the objects' sections.
import t from 'tap';
import type { SyncRecord } from '../../src/model/records.js';
import { planMarkdown } from '../../src/status/comment.js';

const record = (extra: Partial<SyncRecord>): SyncRecord => ({
  id: 'plan-web-1',
  kind: 'plan',
  app: 'web',
  trigger: 'push',
  jobId: 'plan-web-1',
  requestedSha: 'a'.repeat(40),
  covered: [],
  cluster: 'default',
  namespace: 'web',
  result: 'succeeded',
  phases: [],
  changes: [{ id: 'cm', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings', action: 'configured', paths: ['data.a'] }],
  health: [],
  log: [],
  attempt: 1,
  createdAt: 0,
  ...extra,
});

t.test('a plan lists its hooks with when they would run', async (t) => {
  const md = planMarkdown(
    record({
      plannedHooks: [
        { phase: 'pre-sync', kind: 'Job', namespace: 'web', name: 'migrate' },
        { phase: 'sync-fail', kind: 'Job', namespace: 'web', name: 'page-*' },
      ],
    }),
    'https://landfall.test/syncs/plan-web-1',
  );
  t.match(md, /\*\*Hooks\*\* \(2\)\n- before the deploy: Job `web\/migrate`\n- if the deploy fails: Job `web\/page-\*`/);
  t.ok(md.indexOf('To change') < md.indexOf('**Hooks**'), 'after the objects');
  t.notMatch(planMarkdown(record({}), 'https://landfall.test/syncs/plan-web-1'), /Hooks/, 'none without hooks');
});
