// What kubectl makes of Landfall's inventory: an ApplySet parent (KEP-3659) that kubectl's own
// ApplySet code reads, lists members of, and refuses to prune with, since another tool owns it.
import t from 'tap';
import { realKube, realKubeSkip } from '../../support/real-kube.js';
import { configMap, realSyncHarness } from '../../support/sync.js';

const skip = realKubeSkip();
// kubectl's ApplySet support is still behind this switch in 1.36.
const APPLYSET = { KUBECTL_APPLYSET: 'true' };

t.test("kubectl reads Landfall's ApplySet parent and will not prune with it", { skip }, async (t) => {
  const kube = await realKube(t);
  const h = await realSyncHarness(t, kube, ', path: deploy');
  const ns = h.namespace;
  const sha = await h.repo.commit({ 'deploy/a.yaml': configMap('a'), 'deploy/b.yaml': configMap('b') });
  const record = await h.run({ sha });
  t.equal(record.result, 'succeeded', record.error?.message ?? '');

  const parent = await kube.get('v1', 'ConfigMap', 'landfall.web', ns);
  const id = parent?.metadata.labels?.['applyset.kubernetes.io/id'];
  t.match(id, /^applyset-[A-Za-z0-9_-]{43}-v1$/, 'an ApplySet id in the KEP format');
  t.equal(parent?.metadata.annotations?.['applyset.kubernetes.io/tooling'], 'landfall/v1');
  t.equal(parent?.metadata.annotations?.['applyset.kubernetes.io/contains-group-kinds'], 'ConfigMap');

  // Members carry the part-of label kubectl selects on.
  const members = await kube.kubectl(['get', 'configmaps', '-n', ns, '-l', `applyset.kubernetes.io/part-of=${id}`, '-o', 'name']);
  t.equal(members.code, 0, members.stderr);
  t.same(members.stdout.trim().split('\n').sort(), ['configmap/a', 'configmap/b'], "kubectl lists the set's members by its label");

  // kubectl computes the same id for this parent, so it recognises the set as one ApplySet, and
  // refuses to act on it because another tool manages it.
  const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: ${ns} }\ndata: { k: v }\n`;
  const prune = await kube.kubectl(['apply', '--server-side', '--prune', `--applyset=configmaps/landfall.web`, '-n', ns, '-f', '-'], {
    input: manifest,
    env: APPLYSET,
  });
  t.not(prune.code, 0, 'kubectl refuses');
  t.equal(
    prune.stderr.trim(),
    'error: ApplySet parent object "configmaps./landfall.web" already exists and is managed by tooling "landfall" instead of "kubectl"',
    'word for word',
  );
  t.ok(await kube.get('v1', 'ConfigMap', 'b', ns), 'nothing was pruned');
});
