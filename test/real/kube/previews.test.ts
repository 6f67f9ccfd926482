// Pull-request previews on the real control plane: the scenarios the test server runs too
// (test/support/preview-scenarios.ts), then what only a real API server answers: Pod Security
// admission refusing a privileged Pod in a preview namespace with its reason, and the preview's
// restricted identity, which can write its own namespace and nothing else.
import t from 'tap';
import { KubeApiError } from '../../../src/kube/errors.js';
import { previewServiceAccountUser } from '../../../src/previews/scaffold.js';
import { previewHarness } from '../../support/previews.js';
import { appFiles, previewScenarios } from '../../support/preview-scenarios.js';
import { realKube, realKubeSkip } from '../../support/real-kube.js';

const skip = realKubeSkip();

t.test('previews on the real control plane', { skip, timeout: 900_000 }, async (t) => {
  const kube = await realKube(t);
  await previewScenarios(t, kube);

  await t.test("the API server's Pod Security admission refuses a privileged Pod; the preview's identity writes its namespace only", async (t) => {
    const h = await previewHarness(t, '', kube);
    await h.sync.repo.commit(appFiles('main'), 'app');
    const sha = await h.sync.repo.commit(appFiles('psa'), 'psa', 'psa');
    h.open(21, sha, 'psa');
    t.equal(await h.run(21, 'opened'), 'deployed');
    const ns = (await h.store.get('web', 21))!.namespace;
    t.teardown(() => kube.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined));
    const privileged = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'root', namespace: ns },
      spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
    };
    const refused = await kube.client.apply(privileged, { fieldManager: 'test', dryRun: true }).catch((err: unknown) => err);
    t.ok(refused instanceof KubeApiError, 'refused');
    t.match((refused as Error).message, /violates PodSecurity "restricted:latest": privileged/, 'with the reason the API server gives');

    const preview = kube.client.impersonating(previewServiceAccountUser(ns));
    const inside = await preview.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'written-by-preview', namespace: ns }, data: { a: 'b' } },
      { fieldManager: 'test', dryRun: true },
    );
    t.equal(inside.metadata.name, 'written-by-preview', 'its own namespace: allowed');
    const outside = await preview
      .apply(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'escape', namespace: h.namespace }, data: { a: 'b' } },
        { fieldManager: 'test', dryRun: true },
      )
      .catch((err: unknown) => err);
    t.ok(outside instanceof KubeApiError && outside.status === 403, `another namespace: forbidden (${String(outside)})`);
    const binding = await preview
      .apply(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'preview-escalates' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
        },
        { fieldManager: 'test', dryRun: true },
      )
      .catch((err: unknown) => err);
    t.ok(binding instanceof KubeApiError && binding.status === 403, 'a cluster-wide binding: forbidden');
  });
});
