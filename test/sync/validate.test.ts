// validateObjects: every problem of a render at once, with its file; defaults and labels applied.
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import type { ResourceInfo } from '../../src/kube/client.js';
import { SyncError } from '../../src/sync/errors.js';
import { validateObjects } from '../../src/sync/validate.js';

const config = (extra = '') =>
  parseConfig(
    `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web${extra} }\n`,
    {},
  );
const served: Record<string, ResourceInfo> = {
  'v1|ConfigMap': { plural: 'configmaps', namespaced: true, kind: 'ConfigMap' },
  'v1|Secret': { plural: 'secrets', namespaced: true, kind: 'Secret' },
  'v1|Namespace': { plural: 'namespaces', namespaced: false, kind: 'Namespace' },
  'rbac.authorization.k8s.io/v1|ClusterRole': { plural: 'clusterroles', namespaced: false, kind: 'ClusterRole' },
  'apps/v1|Deployment': { plural: 'deployments', namespaced: true, kind: 'Deployment' },
};
const lookup = async (v: string, k: string) => served[`${v}|${k}`];
const r = (obj: unknown, source = 'deploy/a.yaml#1') => ({ obj: obj as never, source });

t.test('defaults the namespace, labels every object, turns stringData into data', async (t) => {
  const app = config().apps[0]!;
  const desired = await validateObjects(
    [
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }),
      r({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 'v' } }, 'deploy/s.yaml#1'),
    ],
    app,
    lookup,
    'applyset-x-v1',
  );
  t.equal(desired[0]?.obj.metadata.namespace, 'web');
  t.same(desired[0]?.obj.metadata.labels, {
    'app.kubernetes.io/managed-by': 'landfall',
    'landfall.dev/app': 'web',
    'applyset.kubernetes.io/part-of': 'applyset-x-v1',
  });
  t.equal(desired[0]?.id, 'web_a__ConfigMap');
  t.same((desired[1]?.obj as any).data, { k: 'dg==' });
  t.notOk('stringData' in (desired[1]?.obj ?? {}));
});

t.test('every problem at once, each with its file', async (t) => {
  const app = config().apps[0]!;
  const err = await validateObjects(
    [
      r({ kind: 'ConfigMap', metadata: { name: 'a' } }, 'deploy/1.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, 'deploy/2.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } }, 'deploy/3.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod' } }, 'deploy/4.yaml#1'),
      r({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } }, 'deploy/5.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dup' } }, 'deploy/6.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dup' } }, 'deploy/6.yaml#2'),
      r({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }, 'deploy/7.yaml#1'),
      r({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l', labels: { n: 1 } } }, 'deploy/8.yaml#1'),
    ],
    app,
    lookup,
    'applyset-x-v1',
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SyncError);
  const e = err as SyncError;
  t.equal(e.code, 'MANIFEST_INVALID');
  t.equal(e.file, 'deploy/1.yaml#1');
  t.same(e.message.split('\n'), [
    '8 invalid objects:',
    'deploy/1.yaml#1: apiVersion is required',
    'deploy/2.yaml#1: ConfigMap has no metadata.name',
    'deploy/3.yaml#1: ConfigMap name "Bad_Name" is not a valid Kubernetes name',
    'deploy/4.yaml#1: ConfigMap/prod/x is in namespace "prod", which this app may not deploy to (allowedNamespaces: web)',
    'deploy/5.yaml#1: ClusterRole/r is cluster-scoped, and this app may not change cluster-scoped objects (set allowClusterScoped: true to allow it)',
    'deploy/6.yaml#2: ConfigMap/web/dup is also defined in deploy/6.yaml#1',
    'deploy/7.yaml#1: the cluster does not serve Widget in example.com/v1 (is its CRD installed, or the apiVersion misspelled?)',
    'deploy/8.yaml#1: metadata.labels must map strings to strings (quote numbers and booleans)',
  ]);
});

t.test('a namespace the app owns may be created; cluster-scoped kinds with allowClusterScoped drop a namespace they were given', async (t) => {
  const own = await validateObjects([r({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } })], config().apps[0]!, lookup, 'id');
  t.equal(own[0]?.namespaced, false);
  const allowed = await validateObjects(
    [r({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'web' } })],
    config(', allowClusterScoped: true').apps[0]!,
    lookup,
    'id',
  );
  t.notOk(allowed[0]?.obj.metadata.namespace, 'Helm-style namespace on a cluster-scoped object dropped');
});
