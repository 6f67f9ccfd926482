// Rendering a commit that holds SOPS-encrypted files, with real git, sops, age-keygen,
// kustomize and helm: what the renderers see is plaintext, in a private directory removed after.
import t, { type Test } from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { createKeyring } from '../../src/decrypt/keys.js';
import { createGit } from '../../src/sync/checkout.js';
import { SyncError } from '../../src/sync/errors.js';
import { renderApp } from '../../src/sync/render/index.js';
import { findTools } from '../../src/sync/tools.js';
import { createRepo, type FileSpec } from '../support/git.js';
import { ageKeygen, realSopsSkip, sopsEncrypt, type AgeKey } from '../support/real-sops.js';

const skip = realSopsSkip();
const tools = findTools();
const limits = { maxObjects: 200, maxBytes: 1_000_000, timeoutMs: 60_000 };

function app(extra = '') {
  return parseConfig(
    `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: web, forge: github, repo: acme/web, branch: main, namespace: web${extra} }\n`,
    {},
  ).apps[0]!;
}

async function render(t: Test, files: Record<string, FileSpec>, keys: AgeKey[], appExtra = '') {
  const repo = await createRepo(t);
  const sha = await repo.commit(files);
  const dataDir = await mkdtemp(join(tmpdir(), 'landfall-data-'));
  const workRoot = await mkdtemp(join(tmpdir(), 'landfall-decrypt-test-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  t.teardown(() => rm(workRoot, { recursive: true, force: true }));
  const git = createGit({ dataDir, timeoutMs: 30_000 });
  const checkout = await git.checkout({ url: repo.url }, sha);
  t.teardown(() => checkout.dispose());
  const decryption = { keys: createKeyring(keys.map((k, i) => ({ secret: k.identity, source: `key ${i}` }))), workRoot };
  const outcome = await renderApp(checkout.dir, app(appExtra), limits, tools, decryption).then(
    (result) => ({ result, err: undefined }),
    (err: unknown) => ({ result: undefined, err }),
  );
  t.same(await readdir(workRoot), [], 'no private directory is left');
  const left = await readdir(checkout.dir, { recursive: true });
  t.ok(left.length > 0, 'the checkout itself is untouched');
  return outcome;
}

const secretYaml = (name: string, value: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: Opaque\nstringData:\n  password: ${value}\n`;

t.test('plain manifests: an encrypted Secret renders with its plaintext, a plain ConfigMap as before', { skip }, async (t) => {
  const key = await ageKeygen();
  const enc = await sopsEncrypt(secretYaml('db', 'plain-db-password'), {
    age: [key.recipient],
    name: 'secret.yaml',
    args: ['--encrypted-regex', '^(data|stringData)$'],
  });
  const { result, err } = await render(
    t,
    { 'deploy/secret.yaml': enc, 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { k: v }\n' },
    [key],
    ', path: deploy',
  );
  t.error(err);
  const secret = result!.objects.find((o) => o.obj.kind === 'Secret')!;
  t.same((secret.obj as unknown as { stringData: unknown }).stringData, { password: 'plain-db-password' });
  t.equal((secret.obj as unknown as { sops?: unknown }).sops, undefined, 'no sops metadata reaches the cluster');
  t.equal(secret.source, 'deploy/secret.yaml#1', 'named by its file in the repository');
});

t.test('kustomize: a secretGenerator fed by an encrypted .env, and an encrypted resource', { skip }, async (t) => {
  const key = await ageKeygen();
  const env = await sopsEncrypt('USER=admin\nPASSWORD=plain-env-password\n', { age: [key.recipient], name: 'app.env' });
  const res = await sopsEncrypt(secretYaml('res', 'plain-resource-password'), { age: [key.recipient], name: 'res.yaml' });
  const { result, err } = await render(
    t,
    {
      'k/kustomization.yaml':
        'resources: [res.yaml]\nsecretGenerator:\n  - name: app\n    envs: [app.env]\ngeneratorOptions: { disableNameSuffixHash: true }\n',
      'k/app.env': env,
      'k/res.yaml': res,
    },
    [key],
    ', path: k',
  );
  t.error(err);
  const byName = new Map(
    result!.objects.map((o) => [o.obj.metadata.name, o.obj as unknown as { data?: Record<string, string>; stringData?: Record<string, string> }]),
  );
  t.same(byName.get('app')!.data, { USER: Buffer.from('admin').toString('base64'), PASSWORD: Buffer.from('plain-env-password').toString('base64') });
  t.same(byName.get('res')!.stringData, { password: 'plain-resource-password' });
});

t.test('helm: an encrypted values file named in helm.valuesFiles', { skip }, async (t) => {
  const key = await ageKeygen();
  const values = await sopsEncrypt('password: plain-helm-password\nreplicas: 2\n', { age: [key.recipient], name: 'secrets.yaml' });
  const { result, err } = await render(
    t,
    {
      'chart/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\n',
      'chart/templates/secret.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\nstringData:\n  password: {{ .Values.password | quote }}\n  replicas: {{ .Values.replicas | quote }}\n',
      'env/secrets.yaml': values,
    },
    [key],
    ', path: chart, helm: { valuesFiles: [env/secrets.yaml] }',
  );
  t.error(err);
  t.same((result!.objects[0]!.obj as unknown as { stringData: unknown }).stringData, { password: 'plain-helm-password', replicas: '2' });
});

t.test("a renderer's error that quotes a decrypted value has it cut out", { skip }, async (t) => {
  const key = await ageKeygen();
  const values = await sopsEncrypt('password: plain-helm-password-echoed\n', { age: [key.recipient], name: 'secrets.yaml' });
  const { err } = await render(
    t,
    {
      'chart/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\n',
      'chart/templates/secret.yaml': '{{ fail (printf "the password %s is too weak" .Values.password) }}\n',
      'env/secrets.yaml': values,
    },
    [key],
    ', path: chart, helm: { valuesFiles: [env/secrets.yaml] }',
  );
  t.ok(err instanceof Error, 'the render fails');
  const message = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : '';
  t.match(message, /the password \[redacted\] is too weak/, "helm's own words, the value cut out");
  t.notMatch(message, /plain-helm-password-echoed/, 'the plaintext is nowhere in the error');
});

t.test('failures name the file, leave nothing behind and are permanent', { skip }, async (t) => {
  const key = await ageKeygen();
  const other = await ageKeygen();
  const enc = await sopsEncrypt(secretYaml('db', 'plain-db-password'), { age: [other.recipient], name: 'secret.yaml' });
  const env = await sopsEncrypt('PASSWORD=plain-env-password\n', { age: [key.recipient], name: 'app.env' });
  const tampered = env.replace(/^PASSWORD=ENC\[AES256_GCM,data:(.)/m, (_m, c: string) => `PASSWORD=ENC[AES256_GCM,data:${c === 'A' ? 'B' : 'A'}`);

  const missing = await render(t, { 'deploy/secret.yaml': enc }, [key], ', path: deploy');
  t.type(missing.err, SyncError);
  t.equal((missing.err as SyncError).code, 'SOPS_NO_IDENTITY');
  t.equal((missing.err as SyncError).file, 'deploy/secret.yaml');
  t.equal((missing.err as SyncError).transient, false, 'not retried');
  t.match((missing.err as SyncError).message, `deploy/secret.yaml: no age identity for recipient ${other.recipient}`);

  const bad = await render(t, { 'k/kustomization.yaml': 'secretGenerator:\n  - name: app\n    envs: [app.env]\n', 'k/app.env': tampered }, [key], ', path: k');
  t.equal((bad.err as SyncError).code, 'SOPS_MAC_MISMATCH');
  t.equal((bad.err as SyncError).file, 'k/app.env');

  const limited = await render(t, { 'deploy/secret.yaml': enc }, [key, other], `, path: deploy, decryption: { recipients: [${key.recipient}] }`);
  t.equal((limited.err as SyncError).code, 'SOPS_NO_IDENTITY', 'apps[].decryption leaves the other identity out');

  const allowed = await render(t, { 'deploy/secret.yaml': enc }, [key, other], `, path: deploy, decryption: { recipients: [${other.recipient}] }`);
  t.error(allowed.err);

  const helmFails = await render(
    t,
    {
      'chart/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\n',
      'chart/templates/x.yaml': '{{ fail "broken chart" }}\n',
      'env/s.yaml': await sopsEncrypt('a: plain-a\n', { age: [key.recipient], name: 's.yaml' }),
    },
    [key],
    ', path: chart, helm: { valuesFiles: [env/s.yaml] }',
  );
  t.equal((helmFails.err as SyncError).code, 'HELM_FAILED', 'a renderer failing after decryption');
});
