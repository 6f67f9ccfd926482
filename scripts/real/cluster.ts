/**
 * A real Kubernetes control plane for the tests, from binaries built by scripts/real/build.sh:
 * etcd, a TLS kube-apiserver with RBAC, kube-controller-manager, kube-scheduler, and kwok playing
 * the kubelet for fake nodes (real/kwok/stages.yaml). Every process runs on free loopback ports
 * and is stopped by pid.
 *
 *   npm run cluster -- up      start (or reuse the running one), print where it is
 *   npm run cluster -- env     print `export LANDFALL_E2E_KUBECONFIG=...` for a shell
 *   npm run cluster -- status  is it up?
 *   npm run cluster -- down    stop every process it started, remove its files
 *
 * State lives under `$LANDFALL_REAL_RUN` (default ~/.cache/landfall/run), one folder per
 * checkout, so two checkouts on one machine never share or stop each other's cluster.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (this file is scripts/real/cluster.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where a running control plane's files live. */
export function clusterStateDir(): string {
  const base = process.env.LANDFALL_REAL_RUN ?? join(homedir(), '.cache', 'landfall', 'run');
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 8);
  return join(base, `cluster-${checkout}`);
}

/** What `up` leaves behind for tests and people. */
export interface ClusterInfo {
  /** `v1.36.3`, as the API server reports it. */
  version: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** An admin kubeconfig (system:masters, token auth). */
  kubeconfig: string;
  /** The admin bearer token. */
  token: string;
  /** PEM of the cluster CA. */
  caFile: string;
  /** Service-account signing key (for minting tokens outside the API, rarely needed). */
  dir: string;
  /** Audit log of every write (JSON lines, level Metadata). */
  auditLog: string;
  pids: Record<string, number>;
  startedAt: string;
  /** How the binaries came to be: "built in N s" or "cached". */
  build: string;
}

