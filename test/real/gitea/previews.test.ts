/**
 * Pull-request previews end to end with a real Gitea and the real control plane: Landfall runs as
 * its own process (`node dist/main.js serve`); labels, pushes, comments and closing happen through
 * Gitea's API and git, and Gitea's own webhooks bring them to Landfall. A reviewer sees the
 * preview's URL on the pull request (status and one comment, edited in place) within seconds of
 * adding the label, and nothing of it is left on the cluster after the pull request closes. A
 * fork's pull request gets no preview until a maintainer approves its exact head commit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createKubeClient } from '../../../src/kube/client.js';
import { createRepo } from '../../support/git.js';
import { kubeForTest, testNamespace } from '../../support/kube.js';
import { appFiles } from '../../support/preview-scenarios.js';
import { freePort, runCli, type Running } from '../../support/process.js';
import { realGitea, realGiteaSkip, writeGiteaConfig, type RealGitea } from '../../support/real-gitea.js';
import { redisForTest } from '../../support/redis.js';
import { until } from '../../support/workers.js';

// Response bodies are checked field by field; a loose type keeps that readable.
type Obj = Record<string, any>;

const skip = realGiteaSkip();
const SECRET = 'gitea-previews-webhook-secret';
/** Webhook delivery, a deploy and a status post, on a busy two-core machine. */
const WAIT = 120_000;
const CONTEXT = 'landfall/web/preview';

/** Waits until Gitea shows a status of `context` on `sha` that `pick` accepts; answers it. */
async function statusWhere(gitea: RealGitea, repo: string, sha: string, what: string, pick: (s: Obj) => boolean): Promise<Obj> {
  return until(
    `${CONTEXT} ${what} on ${sha.slice(0, 7)} in Gitea`,
    async () => {
      const res = await gitea.api('GET', `/repos/${repo}/commits/${sha}/statuses?limit=50`);
      const newest = ((res.status === 200 ? res.body : []) as Obj[]).filter((s) => s.context === CONTEXT).sort((a, b) => b.id - a.id)[0];
      return newest && pick(newest) ? newest : undefined;
    },
    WAIT,
  );
}

async function previewComments(gitea: RealGitea, repo: string, number: number): Promise<Obj[]> {
  const res = await gitea.api('GET', `/repos/${repo}/issues/${number}/comments`);
  return ((res.status === 200 ? res.body : []) as Obj[]).filter((c) => String(c.body).includes('Preview of `web`'));
}

