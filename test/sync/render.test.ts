// Checkout and render with real git, real kustomize (kubectl kustomize) and real helm.
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createGit } from '../../src/sync/checkout.js';
import { SyncError } from '../../src/sync/errors.js';
import { renderApp } from '../../src/sync/render/index.js';
import { findTools } from '../../src/sync/tools.js';
import { createRepo, type FileSpec } from '../support/git.js';

const tools = findTools();
const limits = { maxObjects: 200, maxBytes: 1_000_000, timeoutMs: 60_000 };

function app(extra = '') {
  return parseConfig(
    `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web${extra} }\n`,
    {},
  ).apps[0]!;
}

const cm = (name: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v${extra}\n`;

async function renderCommit(t: Test, files: Record<string, FileSpec>, appExtra = '', max = limits) {
  const repo = await createRepo(t);
  const sha = await repo.commit(files);
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const git = createGit({ dataDir, timeoutMs: 30_000 });
  const checkout = await git.checkout({ url: repo.url }, sha);
  t.teardown(() => checkout.dispose());
  return renderApp(checkout.dir, app(appExtra), max, tools);
}

async function refused(t: Test, files: Record<string, FileSpec>, code: string, message: RegExp, appExtra = '', max = limits) {
  const err = await renderCommit(t, files, appExtra, max).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, SyncError, 'refused with a SyncError');
  t.equal((err as SyncError).code, code);
  t.match((err as SyncError).message, message);
}

t.test('plain YAML: sorted files, multi-document, empty documents skipped, Lists expanded, dot-files ignored', async (t) => {
  const result = await renderCommit(
    t,
    {
      'deploy/b.yaml': `${cm('b1')}---\n---\n# only a comment\n---\n${cm('b2')}`,
      'deploy/a/z.yml': cm('az'),
      'deploy/c.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' } })),
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2' } },
        ],
      }),
      'deploy/.hidden/x.yaml': cm('hidden'),
      'deploy/README.md': '# not a manifest',
      'deploy/octal.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: octal }\nbinaryData: {}\nspec: { mode: 0644, flag: yes }\n',
      'other/ignored.yaml': cm('outside-path'),
    },
    ', path: deploy',
  );
  t.equal(result.mode, 'plain');
  t.same(
    result.objects.map((o) => [o.obj.metadata.name, o.source]),
    [
      ['az', 'deploy/a/z.yml#1'],
      ['b1', 'deploy/b.yaml#1'],
      ['b2', 'deploy/b.yaml#4'],
      ['c1', 'deploy/c.json#1.items[0]'],
      ['c2', 'deploy/c.json#1.items[1]'],
      ['octal', 'deploy/octal.yaml#1'],
    ],
  );
  t.same((result.objects[5]!.obj as any).spec, { mode: 420, flag: true }, 'YAML 1.1 like kubectl: 0644 is octal, yes is true');
});

