// `landfall plan APP [--ref REF]`: the built CLI prints the plan a pull request gets and exits 0
// when the deploy would go through, 1 when it would not; it writes nothing anywhere.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createRepo } from '../support/git.js';
import { startKubeApiServer } from '../support/kube-api/index.js';
import { runCli } from '../support/process.js';
import { configMap } from '../support/sync.js';

t.test('plans the branch head, a branch and a tag; a broken manifest exits 1 with the reason', async (t) => {
  const server = await startKubeApiServer();
  t.teardown(() => server.stop());
  server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
  server.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'web', labels: { 'app.kubernetes.io/managed-by': 'landfall', 'landfall.dev/app': 'web' } },
    data: { color: 'blue' },
  });
  const dir = await mkdtemp(join(tmpdir(), 'landfall-plan-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: { server: "${server.url}", insecure-skip-tls-verify: true }\nusers:\n- name: test\n  user: { token: test-token }\ncontexts:\n- name: test\n  context: { cluster: test, user: test }\ncurrent-context: test\n`,
  );
  const repo = await createRepo(t);
  await repo.commit({ 'deploy/cm.yaml': configMap('settings', { color: 'green' }), 'deploy/new.yaml': configMap('new') });
  await repo.commit({ 'deploy/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { labels: { a: b } }\n' }, 'broken', 'broken');
  const config = join(dir, 'landfall.yaml');
  await writeFile(
    config,
    `forges: { github: { webhookSecret: test-webhook-secret } }\nclusters: { default: { kubeconfig: "${kubeconfig}" } }\nworker: { dataDir: "${join(dir, 'data')}" }\napps:\n  - { name: web, forge: github, repo: acme/web, cloneUrl: "${repo.url}", branch: main, path: deploy, namespace: web }\n`,
  );
  const before = server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All').length;

  const head = runCli(['plan', 'web', '--config', config]);
  t.equal(await head.exited, 0, head.output());
  t.match(head.output(), /^Plan for web at main \([0-9a-f]{7}\)\n\n1 to create, 1 to change\./);
  t.match(head.output(), /\*\*To change\*\* \(1\)\n- ConfigMap `web\/settings`: `data\.color`/);
  t.match(head.output(), /deploys to `default\/web` when merged/);

  const branch = runCli(['plan', 'web', '--ref', 'broken', '--config', config]);
  t.equal(await branch.exited, 1, 'a deploy that would not go through exits 1');
  t.match(branch.output(), /\*\*This change would not deploy\.\*\* deploy\/bad\.yaml#1: ConfigMap has no metadata\.name/);

  await repo.tag('v1.0.0', 'main');
  const tag = runCli(['plan', 'web', '--ref', 'v1.0.0', '--config', config]);
  t.equal(await tag.exited, 0, tag.output());
  t.match(tag.output(), /^Plan for web at v1\.0\.0 /);

  const missing = runCli(['plan', 'web', '--ref', 'nope', '--config', config]);
  t.equal(await missing.exited, 1);
  t.match(missing.output(), 'nope is neither a branch, a tag nor a full commit hash of acme/web');
  const unknown = runCli(['plan', 'shop', '--config', config]);
  t.equal(await unknown.exited, 1);
  t.match(unknown.output(), 'no app named "shop" (configured: web)');

  const after = server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All').length;
  t.equal(after, before, 'no write reached the cluster');
});
