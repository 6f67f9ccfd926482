/**
 * End to end with a real Gitea and nothing faked on the forge's side: Landfall runs as its own
 * process (`node dist/main.js serve`) on 127.0.0.1 with `server.publicUrl` pointing at it, so
 * Gitea's webhooks reach it; git pushes go over Gitea's HTTP with the admin's credentials; pull
 * requests are opened and merged through Gitea's API; statuses are read back from Gitea's API.
 *
 * The cluster is the in-repo Kubernetes API test server, or the real control plane when
 * LANDFALL_E2E_KUBECONFIG is set (`npm test` sets it for this group), with no change here.
 * Webhook delivery is asynchronous: every wait is a bounded poll for the state it leads to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import { createRepo } from '../../support/git.js';
import { kubeForTest, testNamespace } from '../../support/kube.js';
import { freePort, runCli, type Running } from '../../support/process.js';
import { realGitea, realGiteaSkip, writeGiteaConfig, type RealGitea } from '../../support/real-gitea.js';
import { redisForTest } from '../../support/redis.js';
import { until } from '../../support/workers.js';

// Response bodies are checked field by field; a loose type keeps that readable.
type Obj = Record<string, any>;

const skip = realGiteaSkip();
const SECRET = 'gitea-e2e-webhook-secret';
/** Webhook delivery, a deploy and a status post, on a busy two-core machine. */
const WAIT = 90_000;

