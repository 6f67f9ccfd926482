// The dashboard's view of previews: the app page lists each pull request's preview (status, why,
// namespace, link), and a preview's sync page points back at the app and pull request it previews.
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import type { SyncRecord } from '../../src/model/records.js';
import type { PreviewState } from '../../src/previews/store.js';
import { appPage, syncPage } from '../../src/http/ui/pages.js';
import type { AppSummary } from '../../src/http/view.js';

const config = parseConfig(
  'forges: { gitea: { webhookSecret: s3cret-value, url: "https://gitea.test" } }\napps:\n  - { name: web, forge: gitea, repo: acme/web, branch: main, namespace: web, previews: {} }\n',
  {},
);
const summary: AppSummary = {
  name: 'web',
  forge: 'gitea',
  repo: 'acme/web',
  branch: 'main',
  path: '.',
  cluster: 'default',
  namespace: 'web',
  status: 'synced',
  reason: 'fine',
  drift: { count: 0 },
  health: { total: 0, current: 0, failing: 0 },
  selfHeal: true,
  prune: true,
};
const now = Date.now();
const preview = (number: number, extra: Partial<PreviewState>): PreviewState => ({
  app: 'web',
  number,
  namespace: `pv-web-${number}`,
  status: 'ready',
  createdAt: now,
  updatedAt: now,
  lastPushAt: now - 60_000,
  ...extra,
});

t.test('the app page lists previews; a preview sync page links back to its app and pull request', async (t) => {
  const html = appPage(config, summary, undefined, [], [], [], {
    now,
    previews: [
      preview(3, { sha: 'a'.repeat(40), headBranch: 'feature', url: 'https://pr-3.preview.test', syncId: 'preview-web-3-1' }),
      preview(4, { status: 'waiting', fork: true, reason: 'from a fork: waits for a maintainer to approve this exact commit' }),
    ],
  });
  t.match(html, /<h2 id="previews">Previews<\/h2>/);
  t.match(html, /<tr id="pr-3">[\s\S]*feature[\s\S]*ready[\s\S]*pv-web-3[\s\S]*href="https:\/\/pr-3\.preview\.test"[\s\S]*href="\/syncs\/preview-web-3-1"/);
  t.match(html, /<tr id="pr-4">[\s\S]*\(fork\)[\s\S]*waiting[\s\S]*waits for a maintainer/);
  const empty = appPage(config, summary, undefined, [], [], [], { now, previews: [] });
  t.match(empty, /No previews: add the label “preview” to a pull request into\s+main\./);

  const record = {
    id: 'preview-web-3-1',
    app: 'web-pr-3',
    trigger: 'preview',
    jobId: 'preview-web-3-1',
    requestedSha: 'a'.repeat(40),
    covered: [],
    cluster: 'default',
    namespace: 'pv-web-3',
    result: 'succeeded',
    phases: [],
    changes: [],
    health: [],
    log: [],
    attempt: 1,
    createdAt: now,
  } satisfies SyncRecord;
  t.match(syncPage(config, record, now), /preview of <a href="\/apps\/web#pr-3">web #3<\/a>/);
});
