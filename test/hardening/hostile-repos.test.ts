// A corpus of hostile repositories, each refused with a message naming the file, the cluster untouched.
import t from 'tap';
import type { FileSpec } from '../support/git.js';
import { configMap, syncHarness } from '../support/sync.js';

interface Case {
  name: string;
  files: Record<string, FileSpec>;
  app?: string;
  code: string;
  message: RegExp;
}

const cm = (name: string) => configMap(name);
const hundredThousand = Array.from({ length: 100_000 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c${i} }\n`).join('---\n');
const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join(
  '\n',
);

const CASES: Case[] = [
  { name: 'path escaping the checkout', files: { 'deploy/a.yaml': cm('a') }, app: ', path: "deploy/../../../etc"', code: 'CONFIG', message: /\.\./ },
  {
    name: 'a symlink to /etc/passwd',
    files: { 'deploy/a.yaml': cm('a'), 'deploy/passwd.yaml': { symlink: '/etc/passwd' } },
    code: 'SYMLINK_ESCAPES',
    message: /symlink deploy\/passwd\.yaml points outside the repository/,
  },
  {
    name: 'a symlinked directory out of the repository',
    files: { 'deploy/a.yaml': cm('a'), 'deploy/etc': { symlink: '/etc' } },
    code: 'SYMLINK_ESCAPES',
    message: /symlink deploy\/etc points outside/,
  },
  {
    name: 'a kustomize remote base',
    files: { 'deploy/kustomization.yaml': 'resources:\n  - https://github.com/evil/manifests//base?ref=main\n' },
    code: 'KUSTOMIZE_REMOTE',
    message: /deploy\/kustomization\.yaml: resources\[0\] .* is a remote base/,
  },
  {
    name: 'a kustomize ../ beyond the repository',
    files: { 'deploy/kustomization.yaml': 'resources:\n  - ../../../../../etc/kubernetes\n' },
    code: 'PATH_ESCAPES',
    message: /deploy\/kustomization\.yaml: resources\[0\] .* leaves the repository/,
  },
  {
    name: 'a Helm chart with a remote dependency',
    files: {
      'deploy/Chart.yaml':
        'apiVersion: v2\nname: x\nversion: 0.1.0\ndependencies:\n  - { name: redis, version: 1.0.0, repository: "https://charts.example.com" }\n',
      'deploy/templates/cm.yaml': cm('x'),
    },
    code: 'HELM_REMOTE_DEPENDENCY',
    message: /deploy\/Chart\.yaml: dependency "redis" comes from https:\/\/charts\.example\.com/,
  },
  {
    name: 'a YAML alias bomb',
    files: { 'deploy/bomb.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n${bomb.replace(/^/gm, '  ')}\n` },
    code: 'YAML_INVALID',
    message: /deploy\/bomb\.yaml#1: .*alias/i,
  },
  {
    name: '100,000 documents',
    files: { 'deploy/many.yaml': hundredThousand },
    code: 'TOO_MANY_OBJECTS',
    message: /more than 2000 objects rendered \(at deploy\/many\.yaml#2001\)/,
  },
  {
    name: 'an object aimed at kube-system',
    files: { 'deploy/a.yaml': cm('a'), 'deploy/evil.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: evil, namespace: kube-system }\n` },
    code: 'MANIFEST_INVALID',
    message: /deploy\/evil\.yaml#1: ConfigMap\/kube-system\/evil is in namespace "kube-system", which this app may not deploy to/,
  },
  {
    name: "an object aimed at another team's namespace",
    files: {
      'deploy/evil.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: evil, namespace: payments }\nspec: { selector: { matchLabels: { a: b } }, template: { metadata: { labels: { a: b } }, spec: { containers: [ { name: c, image: x } ] } } }\n`,
    },
    code: 'MANIFEST_INVALID',
    message: /deploy\/evil\.yaml#1: Deployment\/payments\/evil is in namespace "payments"/,
  },
  {
    name: 'a ClusterRoleBinding to cluster-admin',
    files: {
      'deploy/crb.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: me-admin }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects: [ { kind: ServiceAccount, name: default, namespace: web } ]\n',
    },
    code: 'MANIFEST_INVALID',
    message: /deploy\/crb\.yaml#1: ClusterRoleBinding\/me-admin is cluster-scoped, and this app may not change cluster-scoped objects/,
  },
  {
    name: 'an oversized object',
    files: { 'deploy/big.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\ndata:\n  blob: "${'x'.repeat(2_000_000)}"\n` },
    code: 'MANIFEST_INVALID',
    message: /deploy\/big\.yaml#1: ConfigMap big is 1\.9 MiB; Kubernetes refuses objects over 1\.5 MiB/,
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    if (c.code === 'CONFIG') {
      const { parseConfig } = await import('../../src/config/load.js');
      t.throws(
        () =>
          parseConfig(
            `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web${c.app} }\n`,
            {},
          ),
        { message: c.message },
        'refused before it can be used',
      );
      return;
    }
    const h = await syncHarness(t, c.app ?? ', path: deploy');
    await h.repo.commit(c.files);
    h.server.clearRequests();
    const record = await h.run();
    t.equal(record.result, 'failed');
    t.equal(record.error?.code, c.code);
    t.match(record.error?.message, c.message);
    t.equal(record.error?.transient, false, 'permanent: not retried');
    const writes = h.server.requests.filter((r) => r.method !== 'GET' && r.query.dryRun !== 'All');
    t.same(
      writes.map((r) => `${r.method} ${r.path}`),
      [],
      'the cluster is untouched',
    );
  });
}
