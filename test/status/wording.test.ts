import t from 'tap';
import { fitDescription } from '../../src/forges/forge-api.js';
import { bitbucketKey } from '../../src/forges/bitbucket/api.js';
import { forgeState } from '../../src/status/states.js';
import { changeSummary, deployedDescription, failureReason, planSummary, statusContext } from '../../src/status/wording.js';
import type { ChangeEntry } from '../../src/model/changes.js';

const entry = (action: ChangeEntry['action'], name = 'x'): ChangeEntry => ({ id: name, apiVersion: 'v1', kind: 'ConfigMap', name, action });

t.test('the neutral → forge state table of DESIGN.md', async (t) => {
  const rows: [string, string[]][] = [
    ['queued', ['pending', 'pending', 'pending', 'INPROGRESS', 'INPROGRESS']],
    ['running', ['pending', 'pending', 'running', 'INPROGRESS', 'INPROGRESS']],
    ['succeeded', ['success', 'success', 'success', 'SUCCESSFUL', 'SUCCESSFUL']],
    ['failed', ['failure', 'failure', 'failed', 'FAILED', 'FAILED']],
    ['superseded', ['error', 'error', 'canceled', 'STOPPED', 'CANCELLED']],
  ];
  for (const [state, words] of rows) {
    t.same(
      (['github', 'gitea', 'gitlab', 'bitbucket', 'bitbucket-server'] as const).map((f) => forgeState(f, state as never)),
      words,
      state,
    );
  }
});

t.test('descriptions say what matters', async (t) => {
  const changes = [entry('configured', 'a'), entry('configured', 'b'), entry('configured', 'c'), entry('deleted'), entry('unchanged')];
  t.equal(
    deployedDescription('abc1234def', 'default', 'guestbook', changes, 14_200),
    'Deployed abc1234 to default/guestbook: 3 configured, 1 pruned, healthy in 14s',
  );
  t.equal(changeSummary([entry('unchanged')]), 'no changes');
  t.equal(
    failureReason('Deployment/guestbook/web ProgressDeadlineExceeded: ReplicaSet "web-5d8f" has timed out progressing.'),
    'Deployment guestbook/web ProgressDeadlineExceeded',
  );
  t.equal(
    failureReason('2 invalid objects:\ndeploy/b.yaml#1: ConfigMap has no metadata.name\ndeploy/c.yaml#1: kind is required'),
    'deploy/b.yaml#1: ConfigMap has no metadata.name',
  );
  t.equal(failureReason('Service/web/web dry-run failed: Service "web" is invalid'), 'Service web/web dry-run failed: Service "web" is invalid');
  t.equal(
    planSummary([entry('created'), entry('created'), entry('configured'), entry('deleted'), entry('unchanged')]),
    '2 to create, 1 to change, 1 to prune, 1 unchanged',
  );
  t.equal(planSummary([entry('unchanged')]), 'no changes (1 unchanged)');
  t.equal(statusContext('guestbook', 'deploy'), 'landfall/guestbook');
  t.equal(statusContext('guestbook', 'plan'), 'landfall/guestbook/plan');
});

t.test("descriptions fit each forge's limit", async (t) => {
  const long = `Failed: ${'x'.repeat(300)}`;
  t.equal(fitDescription(long, 140).length, 140);
  t.ok(fitDescription(long, 140).endsWith('…'));
  t.equal(fitDescription(long, 255).length, 255);
  t.equal(fitDescription('short\nand\ttidy', 140), 'short and tidy', 'one line');
});

t.test('Bitbucket keys stay within 40 characters, deterministically', async (t) => {
  t.equal(bitbucketKey('landfall/guestbook'), 'landfall/guestbook');
  const long = 'landfall/this-is-a-thirty-char-app-nam/plan';
  t.equal(bitbucketKey(long).length, 40);
  t.equal(bitbucketKey(long), bitbucketKey(long));
  t.not(bitbucketKey(long), bitbucketKey(`${long}x`));
});

t.test('a failure a pod caused names the pod and its reason', async (t) => {
  t.equal(
    failureReason('Deployment/prod/web pod web-5d7f-x2 CrashLoopBackOff: container web, last exit code 1'),
    'Deployment prod/web pod web-5d7f-x2 CrashLoopBackOff',
  );
});
