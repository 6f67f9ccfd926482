// `landfall plan` against the real control plane: the built CLI, a real git repository, the real
// API server's dry-run; nothing written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { auditedWrites, auditOffset, realKube, realKubeSkip } from '../../support/real-kube.js';
import { createRepo } from '../../support/git.js';
import { runCli } from '../../support/process.js';
import { configMap, deployment } from '../../support/sync.js';

const skip = realKubeSkip();

t.test('landfall plan prints the plan of a commit against the real cluster and writes nothing', { skip }, async (t) => {
  const kube = await realKube(t);
  const ns = await kube.namespace('plan-cli');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-plan-real-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const repo = await createRepo(t);
  await repo.commit({ 'deploy/cm.yaml': configMap('settings'), 'deploy/web.yaml': deployment('web') });
  await repo.commit({ 'deploy/web.yaml': deployment('web').replace('containerPort: 8080', 'containerPort: 8080, protocol: TCP, portz: 1') }, 'typo', 'typo');
  const config = join(dir, 'landfall.yaml');
  await writeFile(
    config,
    `forges: { github: { webhookSecret: test-webhook-secret } }\nclusters: { default: { kubeconfig: "${kube.kubeconfig}" } }\nworker: { dataDir: "${join(dir, 'data')}" }\napps:\n  - { name: web, forge: github, repo: acme/web, cloneUrl: "${repo.url}", branch: main, path: deploy, namespace: ${ns} }\n`,
  );
  const offset = kube.info ? auditOffset(kube.info) : 0;
  const ok = runCli(['plan', 'web', '--config', config]);
  t.equal(await ok.exited, 0, ok.output());
  t.match(ok.output(), /2 to create\./);
  const bad = runCli(['plan', 'web', '--ref', 'typo', '--config', config]);
  t.equal(await bad.exited, 1);
  t.match(bad.output(), /This change would not deploy\.\*\* Deployment \S+\/web dry-run failed: failed to create typed patch object/);
  t.equal(await kube.get('v1', 'ConfigMap', 'settings', ns), undefined, 'nothing created');
  if (kube.info)
    t.same(
      auditedWrites(kube.info, offset, (e) => e.objectRef?.namespace === ns).map((e) => e.requestURI),
      [],
      'the audit log has no write',
    );
});