const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "${value}" }\n`;

/** The statuses Gitea has for a commit and context, newest first. */
async function statuses(gitea: RealGitea, repo: string, sha: string, context: string): Promise<Obj[]> {
  const res = await gitea.api('GET', `/repos/${repo}/commits/${sha}/statuses?limit=50`);
  // Gitea lists them oldest first.
  return (res.status === 200 ? (res.body as Obj[]) : []).filter((s) => s.context === context).sort((a, b) => b.id - a.id);
}

/** Waits until Gitea shows `state` as the newest status of `context` on `sha`. */
async function statusOf(gitea: RealGitea, repo: string, sha: string, context: string, state = 'success'): Promise<Obj> {
  return until(
    `${context} ${state} on ${sha.slice(0, 7)} in Gitea`,
    async () => {
      const [latest] = await statuses(gitea, repo, sha, context);
      return latest?.status === state ? latest : undefined;
    },
    WAIT,
  );
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, out: run.output() };
}

t.test(
  'Gitea end to end: hook set-up, push → deploy, pull request → plan, merge → deploy, drift put right, test delivery',
  { skip, timeout: 600_000 },
  async (t) => {
    const gitea = realGitea();
    t.comment(`gitea ${gitea.version} at ${gitea.url} (${gitea.build})`);
    const repo = await gitea.createRepo('e2e');
    const local = await createRepo(t, 'gitea-e2e', { remote: gitea.pushUrl(repo) });
    const first = await local.commit({ 'deploy/cm.yaml': configMap('settings', 'one') }, 'first manifests');

    const kube = await kubeForTest(t);
    const namespace = await testNamespace(t, kube, 'gitea');
    const core = kube.kc.makeApiClient(CoreV1Api);
    const dir = await mkdtemp(join(tmpdir(), 'landfall-gitea-e2e-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    let kubeconfig = process.env.LANDFALL_E2E_KUBECONFIG;
    if (!kubeconfig) {
      kubeconfig = join(dir, 'kubeconfig');
      await writeFile(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: { server: "${kube.server!.url}", insecure-skip-tls-verify: true }\nusers:\n- name: test\n  user: { token: test-token }\ncontexts:\n- name: test\n  context: { cluster: test, user: test, namespace: default }\ncurrent-context: test\n`,
      );
    }
    const { url: redisUrl, prefix } = await redisForTest(t, 'gte');
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const file = await writeGiteaConfig({
      gitea,
      dir,
      port,
      redisUrl,
      prefix,
      kubeconfig,
      apps: `  - { name: web, forge: gitea, repo: ${repo}, branch: main, path: deploy, namespace: ${namespace}, healthTimeout: 60s }
`,
    });
    const env = { GITEA_HOOK_SECRET: SECRET, GITEA_TOKEN: gitea.token };

    await t.test('webhooks sync creates the hook on Gitea; a second run has nothing to change; check is healthy', async (t) => {
      const created = await cli(['webhooks', 'sync', '--config', file], env);
      t.equal(created.code, 0, created.out);
      t.match(
        created.out,
        new RegExp(
          `✓ gitea ${repo} \\(app web\\): created hook \\d+: url ${publicUrl}/hooks/gitea; events pull_request, pull_request_comment, pull_request_label, pull_request_sync, push; with the secret`,
        ),
      );
      const hooks = (await gitea.api('GET', `/repos/${repo}/hooks`)).body as Obj[];
      t.equal(hooks.length, 1);
      t.match(hooks[0], { type: 'gitea', active: true, config: { url: `${publicUrl}/hooks/gitea`, content_type: 'json' } });
      t.same([...hooks[0]!.events].sort(), ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'], 'what Gitea stored');
      const again = await cli(['webhooks', 'sync', '--config', file], env);
      t.equal(again.code, 0, again.out);
      t.match(again.out, /is right; nothing to change/);
      t.match(again.out, /1 repository: 0 created, 0 updated, 1 unchanged, 0 failed/);
      const check = await cli(['webhooks', 'check', '--config', file], env);
      t.equal(check.code, 0, check.out);
      t.match(check.out, /✓ gitea .*: hook \d+ is active, points at the right URL with the right events/);
      t.notMatch(created.out + again.out + check.out, new RegExp(`${SECRET}|${gitea.token}`), 'no secret printed');
    });

    let server: Running | undefined;
    await t.test('Landfall serves on 127.0.0.1', async () => {
      server = runCli(['serve', '--config', file], env);
      t.teardown(async () => {
        server?.child.kill('SIGTERM');
        await server?.exited;
      });
      await server.waitFor(/landfall web listening/, 60_000);
    });

    let deployed = first;
    await t.test('a git push makes Gitea deliver a signed webhook; Landfall deploys the commit and reports success with the sync page', async (t) => {
      const sha = await local.commit({ 'deploy/cm.yaml': configMap('settings', 'two') }, 'second');
      const status = await statusOf(gitea, repo, sha, 'landfall/web');
      t.match(status.target_url, new RegExp(`^${publicUrl}/syncs/[\\w-]+$`));
      t.match(status.description, /^Deployed [0-9a-f]{7}/);
      const page = await fetch(status.target_url);
      t.equal(page.status, 200, 'the status links to the sync page');
      t.match(await page.text(), new RegExp(sha.slice(0, 7)));
      const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace });
      t.equal(cm.data?.value, 'two');
      t.match(server!.output(), /"forge":"gitea","outcome":"accepted","status":202/, 'the signed delivery came in on /hooks/gitea and was accepted');
      deployed = sha;
    });

    let pr = 0;
    let head = '';
    await t.test("a pull request opened through Gitea's API gets landfall/web/plan on its head commit", async (t) => {
      head = await local.commit({ 'deploy/cm.yaml': configMap('settings', 'three') }, 'change on a branch', 'feature');
      const opened = await gitea.api('POST', `/repos/${repo}/pulls`, { head: 'feature', base: 'main', title: 'Three' });
      t.equal(opened.status, 201, JSON.stringify(opened.body));
      pr = opened.body.number as number;
      t.equal(opened.body.head.sha, head);
      const plan = await statusOf(gitea, repo, head, 'landfall/web/plan');
      t.match(plan.description, /^Plan/);
      t.match(plan.target_url, new RegExp(`^${publicUrl}/`));
      t.equal((await core.readNamespacedConfigMap({ name: 'settings', namespace })).data?.value, 'two', 'a plan changes nothing');
    });

    await t.test("a new commit on the pull request (Gitea's pull_request_sync) is planned again", async (t) => {
      const next = await local.commit(
        { 'deploy/cm.yaml': configMap('settings', 'four'), 'deploy/extra.yaml': configMap('extra', 'x') },
        'more on the branch',
        'feature',
      );
      const plan = await statusOf(gitea, repo, next, 'landfall/web/plan');
      t.match(plan.description, /1 to create/);
      head = next;
    });

    await t.test('merging it through the API deploys the merge commit', async (t) => {
      // Gitea checks a pull request's mergeability after each push, in the background; until that
      // is done it answers a merge 405 "Please try again later".
      const merged = await until(
        'Gitea to take the merge',
        async () => {
          const res = await gitea.api('POST', `/repos/${repo}/pulls/${pr}/merge`, { Do: 'merge', merge_message_field: 'Merge feature' });
          return res.status === 405 && /try again later/i.test(JSON.stringify(res.body)) ? undefined : res;
        },
        WAIT,
      );
      t.equal(merged.status, 200, JSON.stringify(merged.body));
      const after = (await gitea.api('GET', `/repos/${repo}/pulls/${pr}`)).body as Obj;
      t.equal(after.merged, true);
      const mergeSha = after.merge_commit_sha as string;
      t.match(mergeSha, /^[0-9a-f]{40}$/);
      t.not(mergeSha, head, 'a merge commit, not the head');
      await statusOf(gitea, repo, mergeSha, 'landfall/web');
      t.equal((await core.readNamespacedConfigMap({ name: 'settings', namespace })).data?.value, 'four');
      t.equal((await core.readNamespacedConfigMap({ name: 'extra', namespace })).data?.value, 'x');
      deployed = mergeSha;
    });

    await t.test('a hook changed by hand (events, URL) is reported by check and put right by webhooks sync', async (t) => {
      const [hook] = (await gitea.api('GET', `/repos/${repo}/hooks`)).body as Obj[];
      const moved = `http://127.0.0.1:1/hooks/gitea`;
      const edited = await gitea.api('PATCH', `/repos/${repo}/hooks/${hook!.id}`, { events: ['push'], config: { url: moved, content_type: 'json' } });
      t.equal(edited.status, 200);
      const check = await cli(['webhooks', 'check', '--config', file], env);
      t.equal(check.code, 1, check.out);
      t.match(check.out, new RegExp(`url: ${moved} → ${publicUrl}/hooks/gitea`));
      t.match(check.out, /events: \+pull_request \+pull_request_comment \+pull_request_label \+pull_request_sync/);
      const sync = await cli(['webhooks', 'sync', '--config', file], env);
      t.equal(sync.code, 0, sync.out);
      t.match(
        sync.out,
        new RegExp(
          `updated hook ${hook!.id}: url: ${moved} → ${publicUrl}/hooks/gitea; events: \\+pull_request \\+pull_request_comment \\+pull_request_label \\+pull_request_sync`,
        ),
      );
      const fixed = ((await gitea.api('GET', `/repos/${repo}/hooks`)).body as Obj[])[0]!;
      t.same(
        [fixed.config.url, [...fixed.events].sort()],
        [`${publicUrl}/hooks/gitea`, ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push']],
      );
      t.equal((await cli(['webhooks', 'check', '--config', file], env)).code, 0);
      // The secret stayed what the create set: a push still deploys.
      const sha = await local.commit({ 'deploy/cm.yaml': configMap('settings', 'five'), 'deploy/extra.yaml': configMap('extra', 'x') }, 'after the fix');
      await statusOf(gitea, repo, sha, 'landfall/web');
      deployed = sha;
    });

    await t.test("a redelivery through Gitea's hook test API is a new delivery of the deployed head: deployed again, nothing rolled back", async (t) => {
      const [hook] = (await gitea.api('GET', `/repos/${repo}/hooks`)).body as Obj[];
      const syncs = async () => ((await (await fetch(`${publicUrl}/api/apps/web/syncs`)).json()) as { syncs: Obj[] }).syncs;
      const before = new Set((await syncs()).map((s) => s.id));
      const test = await gitea.api('POST', `/repos/${repo}/hooks/${hook!.id}/tests`);
      t.equal(test.status, 204);
      const record = await until(
        'a finished sync of the test delivery',
        async () => (await syncs()).find((s) => !before.has(s.id) && s.result && !['queued', 'running'].includes(s.result)),
        WAIT,
      );
      t.match(
        record,
        { sha: deployed, trigger: 'push', result: 'succeeded' },
        "Gitea's test delivery is a push of the branch head (before = after) with a new delivery id: accepted, not a duplicate, and deployed again",
      );
      t.equal((await core.readNamespacedConfigMap({ name: 'settings', namespace })).data?.value, 'five');
      t.equal((await statuses(gitea, repo, deployed, 'landfall/web'))[0]?.status, 'success');
    });
  },
);
