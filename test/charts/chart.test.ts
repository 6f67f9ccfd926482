// The Helm chart, Compose file and Dockerfile, checked with the real helm binary and offline
// Kubernetes schemas (kubernetes-models).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { findTools } from '../../src/sync/tools.js';
import { ROOT } from '../support/process.js';

/** The web role's V8 flags, as the chart's values set them (bench/landfall.ts reads the same). */
const WEB_NODE_OPTIONS = (parse(readFileSync(new URL('../../charts/landfall/values.yaml', import.meta.url), 'utf8')) as { web: { nodeOptions: string } }).web
  .nodeOptions;

const exec = promisify(execFile);
const helm = findTools().helm;
const CHART = `${ROOT}charts/landfall`;
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: '/tmp/landfall-helm/cache',
  HELM_CONFIG_HOME: '/tmp/landfall-helm/config',
  HELM_DATA_HOME: '/tmp/landfall-helm/data',
};

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: any;
}

async function render(...args: string[]): Promise<Obj[]> {
  const { stdout } = await exec(helm, ['template', 'lf', CHART, '--namespace', 'landfall', ...args], { env: helmEnv });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS())
    .filter(Boolean);
}

/** Validates an object against the Kubernetes schema of its kind, offline. */
async function validate(obj: Obj): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${obj.kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  const Model = (await import(module))[obj.kind];
  new Model(obj).validate();
}

function workloads(objects: Obj[]): Obj[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

t.test('helm lint passes', async (t) => {
  const { stdout } = await exec(helm, ['lint', CHART, '--strict'], { env: helmEnv });
  t.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  const { stdout: all } = await exec(helm, ['lint', CHART, '--strict', '-f', `${ROOT}test/data/chart-all-options.yaml`], { env: helmEnv });
  t.match(all, /0 chart\(s\) failed/);
});

for (const [label, args] of [
  ['default values', []],
  ['every option on', ['-f', `${ROOT}test/data/chart-all-options.yaml`]],
] as const) {
  t.test(`helm template with ${label}: valid Kubernetes objects, restricted and probed`, async (t) => {
    const objects = await render(...args);
    t.ok(objects.length >= 8, `${objects.length} objects`);
    for (const obj of objects) {
      try {
        await validate(obj);
        t.pass(`${obj.kind}/${obj.metadata.name} matches the ${obj.apiVersion} schema`);
      } catch (err) {
        t.fail(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
      }
    }
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['Deployment', 'Service', 'ConfigMap', 'ServiceAccount', 'PodDisruptionBudget', 'StatefulSet'])
      t.ok(kinds.has(kind), `renders a ${kind}`);
    const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-web'))!;
    const worker = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-worker'))!;
    t.same(web.spec.template.spec.containers[0].args, ['serve', '--role', 'web']);
    t.same(worker.spec.template.spec.containers[0].args, ['serve', '--role', 'worker']);
    const nodeOptions = (c: Obj) => c.spec.template.spec.containers[0].env?.find((e: { name: string }) => e.name === 'NODE_OPTIONS')?.value;
    t.equal(nodeOptions(web), WEB_NODE_OPTIONS, 'the web role runs with the heap sizing the memory benchmark measured');
    t.equal(nodeOptions(worker), undefined, "workers keep Node's defaults (they hold large renders)");
    t.equal(web.spec.replicas, label === 'default values' ? 2 : 3, 'web runs 2 replicas by default');
    for (const w of workloads(objects)) {
      const pod = w.spec.template.spec;
      t.equal(pod.securityContext.runAsNonRoot, true, `${w.metadata.name}: non-root`);
      for (const c of pod.containers) {
        t.match(
          c.securityContext,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          `${w.metadata.name}/${c.name}: restricted`,
        );
        t.ok(c.resources?.requests && c.resources?.limits, `${w.metadata.name}/${c.name}: resources`);
        t.ok(c.livenessProbe && c.readinessProbe, `${w.metadata.name}/${c.name}: probes`);
      }
    }
    const config = objects.find((o) => o.kind === 'ConfigMap')!;
    const landfallYaml = config.data['landfall.yaml'];
    const parsed = parseConfig(landfallYaml, { LANDFALL_FORGES__GITHUB__WEBHOOK_SECRET: 'from-the-secret-1' }, 'configmap');
    t.same(parsed.clusters, { default: { inCluster: true } }, 'in-cluster credentials by default');
    t.equal(parsed.worker.dataDir, '/var/lib/landfall');
    t.notMatch(JSON.stringify(objects), /from-the-secret|ghp_|glpat-/, 'no secrets in rendered objects');
  });
}

t.test('every option switched on', async (t) => {
  const objects = await render('-f', `${ROOT}test/data/chart-all-options.yaml`);
  const kinds = objects.map((o) => o.kind);
  for (const kind of ['Ingress', 'ServiceMonitor', 'ClusterRole', 'ClusterRoleBinding']) t.ok(kinds.includes(kind), kind);
  const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'landfall-web')!;
  t.same(web.spec.template.spec.containers[0].envFrom, [{ secretRef: { name: 'landfall-secrets' } }], 'secrets from an existing Secret');
  t.equal(web.spec.template.spec.containers[0].image, 'registry.example.com/landfall:1.2.3');
  t.equal(objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 2);
  const redis = objects.find((o) => o.kind === 'StatefulSet')!;
  t.match(redis.spec.template.spec.containers[0].args.join(' '), /--maxmemory-policy noeviction/);
  const external = await render('--set', 'redis.url=redis://redis.example.com:6379');
  t.notOk(
    external.some((o) => o.kind === 'StatefulSet'),
    'an external Redis replaces the bundled one',
  );
  t.match(external.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].env, [
    { name: 'LANDFALL_CONFIG' },
    { name: 'LANDFALL_REDIS__URL', value: 'redis://redis.example.com:6379' },
  ]);
});