t.test(
  'Gitea previews: label → preview with its URL on the pull request, push → updated, close → gone; a fork waits for approval',
  { skip, timeout: 900_000 },
  async (t) => {
    const gitea = realGitea();
    const repo = await gitea.createRepo('previews');
    const local = await createRepo(t, 'gitea-previews', { remote: gitea.pushUrl(repo) });
    await local.commit(appFiles('main'), 'app');

    const kube = await kubeForTest(t);
    const namespace = await testNamespace(t, kube, 'gitea-pv');
    const client = await createKubeClient(kube.kc);
    t.teardown(() => client.close());
    const kubeconfig = process.env.LANDFALL_E2E_KUBECONFIG;
    t.ok(kubeconfig, 'the real control plane (LANDFALL_E2E_KUBECONFIG) is there: previews need a namespace controller');
    if (!kubeconfig) return;
    const dir = await mkdtemp(join(tmpdir(), 'landfall-gitea-previews-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const { url: redisUrl, prefix } = await redisForTest(t, 'gpv');
    const port = await freePort();
    const file = await writeGiteaConfig({
      gitea,
      dir,
      port,
      redisUrl,
      prefix,
      kubeconfig,
      apps: `  - name: web
    forge: gitea
    repo: ${repo}
    branch: main
    path: deploy
    namespace: ${namespace}
    healthTimeout: 90s
    previews: { url: "http://pr-{number}.preview.test", values: { "web.example.test": "pr-{number}.preview.test", IMAGE_TAG: "{sha}" } }
`,
    });
    const env = { GITEA_HOOK_SECRET: SECRET, GITEA_TOKEN: gitea.token };
    const sync = runCli(['webhooks', 'sync', '--config', file], env);
    t.equal(await sync.exited, 0, sync.output());
    const [hook] = (await gitea.api('GET', `/repos/${repo}/hooks`)).body as Obj[];
    t.same(
      [...hook!.events].sort(),
      ['pull_request', 'pull_request_comment', 'pull_request_label', 'pull_request_sync', 'push'],
      'the hook carries the events previews need',
    );

    const server: Running = runCli(['serve', '--config', file], env);
    t.teardown(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    await server.waitFor(/landfall web listening/, 60_000);
    const label = await gitea.api('POST', `/repos/${repo}/labels`, { name: 'preview', color: '#00aabb' });
    t.equal(label.status, 201, JSON.stringify(label.body).slice(0, 300));

    const configMap = async (ns: string) => client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', namespace: ns });

    await t.test('adding the label deploys the head into its own namespace and puts the URL on the pull request', async (t) => {
      const head = await local.commit(appFiles('first'), 'change', 'feature');
      const opened = await gitea.api('POST', `/repos/${repo}/pulls`, { head: 'feature', base: 'main', title: 'Feature' });
      t.equal(opened.status, 201, JSON.stringify(opened.body).slice(0, 300));
      const number = opened.body.number as number;
      const labelled = Date.now();
      t.equal((await gitea.api('POST', `/repos/${repo}/issues/${number}/labels`, { labels: [label.body.id] })).status, 200);
      const ready = await statusWhere(gitea, repo, head, 'success', (s) => s.status === 'success');
      t.comment(`preview ready ${Math.round((Date.now() - labelled) / 1000)} s after the label was added`);
      t.equal(ready.target_url, `http://pr-${number}.preview.test`, 'the status links to the preview');
      t.match(ready.description, /^Preview ready: http:\/\/pr-\d+\.preview\.test/);
      const ns = `pv-web-${number}`;
      t.match(
        await configMap(ns),
        { data: { host: `pr-${number}.preview.test`, note: 'first' } },
        'the objects are in the preview namespace, values substituted',
      );
      t.not(((await configMap(namespace)) as Obj | undefined)?.data?.note, 'first', "and the pull request's change is not in the app's own namespace");
      const comments = await until(
        'one preview comment',
        async () => ((await previewComments(gitea, repo, number)).length === 1 ? previewComments(gitea, repo, number) : undefined),
        WAIT,
      );
      t.match(comments[0]!.body, new RegExp(`Ready: http://pr-${number}\\.preview\\.test[\\s\\S]*${head.slice(0, 7)}`));

      const next = await local.commit({ 'deploy/settings.yaml': appFiles('second')['deploy/settings.yaml']! }, 'more', 'feature');
      await statusWhere(gitea, repo, next, 'success', (s) => s.status === 'success');
      t.equal(((await configMap(ns)) as Obj | undefined)?.data?.note, 'second', 'a push updates the preview');
      const edited = await until(
        'the comment edited in place',
        async () => {
          const all = await previewComments(gitea, repo, number);
          return all.length === 1 && String(all[0]!.body).includes(next.slice(0, 7)) ? all : undefined;
        },
        WAIT,
      );
      t.equal(edited.length, 1, 'still one comment');

      t.equal((await gitea.api('PATCH', `/repos/${repo}/pulls/${number}`, { state: 'closed' })).status, 201);
      await until('the preview namespace gone', async () => !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })), WAIT);
      await statusWhere(gitea, repo, next, 'removed', (s) => /^Preview removed/.test(String(s.description)));
      t.pass('closing the pull request removed its objects and namespace');
    });

    await t.test("a fork's pull request waits until a maintainer comments the exact commit", async (t) => {
      const login = `forker${randomBytes(3).toString('hex')}`;
      const password = `Pw-${randomBytes(8).toString('hex')}`;
      const user = await gitea.api('POST', '/admin/users', { username: login, email: `${login}@example.test`, password, must_change_password: false });
      t.equal(user.status, 201, JSON.stringify(user.body).slice(0, 300));
      const asForker = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${gitea.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`, 'content-type': 'application/json' },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, body: (await res.json().catch(() => undefined)) as Obj };
      };
      const fork = await asForker('POST', `/repos/${repo}/forks`, {});
      t.equal(fork.status, 202, JSON.stringify(fork.body).slice(0, 300));
      const forkUrl = new URL(`${gitea.url}/${fork.body.full_name}.git`);
      forkUrl.username = login;
      forkUrl.password = password;
      const forkClone = await createRepo(t, 'gitea-fork', { remote: forkUrl.toString() });
      await forkClone.commit(appFiles('main'), 'app');
      const head = await forkClone.commit(appFiles('from a fork'), 'fork change', 'fork-change');
      const opened = await asForker('POST', `/repos/${repo}/pulls`, { head: `${login}:fork-change`, base: 'main', title: 'From a fork' });
      t.equal(opened.status, 201, JSON.stringify(opened.body).slice(0, 300));
      const number = opened.body.number as number;
      t.equal((await gitea.api('POST', `/repos/${repo}/issues/${number}/labels`, { labels: [label.body.id] })).status, 200);
      const waiting = await statusWhere(gitea, repo, head, 'pending', (s) => s.status === 'pending');
      t.match(waiting.description, /approve/);
      t.notOk(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: `pv-web-${number}` }), 'no preview before approval');
      const said = await gitea.api('POST', `/repos/${repo}/issues/${number}/comments`, { body: `/landfall preview ${head}` });
      t.equal(said.status, 201);
      const ready = await statusWhere(gitea, repo, head, 'success', (s) => s.status === 'success');
      t.equal(ready.target_url, `http://pr-${number}.preview.test`);
      t.match(await configMap(`pv-web-${number}`), { data: { note: 'from a fork' } });
      t.equal((await gitea.api('PATCH', `/repos/${repo}/pulls/${number}`, { state: 'closed' })).status, 201);
      await until('the fork preview namespace gone', async () => !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: `pv-web-${number}` })), WAIT);
    });
  },
);
