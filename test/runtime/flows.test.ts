// Whole flows for every forge over real sockets, real Redis, real git, the forge's API stand-in
// and the Kubernetes API test server: plan, failed plan, merge, rollout failure, burst.
import t from 'tap';
import { FORGE_IDS } from '../../src/config/schema.js';
import { PUBLIC_URL, startFlow, WORDS } from '../support/flow.js';
import { configMap, deployment } from '../support/sync.js';

const cm = (color: string) => configMap('settings', { color });

for (const forge of FORGE_IDS) {
  t.test(forge, async (t) => {
    const flow = await startFlow(t, forge);
    const words = WORDS[forge];
    const latest = (sha: string, context = 'landfall/web') => flow.api.statuses.latest(sha, context);
    const settled = (sha: string, context = 'landfall/web', state = words.ok) => flow.api.waitFor(() => latest(sha, context)?.state === state, 20_000);

    // The app's first deploy.
    const c0 = await flow.repo.commit({ 'deploy/cm.yaml': cm('blue'), 'deploy/web.yaml': deployment('web') });
    const firstJob = await flow.push(c0);
    await settled(c0);
    t.equal(latest(c0)?.targetUrl, `${PUBLIC_URL}/syncs/${firstJob}`, 'the status links to the sync page');
    t.match(latest(c0)?.description, /^Deployed [0-9a-f]{7} to default\/web: 2 created, healthy in \d+(ms|s)$/);

    // A pull request is opened: its plan succeeds and says what would change.
    const f1 = await flow.repo.commit({ 'deploy/cm.yaml': cm('green') }, 'turn green', 'feature');
    t.equal((await flow.pullRequest(7, 'opened', f1, 'feature')).status, 202);
    await settled(f1, 'landfall/web/plan');
    t.equal(latest(f1, 'landfall/web/plan')?.description, 'Plan: 1 to change, 1 unchanged');
    await flow.api.waitFor((api) => (api.comments.get(7) ?? []).length === 1 && /data\.color/.test(api.comments.get(7)![0]!.body), 10_000);
    t.match(flow.api.comments.get(7)![0]!.body, /To change\*\* \(1\)\n- ConfigMap `web\/settings`: `data\.color`/);
    t.same(flow.states(f1), [], 'a plan posts no deploy status');
    t.equal(
      flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }) &&
        (flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }) as any).data.color,
      'blue',
      'and never writes to the cluster',
    );

    // A second push to the pull request breaks a manifest: the plan fails naming the file.
    const f2 = await flow.repo.commit({ 'deploy/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { labels: { a: b } }\n' }, 'oops', 'feature');
    t.equal((await flow.pullRequest(7, 'updated', f2, 'feature')).status, 202);
    await settled(f2, 'landfall/web/plan', words.fail);
    t.match(latest(f2, 'landfall/web/plan')?.description, /^Plan failed: deploy\/bad\.yaml#1: ConfigMap has no metadata\.name/);
    await flow.api.waitFor((api) => /would not deploy/.test(api.comments.get(7)?.[0]?.body ?? ''), 10_000);
    t.equal(flow.api.comments.get(7)?.length, 1, 'the comment is edited in place, not posted again');
    t.ok(flow.api.comments.get(7)![0]!.edits >= 1);

    // The fix is merged: the merge's push deploys, with pending, running and success on the merge commit.
    const m1 = await flow.repo.commit({ 'deploy/cm.yaml': cm('green') }, 'merge feature');
    const mergeJob = await flow.push(m1);
    await settled(m1);
    const states = flow.states(m1);
    t.equal(states.at(-1), words.ok);
    t.ok(
      states.slice(0, -1).every((s) => words.busy.includes(s)),
      `queued and running before success: ${states.join(' → ')}`,
    );
    t.equal(latest(m1)?.targetUrl, `${PUBLIC_URL}/syncs/${mergeJob}`);
    t.match(latest(m1)?.description, /: 1 configured, healthy in/);
    t.equal((flow.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'settings' }) as any).data.color, 'green');

    // A rollout that fails: failure with its reason.
    const bad = await flow.repo.commit({ 'deploy/web.yaml': deployment('web', 'nginx:fail') }, 'bad image');
    await flow.push(bad);
    await settled(bad, 'landfall/web', words.fail);
    t.equal(latest(bad)?.description, 'Failed: Deployment web/web ProgressDeadlineExceeded');

    // A burst: four pushes arrive together; the older three are superseded by the head.
    const burst: string[] = [];
    for (let i = 0; i < 4; i++) burst.push(await flow.repo.commit({ 'deploy/cm.yaml': cm(`c${i}`), 'deploy/web.yaml': deployment('web') }, `burst ${i}`));
    await Promise.all(burst.map((sha) => flow.push(sha)));
    const head = burst.at(-1)!;
    await settled(head);
    for (const sha of burst.slice(0, -1)) {
      await settled(sha, 'landfall/web', words.superseded);
      t.equal(latest(sha)?.description, `superseded by ${head.slice(0, 7)}`);
    }

    // Never the same status twice in a row, and nothing the forge would not expect.
    for (const [key, list] of flow.api.statuses) {
      for (let i = 1; i < list.length; i++) {
        const [a, b] = [list[i - 1]!, list[i]!];
        t.notOk(a.state === b.state && a.description === b.description && a.targetUrl === b.targetUrl, `no duplicate status for ${key}`);
      }
    }
    t.same(flow.api.unexpected, [], 'no unexpected requests');
  });
}