t.test('listeners and sign-in: the Ingress publishes /hooks/ alone, secrets come from a Secret', async (t) => {
  const ingressPaths = (objects: Obj[]) =>
    objects.find((o) => o.kind === 'Ingress')!.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.port.name]);
  const hooksOnly = await render('--set', 'ingress.enabled=true');
  t.same(ingressPaths(hooksOnly), [['/hooks/', 'hooks']], 'by default only the webhooks are published');
  const web = hooksOnly.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-web'))!.spec.template.spec.containers[0];
  const worker = hooksOnly.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-worker'))!.spec.template.spec.containers[0];
  const env = (c: Obj) => Object.fromEntries(c.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
  t.match(env(web), {
    LANDFALL_SERVER__PORT: '8080',
    LANDFALL_SERVER__HOOKS_PORT: '8082',
    LANDFALL_SERVER__METRICS_PORT: '9090',
    LANDFALL_SERVER__AUTH__ANONYMOUS: 'none',
  });
  t.same(
    web.ports.map((p: any) => [p.name, p.containerPort]),
    [
      ['http', 8080],
      ['hooks', 8082],
      ['metrics', 9090],
    ],
  );
  t.same(
    worker.ports.map((p: any) => [p.name, p.containerPort]),
    [['http', 8081]],
    'workers are probed on their own port',
  );
  t.equal(env(worker).LANDFALL_WORKER__PROBE_PORT, '8081');
  t.notOk(
    web.env.some((e: any) => e.name.includes('SIGN_IN')),
    'no sign-in unless enabled',
  );

  const all = await render('-f', `${ROOT}test/data/chart-all-options.yaml`);
  t.same(
    ingressPaths(all),
    [
      ['/hooks/', 'hooks'],
      ['/', 'http'],
    ],
    'ingress.dashboard publishes the dashboard too',
  );
  const signIn = all
    .find((o) => o.kind === 'Deployment' && o.metadata.name === 'landfall-web')!
    .spec.template.spec.containers[0].env.filter((e: any) => e.name.includes('SIGN_IN'));
  t.same(
    signIn.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]),
    [
      ['LANDFALL_SERVER__AUTH__SIGN_IN__CLIENT_ID', 'landfall-signin', 'clientId'],
      ['LANDFALL_SERVER__AUTH__SIGN_IN__CLIENT_SECRET', 'landfall-signin', 'clientSecret'],
      ['LANDFALL_SERVER__AUTH__SIGN_IN__SESSION_SECRET', 'landfall-signin', 'sessionSecret'],
    ],
    'client id, secret and session secret from the Secret',
  );
  const allWorker = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'landfall-worker')!.spec.template.spec.containers[0];
  t.notOk(
    allWorker.env.some((e: any) => e.name.includes('SIGN_IN')),
    'workers never get the sign-in secrets',
  );
  const monitor = all.find((o) => o.kind === 'ServiceMonitor')!;
  t.equal(monitor.spec.endpoints[0].port, 'metrics', 'Prometheus scrapes the metrics port');
  const config = all.find((o) => o.kind === 'ConfigMap')!.data['landfall.yaml'];
  const vars = Object.fromEntries(
    all
      .find((o) => o.kind === 'Deployment' && o.metadata.name === 'landfall-web')!
      .spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? `secret-value-of-${e.name}-0123456789abcdef`]),
  );
  const parsed = parseConfig(config, { ...vars, LANDFALL_FORGES__GITHUB__WEBHOOK_SECRET: 'from-the-secret-1' }, 'configmap');
  t.match(
    parsed.server,
    { hooksPort: 8443, metricsPort: 9100, auth: { anonymous: 'none', signIn: { provider: 'github', url: 'https://github.example.com' } } },
    'the configuration Landfall reads',
  );

  // OpenID Connect: the issuer as a value, the group mapping in config.
  const oidc = await render(
    '--set',
    'auth.signIn.enabled=true,auth.signIn.provider=oidc,auth.signIn.issuer=https://id.example.com/realms/acme,auth.signIn.existingSecret=landfall-signin',
    '--set-json',
    'config.server.auth.groups=[{"group":"devs","access":"write"}]',
  );
  const oidcEnv = Object.fromEntries(
    oidc
      .find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-web'))!
      .spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? `secret-value-of-${e.name}-0123456789abcdef`]),
  );
  t.equal(oidcEnv.LANDFALL_SERVER__AUTH__SIGN_IN__ISSUER, 'https://id.example.com/realms/acme', 'the issuer reaches the web role');
  const oidcParsed = parseConfig(oidc.find((o) => o.kind === 'ConfigMap')!.data['landfall.yaml'], oidcEnv, 'configmap');
  t.match(
    oidcParsed.server.auth,
    { signIn: { provider: 'oidc', issuer: 'https://id.example.com/realms/acme' }, groups: [{ group: 'devs', access: 'write' }] },
    'Landfall reads OpenID Connect sign-in with its group mapping',
  );
});

