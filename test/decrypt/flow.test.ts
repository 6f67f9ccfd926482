// Secrets in Git on the Kubernetes API test server (the same flow runs on the real control plane
// in test/real/kube/secrets.test.ts): an encrypted Secret, a kustomize secretGenerator fed by an
// encrypted .env and a Helm chart with an encrypted values file, all encrypted now by the real
// sops, deploy decrypted; no plaintext is anywhere else Landfall keeps or sends things.
import t from 'tap';
import { startFlow } from '../support/flow.js';
import { ageKeygen, realSopsSkip, sopsEncrypt } from '../support/real-sops.js';
import { everythingKept } from '../support/secret-scan.js';
import { deployment } from '../support/sync.js';

const skip = realSopsSkip();
const DB_PASSWORD = 'real-sops-db-password-5e1f';
const ENV_PASSWORD = 'real-sops-env-password-c27a';
const HELM_PASSWORD = 'real-sops-helm-password-9b04';
const b64 = (s: string) => Buffer.from(s).toString('base64');

t.test('an encrypted Secret, secretGenerator .env and Helm values deploy decrypted; the scan finds them nowhere else', { skip }, async (t) => {
  const key = await ageKeygen();
  const before = process.env.LANDFALL_AGE_KEY;
  process.env.LANDFALL_AGE_KEY = key.identity;
  t.teardown(() => (before === undefined ? delete process.env.LANDFALL_AGE_KEY : (process.env.LANDFALL_AGE_KEY = before)));
  const flow = await startFlow(t, 'github', '', {
    moreApps: ({ cloneUrl, namespace, repo }) =>
      `  - { name: web-chart, forge: github, repo: ${repo}, cloneUrl: "${cloneUrl}", branch: main, path: chart, namespace: ${namespace}, helm: { valuesFiles: [chart-secrets/values.yaml] }, decryption: { recipients: [${key.recipient}] } }`,
  });
  const age = [key.recipient];
  const c0 = await flow.repo.commit({
    'deploy/kustomization.yaml':
      'resources: [secret.yaml, web.yaml]\nsecretGenerator:\n  - name: app-env\n    envs: [app.env]\ngeneratorOptions: { disableNameSuffixHash: true }\n',
    'deploy/secret.yaml': await sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata: { name: db }\ntype: Opaque\nstringData:\n  password: ${DB_PASSWORD}\n`, {
      age,
      name: 'secret.yaml',
      args: ['--encrypted-regex', '^(data|stringData)$'],
    }),
    'deploy/app.env': await sopsEncrypt(`USER=app\nPASSWORD=${ENV_PASSWORD}\n`, { age, name: 'app.env' }),
    'deploy/web.yaml': deployment('web'),
    'chart/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\n',
    'chart/templates/secret.yaml':
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\nstringData:\n  password: {{ .Values.password | quote }}\n',
    'chart-secrets/values.yaml': await sopsEncrypt(`password: ${HELM_PASSWORD}\n`, { age, name: 'values.yaml' }),
  });
  await flow.push(c0);
  for (const context of ['landfall/web', 'landfall/web-chart']) {
    await flow.api.waitFor(() => ['success', 'failure', 'error'].includes(flow.api.statuses.latest(c0, context)?.state ?? ''), 180_000);
    t.equal(flow.api.statuses.latest(c0, context)?.state, 'success', `${context}: ${flow.api.statuses.latest(c0, context)?.description}`);
  }

  const data = async (name: string) =>
    (flow.kube.get({ apiVersion: 'v1', kind: 'Secret', name, namespace: 'web' }) as { data?: Record<string, string> } | undefined)?.data;
  t.same(await data('db'), { password: b64(DB_PASSWORD) }, 'the encrypted Secret, decrypted on the cluster');
  t.same(await data('app-env'), { USER: b64('app'), PASSWORD: b64(ENV_PASSWORD) }, 'the secretGenerator fed by the encrypted .env');
  t.same(await data('web-chart-creds'), { password: b64(HELM_PASSWORD) }, 'the chart rendered with the encrypted values file');

  const everything = await everythingKept(t, flow);
  everything['web-chart records'] = JSON.stringify(await flow.history.list('web-chart', 50));
  const secrets = { 'Secret value': DB_PASSWORD, '.env value': ENV_PASSWORD, 'Helm value': HELM_PASSWORD, 'age identity': key.identity };
  for (const [what, value] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries(everything)) {
      t.notOk(text.includes(value) || text.includes(b64(value)), `${what} is not in ${where}`);
    }
  }
});