/** The state of a control plane that is up, or undefined. */
export function readCluster(dir = clusterStateDir()): ClusterInfo | undefined {
  const file = join(dir, 'cluster.json');
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
  return Object.values(info.pids).every(alive) ? info : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds (or finds cached) binaries for a component; returns its folder and the build line. */
async function ensureBuilt(name: string): Promise<{ dir: string; line: string }> {
  const script = join(REPO_ROOT, 'scripts/real/build.sh');
  const { stdout } = await run(script, [name], { maxBuffer: 16 * 1024 * 1024, timeout: 90 * 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
  const dir = (await run(script, ['dir', name])).stdout.trim();
  return { dir, line };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/** A CA, a serving certificate for 127.0.0.1 and the in-cluster names, and a service-account key. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=landfall-test-ca'],
    dir,
  );
  const san =
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local';
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver', '-addext', san], dir);
  writeFileSync(join(dir, 'server.ext'), `${san}\nextendedKeyUsage=serverAuth\n`);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '3650',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
}

/** Audit every write at Metadata level (the URI shows dryRun), nothing else. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

function kubeconfigFor(server: string, ca: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: landfall-test
    cluster:
      server: ${server}
      certificate-authority-data: ${Buffer.from(ca).toString('base64')}
users:
  - name: admin
    user:
      token: ${token}
contexts:
  - name: landfall-test
    context: { cluster: landfall-test, user: admin, namespace: default }
current-context: landfall-test
`;
}

function start(name: string, bin: string, args: string[], dir: string, pids: Record<string, number>): void {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
  if (!child.pid) throw new Error(`${name} did not start`);
  child.unref();
  pids[name] = child.pid;
  writeFileSync(join(dir, 'pids.json'), JSON.stringify(pids));
}

/** One HTTPS request to the API server as admin. */
export function apiRequest(
  info: Pick<ClusterInfo, 'server' | 'token' | 'caFile'>,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; text: string }> {
  return new Promise((resolveRequest, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(path, info.server),
      {
        method,
        ca: readFileSync(info.caFile),
        timeout: 10_000,
        headers: { Authorization: `Bearer ${info.token}`, Accept: 'application/json', ...(payload ? { 'Content-Type': contentType } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveRequest({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Polls until `probe` is true; fails with the process's log tail when it never is. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = logFile && existsSync(logFile) ? `\n--- ${logFile} (last lines)\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}` : '';
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last})` : ''}${tail}`);
}

function httpGetOk(url: string): Promise<boolean> {
  return fetch(url).then((r) => r.ok);
}

/** Starts the control plane, or returns the one already running for this checkout. */
export async function clusterUp(options: { log?: (line: string) => void } = {}): Promise<ClusterInfo> {
  const say = options.log ?? ((line: string) => console.log(line));
  const dir = clusterStateDir();
  const existing = readCluster(dir);
  if (existing) {
    say(`control plane already running: ${existing.server} (kubernetes ${existing.version})`);
    return existing;
  }
  await clusterDown({ quiet: true });

  const builds = await Promise.all(['etcd', 'kube', 'kwok'].map(async (name) => [name, await ensureBuilt(name)] as const));
  const bins = Object.fromEntries(builds.map(([name, b]) => [name, join(b.dir, 'bin')]));
  const buildLines = builds.map(([, b]) => b.line);
  for (const line of buildLines) say(line);
  const kubeBuilt = builds.find(([n]) => n === 'kube')?.[1].line ?? '';
  const build = /cached/.test(kubeBuilt)
    ? 'cached'
    : /built in (\d+ s)/.exec(kubeBuilt)?.[1]
      ? `built in ${/built in (\d+ s)/.exec(kubeBuilt)?.[1]}`
      : 'unknown';

  mkdirSync(dir, { recursive: true });
  const pids: Record<string, number> = {};
  try {
    await makeCertificates(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},landfall-admin,landfall-admin,"system:masters"\n`);
    writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    start(
      'etcd',
      join(bins.etcd!, 'etcd'),
      [
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      dir,
      pids,
    );
    await until('etcd /health', () => httpGetOk(`http://127.0.0.1:${etcdClient}/health`), 60_000, join(dir, 'etcd.log'));

    const server = `https://127.0.0.1:${apiPort}`;
    start(
      'kube-apiserver',
      join(bins.kube!, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'certs')}`,
        '--tls-cert-file=server.crt',
        '--tls-private-key-file=server.key',
        '--client-ca-file=ca.crt',
        '--token-auth-file=tokens.csv',
        '--authorization-mode=Node,RBAC',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-account-key-file=sa.key',
        '--service-account-signing-key-file=sa.key',
        '--allow-privileged=true',
        // Fairness queues cost CPU a two-core test machine needs elsewhere.
        '--enable-priority-and-fairness=false',
        '--audit-policy-file=audit-policy.yaml',
        `--audit-log-path=${join(dir, 'audit.log')}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--v=0',
      ],
      dir,
      pids,
    );
    const info: ClusterInfo = {
      version: '',
      server,
      kubeconfig: join(dir, 'admin.kubeconfig'),
      token,
      caFile: join(dir, 'ca.crt'),
      dir,
      auditLog: join(dir, 'audit.log'),
      pids,
      startedAt: new Date().toISOString(),
      build,
    };
    await until('kube-apiserver /readyz', async () => (await apiRequest(info, 'GET', '/readyz')).status === 200, 180_000, join(dir, 'kube-apiserver.log'));
    info.version = (JSON.parse((await apiRequest(info, 'GET', '/version')).text) as { gitVersion: string }).gitVersion;
    writeFileSync(info.kubeconfig, kubeconfigFor(server, readFileSync(info.caFile, 'utf8'), token), { mode: 0o600 });

    start(
      'kube-controller-manager',
      join(bins.kube!, 'kube-controller-manager'),
      [
        `--kubeconfig=${info.kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--service-account-private-key-file=sa.key',
        '--root-ca-file=ca.crt',
        '--use-service-account-credentials=false',
        // kwok renews fake nodes' leases; the lifecycle controller would still taint them after
        // a slow moment of this machine and evict every pod, which no test wants.
        '--controllers=*,-node-lifecycle-controller',
        // Seconds, not the default 15 s: tests wait on the HPA controller.
        '--horizontal-pod-autoscaler-sync-period=1s',
        '--v=0',
      ],
      dir,
      pids,
    );
    start(
      'kube-scheduler',
      join(bins.kube!, 'kube-scheduler'),
      [`--kubeconfig=${info.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=0'],
      dir,
      pids,
    );
    start(
      'kwok',
      join(bins.kwok!, 'kwok'),
      [
        `--kubeconfig=${info.kubeconfig}`,
        `--config=${join(REPO_ROOT, 'real/kwok/stages.yaml')}`,
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--node-lease-duration-seconds=40',
        '--cidr=10.244.0.0/16',
        '--node-ip=127.0.0.1',
        '--server-address=',
      ],
      dir,
      pids,
    );

    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'kwok-node-0',
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': 'kwok-node-0', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
      },
      spec: {},
    };
    await until('the fake node to be created', async () => [201, 409].includes((await apiRequest(info, 'POST', '/api/v1/nodes', node)).status), 60_000);
    await until(
      'the fake node to be Ready',
      async () => {
        const res = await apiRequest(info, 'GET', '/api/v1/nodes/kwok-node-0');
        const status = (JSON.parse(res.text) as { status?: { conditions?: { type: string; status: string }[] } }).status;
        return status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      60_000,
      join(dir, 'kwok.log'),
    );
    // Node creation admits the taint node.kubernetes.io/not-ready; the lifecycle controller
    // (off, see above) would lift it once the node is Ready, so lift it here.
    await until(
      'the fake node to be untainted',
      async () => (await apiRequest(info, 'PATCH', '/api/v1/nodes/kwok-node-0', { spec: { taints: null } }, 'application/merge-patch+json')).status === 200,
      30_000,
    );
    await until(
      'the default ServiceAccount',
      async () => (await apiRequest(info, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      60_000,
      join(dir, 'kube-controller-manager.log'),
    );

    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(info, null, 2));
    say(`control plane up: ${server} (kubernetes ${info.version}); kubeconfig ${info.kubeconfig}`);
    return info;
  } catch (err) {
    await stopPids(pids);
    throw err;
  }
}

async function stopPids(pids: Record<string, number>): Promise<void> {
  // Reverse start order: the API server's clients first, etcd last.
  const order = Object.entries(pids).reverse();
  for (const [, pid] of order) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }
  const deadline = Date.now() + 10_000;
  while (order.some(([, pid]) => alive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [, pid] of order) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** Stops every process `up` started (by the pids it recorded) and removes its files. */
export async function clusterDown(options: { quiet?: boolean; keepFiles?: boolean } = {}): Promise<void> {
  const dir = clusterStateDir();
  const pidFile = join(dir, 'pids.json');
  if (existsSync(pidFile)) await stopPids(JSON.parse(readFileSync(pidFile, 'utf8')) as Record<string, number>);
  if (!options.keepFiles) rmSync(dir, { recursive: true, force: true });
  if (!options.quiet) console.log('control plane stopped');
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'status';
  switch (command) {
    case 'up': {
      const started = Date.now();
      const info = await clusterUp();
      console.log(`ready in ${Math.round((Date.now() - started) / 1000)} s; export LANDFALL_E2E_KUBECONFIG=${info.kubeconfig}`);
      return 0;
    }
    case 'down':
      await clusterDown();
      return 0;
    case 'env': {
      const info = readCluster();
      if (!info) {
        console.error('no control plane is running; start one with: npm run cluster -- up');
        return 1;
      }
      console.log(`export LANDFALL_E2E_KUBECONFIG=${info.kubeconfig}`);
      console.log(`export KUBECONFIG=${info.kubeconfig}`);
      return 0;
    }
    case 'status': {
      const info = readCluster();
      console.log(info ? `up: ${info.server} (kubernetes ${info.version}), pids ${JSON.stringify(info.pids)}` : 'down');
      return info ? 0 : 1;
    }
    default:
      console.error(`usage: npm run cluster -- up|down|env|status (got "${command}")`);
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