t.test('age identities for SOPS: from a Secret, read-only, through LANDFALL_AGE_KEY_FILE; decrypted files in memory', async (t) => {
  const worker = (objects: Obj[]) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-worker'))!.spec.template.spec;
  const env = (pod: any) => Object.fromEntries(pod.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  const plain = worker(await render());
  t.equal(env(plain).LANDFALL_AGE_KEY_FILE, undefined, 'no identity unless a Secret is named');
  t.equal(env(plain).LANDFALL_DECRYPT_DIR, '/var/run/landfall-decrypt');
  t.same(plain.volumes.find((v: { name: string }) => v.name === 'decrypt').emptyDir.medium, 'Memory');
  const withKey = worker(await render('--set', 'worker.ageKeySecret.name=landfall-age'));
  t.equal(env(withKey).LANDFALL_AGE_KEY_FILE, '/etc/landfall/age/keys.txt');
  t.same(withKey.volumes.find((v: { name: string }) => v.name === 'age-keys').secret, {
    secretName: 'landfall-age',
    defaultMode: 0o440,
    items: [{ key: 'keys.txt', path: 'keys.txt' }],
  });
  t.same(
    withKey.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'age-keys'),
    { name: 'age-keys', mountPath: '/etc/landfall/age', readOnly: true },
  );
});

