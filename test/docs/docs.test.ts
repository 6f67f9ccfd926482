// The documentation stays true to the code.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load.js';
import { KNOWN_KEYS } from '../../src/config/schema.js';
import { ROOT } from '../support/process.js';

const example = readFileSync(`${ROOT}landfall.example.yaml`, 'utf8');
const readme = readFileSync(`${ROOT}README.md`, 'utf8');
const envExample = readFileSync(`${ROOT}.env.example`, 'utf8');

t.test('landfall.example.yaml is a valid configuration once its variables are set', async (t) => {
  const vars = [...new Set([...example.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!))].filter((v) => v !== 'VAR');
  const env = Object.fromEntries(
    vars.map((v) => [
      v,
      v === 'GITLAB_SIGNING_TOKEN' ? `whsec_${Buffer.alloc(32, 3).toString('base64')}` : v.endsWith('_URL') ? `https://example.com/${v}` : `value-of-${v}`,
    ]),
  );
  const config = parseConfig(example, env, 'landfall.example.yaml');
  t.equal(config.apps[0]?.name, 'guestbook');
  for (const v of vars) t.match(envExample, new RegExp(`^${v}=`, 'm'), `.env.example lists ${v}`);
});

t.test('every configuration key is documented in the example and the README', async (t) => {
  for (const key of KNOWN_KEYS) {
    t.match(example, new RegExp(`\\b${key}\\b`), `example mentions ${key}`);
    t.match(readme, new RegExp(`\\b${key}\\b`), `README mentions ${key}`);
  }
});

t.test('the README shows the two set-up commands', async (t) => {
  t.match(readme, /npm ci && npm start/);
  t.match(readme, /npm test/);
});

t.test('docs/minikube.md: its values install, and its secret names configure Landfall', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { parseAllDocuments } = await import('yaml');
  const { findTools } = await import('../../src/sync/tools.js');
  const doc = readFileSync(`${ROOT}docs/minikube.md`, 'utf8');
  const values = /cat > landfall-values\.yaml <<YAML\n([\s\S]+?)\nYAML/.exec(doc)?.[1];
  t.ok(values, 'the walkthrough writes a values file');
  const dir = mkdtempSync(`${tmpdir()}/landfall-doc-`);
  writeFileSync(`${dir}/values.yaml`, values!.replaceAll('$PUBLIC_URL', 'https://tunnel.example.com').replaceAll('$GH_USER', 'octocat'));
  const { stdout } = await promisify(execFile)(
    findTools().helm,
    ['template', 'landfall', `${ROOT}charts/landfall`, '--namespace', 'landfall', '-f', `${dir}/values.yaml`],
    {
      env: { ...process.env, HELM_CACHE_HOME: `${dir}/c`, HELM_CONFIG_HOME: `${dir}/g`, HELM_DATA_HOME: `${dir}/d` },
    },
  );
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS())
    .filter(Boolean);
  const configMap = objects.find((o: any) => o.kind === 'ConfigMap');
  const secretNames = [...doc.matchAll(/--from-literal=(LANDFALL_[A-Z_]+)=/g)].map((m) => m[1]!);
  t.same(secretNames.sort(), ['LANDFALL_FORGES__GITHUB__TOKEN', 'LANDFALL_FORGES__GITHUB__WEBHOOK_SECRET', 'LANDFALL_SERVER__API_TOKENS']);
  const env = Object.fromEntries(secretNames.map((n) => [n, `value-for-${n.toLowerCase()}`]));
  const config = parseConfig(configMap.data['landfall.yaml'], env, 'configmap');
  t.match(config.apps[0], { name: 'guestbook', repo: 'octocat/guestbook', namespace: 'guestbook', createNamespace: true });
  t.same(config.forges.github?.webhookSecret, ['value-for-landfall_forges__github__webhook_secret']);
  t.ok(
    objects.some((o: any) => o.kind === 'ClusterRole' && o.rules.some((r: any) => r.resources.includes('namespaces'))),
    'createNamespace gets its namespace rights',
  );
});
