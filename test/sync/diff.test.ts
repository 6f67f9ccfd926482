// Field-path diffs between two server answers (a dry-run and a GET).
import t from 'tap';
import type { KubeObject } from '../../src/kube/refs.js';
import { changedPaths, normalize } from '../../src/sync/diff.js';

const pod = (mounts: { name: string; mountPath: string; subPath?: string }[], image = 'web:1'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', resourceVersion: '7', generation: 2, managedFields: [{ manager: 'landfall' }] },
  spec: { template: { spec: { containers: [{ name: 'web', image, volumeMounts: mounts }] } } },
  status: { replicas: 2 },
});

t.test('items that share a name are compared where the server put them, not collapsed by name', async (t) => {
  const mounts = [
    { name: 'config', mountPath: '/etc/app/a.conf', subPath: 'a.conf' },
    { name: 'config', mountPath: '/etc/app/b.conf', subPath: 'b.conf' },
  ];
  t.same(changedPaths(pod(mounts), pod(structuredClone(mounts))), [], 'the same answer twice is unchanged');
  const changed = structuredClone(mounts);
  changed[1]!.subPath = 'c.conf';
  t.same(
    changedPaths(pod(changed), pod(mounts)),
    ['spec.template.spec.containers[name=web].volumeMounts[1].subPath'],
    'a change to the second of two same-named items is seen',
  );
  t.same(
    changedPaths(pod([mounts[1]!, mounts[0]!]), pod(mounts)),
    [
      'spec.template.spec.containers[name=web].volumeMounts[0].mountPath',
      'spec.template.spec.containers[name=web].volumeMounts[0].subPath',
      'spec.template.spec.containers[name=web].volumeMounts[1].mountPath',
      'spec.template.spec.containers[name=web].volumeMounts[1].subPath',
    ],
    'another order is a change: the apply would write it',
  );
  t.same(changedPaths(pod(mounts.slice(0, 1)), pod(mounts)), ['spec.template.spec.containers[name=web].volumeMounts'], 'a removed item: the list');
});

t.test('unique names label list items; values never appear', async (t) => {
  t.same(changedPaths(pod([], 'web:2'), pod([], 'web:1')), ['spec.template.spec.containers[name=web].image']);
  const secret = (v: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: v } });
  const paths = changedPaths(secret('c2VjcmV0LTI='), secret('c2VjcmV0LTE='));
  t.same(paths, ['data.password']);
  t.notMatch(JSON.stringify(paths), /c2Vj/, 'no value in the output');
});

t.test('status and server-owned metadata are never a difference', async (t) => {
  const a = pod([]);
  const b = { ...pod([]), status: { replicas: 5 }, metadata: { ...pod([]).metadata, resourceVersion: '99', generation: 3, managedFields: [] } };
  t.same(changedPaths(a, b), []);
  t.notOk('status' in normalize(a));
});