t.test('RBAC covers exactly what the configured apps need', async (t) => {
  const objects = await render('-f', `${ROOT}test/data/chart-all-options.yaml`);
  const roles = objects.filter((o) => o.kind === 'Role');
  t.same(
    roles.map((r) => r.metadata.namespace).sort(),
    ['api', 'platform', 'web', 'web-jobs'],
    'a Role in each app namespace and allowed namespace, nowhere else',
  );
  const bindings = objects.filter((o) => o.kind === 'RoleBinding');
  t.same(bindings.map((b) => b.metadata.namespace).sort(), ['api', 'platform', 'web', 'web-jobs']);
  for (const b of bindings) t.same(b.subjects, [{ kind: 'ServiceAccount', name: 'landfall-sa', namespace: 'landfall' }]);
  for (const r of roles) {
    for (const rule of r.rules) t.notOk(rule.resources.includes('*') || rule.verbs.includes('*') || rule.apiGroups.includes('*'), 'no wildcards');
    t.ok(
      r.rules.some((rule: any) => rule.resources.includes('configmaps') && rule.verbs.includes('patch')),
      'the inventory ConfigMap can be written',
    );
  }
  const cluster = objects.find((o) => o.kind === 'ClusterRole')!;
  t.ok(
    cluster.rules.some((r: any) => r.resources.includes('customresourcedefinitions')),
    'cluster-scoped kinds because platform sets allowClusterScoped',
  );

  // Without allowClusterScoped, createNamespace alone needs namespaces only.
  const onlyCreate = await render(
    '--set-json',
    'config.apps=[{"name":"api","forge":"github","repo":"acme/api","branch":"main","namespace":"api","createNamespace":true}]',
  );
  const narrow = onlyCreate.find((o) => o.kind === 'ClusterRole')!;
  t.same(narrow.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create', 'patch'] }]);
  // Namespaced apps only: no cluster-wide grant at all.
  const plain = await render('--set-json', 'config.apps=[{"name":"web","forge":"github","repo":"acme/web","branch":"main","namespace":"web"}]');
  t.notOk(
    plain.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'),
    'namespaced Roles by default, cluster-wide only when asked',
  );
  t.same(
    plain.filter((o) => o.kind === 'Role').map((r) => r.metadata.namespace),
    ['web'],
  );
  const wide = await render(
    '--set',
    'rbac.clusterWide=true',
    '--set-json',
    'config.apps=[{"name":"web","forge":"github","repo":"acme/web","branch":"main","namespace":"web"}]',
  );
  t.ok(
    wide.some((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-apps')),
    'rbac.clusterWide: one ClusterRole',
  );
  t.notOk(wide.some((o) => o.kind === 'Role'));
});

t.test('a wrong value fails at install time (values.schema.json)', async (t) => {
  for (const [args, message] of [
    [['--set', 'web.replicas=two'], /web\/replicas/],
    [['--set', 'redis.url=http://nope'], /redis\/url/],
    [['--set-json', 'config.apps=[{"name":"Web","forge":"github","repo":"a/b","branch":"main","namespace":"web"}]'], /config\/apps\/0\/name/],
    [['--set', 'unknownOption=1'], /additional properties 'unknownOption' not allowed/],
  ] as const) {
    const err = await render(...args).catch((e: { stderr?: string }) => e);
    t.match((err as { stderr?: string }).stderr, message, args.join(' '));
  }
});

t.test('docker-compose.yml: Redis as BullMQ needs it, one web and two workers, health checks, .env', async (t) => {
  const text = readFileSync(`${ROOT}docker-compose.yml`, 'utf8');
  const compose = parse(text, { merge: true });
  t.same(Object.keys(compose.services).sort(), ['redis', 'web', 'worker']);
  const redis = compose.services.redis;
  t.match(redis.command.join(' '), /--appendonly yes/);
  t.match(redis.command.join(' '), /--maxmemory-policy noeviction/);
  t.same(redis.volumes, ['redis-data:/data'], 'append-only file on a volume');
  t.ok(compose.volumes['redis-data'] !== undefined);
  t.same(compose.services.web.command, ['serve', '--role', 'web']);
  t.same(compose.services.worker.command, ['serve', '--role', 'worker']);
  t.equal(compose.services.worker.deploy.replicas, 2, 'two workers');
  t.equal(compose.services.web.environment.NODE_OPTIONS, WEB_NODE_OPTIONS, "the web role has the chart's heap sizing");
  t.equal(compose.services.web.environment.LANDFALL_CONFIG, '/etc/landfall/landfall.yaml', 'and keeps the shared environment');
  t.equal(compose.services.worker.environment.NODE_OPTIONS, undefined);
  for (const name of ['redis', 'web', 'worker']) {
    t.ok(compose.services[name].healthcheck?.test, `${name} has a health check`);
    t.equal(compose.services[name].restart, 'unless-stopped', `${name} restarts`);
  }
  for (const name of ['web', 'worker']) {
    const s = compose.services[name];
    t.equal(s.build, '.', `${name} is built from this repository's image`);
    t.ok(
      s.volumes.some((v: string) => v.endsWith(':/etc/landfall/landfall.yaml:ro')),
      `${name} mounts the config`,
    );
    t.ok(
      s.volumes.some((v: string) => v.endsWith(':/etc/landfall/kubeconfig:ro')),
      `${name} mounts a kubeconfig`,
    );
    t.same(s.env_file, [{ path: '.env', required: false }]);
  }
  const envExample = readFileSync(`${ROOT}.env.example`, 'utf8');
  for (const [, name] of text.matchAll(/\$\{([A-Z_]+)(?::-[^}]*)?\}/g)) t.match(envExample, new RegExp(`^${name}=`, 'm'), `.env.example lists ${name}`);
});

t.test('Dockerfile: multi-stage, pinned base, non-root, verified tools, no secrets, health check', async (t) => {
  const text = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
  t.ok(froms.length >= 3, 'multi-stage');
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1] ?? '';
  t.match(base, /^node:\d+\.\d+\.\d+-[a-z]+-slim$/, 'a pinned base image (exact version)');
  t.notMatch(text, /:latest\b/);
  t.match(text, /^USER 10001:10001$/m, 'runs as a non-root user');
  t.match(text, /sha256sum -c/, 'binaries are checksum-verified');
  t.match(text, /^ARG KUBECTL_SHA256=[0-9a-f]{64}$/m);
  t.match(text, /^ARG HELM_SHA256=[0-9a-f]{64}$/m);
  t.match(text, /^HEALTHCHECK .*\n?.*\/healthz/m, 'health check on /healthz');
  t.match(text, /^ENTRYPOINT .*"\/app\/dist\/main.js"\]\nCMD \["serve"\]$/m, 'landfall serve is the entry point');
  t.notMatch(text, /^(ENV|ARG)\s+\S*(SECRET|TOKEN|PASSWORD)\S*=/im, 'no secrets baked in');
  const ignore = readFileSync(`${ROOT}.dockerignore`, 'utf8');
  t.match(ignore, /^\.env$/m, '.env never enters the build context');
});