t.test('Kustomize overlay with a base in the repository', async (t) => {
  const result = await renderCommit(
    t,
    {
      'base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'base/cm.yaml': cm('settings'),
      'overlays/prod/kustomization.yaml': 'resources: [../../base]\nnamePrefix: prod-\nnamespace: web\ncommonLabels: { env: prod }\n',
    },
    ', path: overlays/prod',
  );
  t.equal(result.mode, 'kustomize');
  t.equal(result.objects.length, 1);
  t.match(result.objects[0]!.obj, { kind: 'ConfigMap', metadata: { name: 'prod-settings', namespace: 'web', labels: { env: 'prod' } } });
  t.match(result.objects[0]!.source, /overlays\/prod \(kustomize\)#1/);
});

t.test('Helm chart with values files and values from the config', async (t) => {
  const result = await renderCommit(
    t,
    {
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/values.yaml': 'replicas: 1\nimage: nginx:1.25\ncolor: blue\n',
      'chart/templates/deploy.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web, color: {{ .Values.color }} } }\n    spec: { containers: [ { name: web, image: {{ .Values.image | quote }} } ] }\n',
      'chart/crds/widget.yaml':
        'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: widgets.example.com }\nspec: { group: example.com, names: { kind: Widget, plural: widgets }, scope: Namespaced, versions: [] }\n',
      'env/prod.yaml': 'replicas: 3\n',
    },
    ', path: chart, helm: { releaseName: frontend, valuesFiles: [env/prod.yaml], values: { color: green } }',
  );
  t.equal(result.mode, 'helm');
  const deploy = result.objects.find((o) => o.obj.kind === 'Deployment')!;
  t.match(deploy.obj, { metadata: { name: 'frontend', namespace: 'web' }, spec: { replicas: 3, template: { metadata: { labels: { color: 'green' } } } } });
  t.equal(deploy.source, 'chart/templates/deploy.yaml');
  t.ok(
    result.objects.find((o) => o.obj.kind === 'CustomResourceDefinition'),
    'CRDs from crds/ are included',
  );
});

t.test('hostile repositories are refused with a message naming the file', async (t) => {
  t.test('a symlink escaping the checkout', async (t) => {
    await refused(
      t,
      { 'deploy/cm.yaml': cm('a'), 'deploy/passwd.yaml': { symlink: '/etc/passwd' } },
      'SYMLINK_ESCAPES',
      /symlink deploy\/passwd\.yaml points outside the repository/,
      ', path: deploy',
    );
  });
  t.test('a symlink climbing out with ..', async (t) => {
    await refused(
      t,
      { 'deploy/cm.yaml': cm('a'), 'deploy/up': { symlink: '../../../..' } },
      'SYMLINK_ESCAPES',
      /symlink deploy\/up points outside/,
      ', path: deploy',
    );
  });
  t.test('a symlink inside the repository is fine', async (t) => {
    const result = await renderCommit(t, { 'shared/cm.yaml': cm('shared'), 'deploy/cm.yaml': { symlink: '../shared/cm.yaml' } }, ', path: deploy');
    t.equal(result.objects[0]?.obj.metadata.name, 'shared');
  });
  t.test('a path that does not exist', async (t) => {
    await refused(t, { 'deploy/cm.yaml': cm('a') }, 'PATH_MISSING', /path "nope" does not exist/, ', path: nope');
  });
  t.test('a kustomize remote base', async (t) => {
    await refused(
      t,
      { 'k/kustomization.yaml': 'resources:\n  - cm.yaml\n  - https://github.com/evil/base?ref=main\n', 'k/cm.yaml': cm('a') },
      'KUSTOMIZE_REMOTE',
      /k\/kustomization\.yaml: resources\[1\] "https:\/\/github\.com\/evil\/base\?ref=main" is a remote base/,
      ', path: k',
    );
  });
  t.test('a kustomize github.com shorthand base in a nested base', async (t) => {
    await refused(
      t,
      { 'k/kustomization.yaml': 'resources: [../b]\n', 'b/kustomization.yaml': 'resources: [github.com/evil/base]\n' },
      'KUSTOMIZE_REMOTE',
      /b\/kustomization\.yaml: resources\[0\]/,
      ', path: k',
    );
  });
  t.test('kustomize ../ beyond the repository', async (t) => {
    await refused(
      t,
      { 'k/kustomization.yaml': 'resources: [../../../etc]\n' },
      'PATH_ESCAPES',
      /k\/kustomization\.yaml: resources\[0\] "\.\.\/\.\.\/\.\.\/etc" leaves the repository/,
      ', path: k',
    );
  });
  t.test('kustomize helmCharts (which download)', async (t) => {
    await refused(
      t,
      { 'k/kustomization.yaml': 'helmCharts:\n  - name: x\n    repo: https://charts.example.com\n' },
      'KUSTOMIZE_REMOTE',
      /helmCharts download charts/,
      ', path: k',
    );
  });
  t.test('a Helm chart with a remote dependency', async (t) => {
    await refused(
      t,
      {
        'c/Chart.yaml':
          'apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n',
        'c/templates/x.yaml': cm('x'),
      },
      'HELM_REMOTE_DEPENDENCY',
      /c\/Chart\.yaml: dependency "redis" comes from https:\/\/charts\.example\.com/,
      ', path: c',
    );
  });
  t.test('a YAML alias bomb', async (t) => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    await refused(
      t,
      { 'deploy/bomb.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n${bomb.replace(/^/gm, '  ')}\n` },
      'YAML_INVALID',
      /deploy\/bomb\.yaml#1: .*alias/i,
      ', path: deploy',
    );
  });
  t.test('more objects than allowed', async (t) => {
    const many = Array.from({ length: 30 }, (_, i) => cm(`c${i}`)).join('---\n');
    await refused(t, { 'deploy/many.yaml': many }, 'TOO_MANY_OBJECTS', /more than 20 objects rendered \(at deploy\/many\.yaml#21\)/, ', path: deploy', {
      ...limits,
      maxObjects: 20,
    });
  });
  t.test('more bytes than allowed', async (t) => {
    await refused(t, { 'deploy/a.yaml': cm('a', 'x'.repeat(3000)) }, 'TOO_LARGE', /manifests exceed 2000 bytes \(at deploy\/a\.yaml\)/, ', path: deploy', {
      ...limits,
      maxBytes: 2000,
    });
  });
  t.test('a document that is not a mapping', async (t) => {
    await refused(
      t,
      { 'deploy/a.yaml': `${cm('a')}---\n- just\n- a list\n` },
      'MANIFEST_INVALID',
      /deploy\/a\.yaml#2: a document must be a Kubernetes object/,
      ', path: deploy',
    );
  });
  t.test('YAML that does not parse', async (t) => {
    await refused(t, { 'deploy/a.yaml': 'apiVersion: v1\nkind: [unclosed\n' }, 'YAML_INVALID', /deploy\/a\.yaml#1: /, ', path: deploy');
  });
});

t.test('checkout: exact sha, credentials only in the environment, working copy removed', async (t) => {
  const repo = await createRepo(t);
  const first = await repo.commit({ 'a.yaml': cm('first') });
  const second = await repo.commit({ 'a.yaml': cm('second') });
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // A git wrapper that records every argv and the auth header it was given, then runs git.
  const logFile = join(dataDir, 'git-calls.log');
  const wrapper = join(dataDir, 'git-wrapper.sh');
  await writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "ARGS: $*" "AUTH: $GIT_CONFIG_VALUE_0" >> ${logFile}\nexec git "$@"\n`);
  await chmod(wrapper, 0o755);
  const git = createGit({ dataDir, timeoutMs: 30_000, git: wrapper });
  const source = { url: repo.url, authorization: 'Bearer super-secret-token-value' };

  t.equal(await git.resolveBranch(source, 'main'), second);
  t.equal(await git.resolveBranch(source, 'nope'), undefined);
  const checkout = await git.checkout(source, first);
  t.equal(await readFile(join(checkout.dir, 'a.yaml'), 'utf8'), cm('first'), 'the older commit, exactly');
  const again = await git.checkout(source, second);
  t.equal(await readFile(join(again.dir, 'a.yaml'), 'utf8'), cm('second'));
  await checkout.dispose();
  await again.dispose();
  await t.rejects(readFile(join(checkout.dir, 'a.yaml')), 'working copy removed');

  const log = await readFile(logFile, 'utf8');
  const args = log.split('\n').filter((l) => l.startsWith('ARGS:'));
  t.ok(args.length >= 4, `${args.length} git calls recorded`);
  t.notOk(
    args.some((l) => l.includes('super-secret-token-value')),
    'the token is in no argument',
  );
  t.ok(log.includes('AUTH: Authorization: Bearer super-secret-token-value'), 'it reaches git through the environment');
  t.equal(await git.expandSha(source, second.slice(0, 12)), second, 'abbreviated shas expand once fetched');

  const missing = await git.checkout(source, 'f'.repeat(40)).catch((e: unknown) => e);
  t.type(missing, SyncError);
  t.notOk(String((missing as Error).message).includes('super-secret'), 'errors carry no credentials');
});
