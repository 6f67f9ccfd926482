/**
 * The real control plane for a test (scripts/real/cluster.ts): a kube-apiserver with etcd,
 * controllers, a scheduler and kwok fake nodes. Tests in test/real/kube/ use it:
 *
 *   const skip = realKubeSkip();                       // at module load: a reason, or false
 *   t.test('...', { skip }, async (t) => { const kube = await realKube(t); ... });
 *
 * Where the cluster comes from: `LANDFALL_E2E_KUBECONFIG` (set by `npm test` once it started
 * one), else the control plane `npm run cluster -- up` left running for this checkout. Without
 * either the tests skip with one reason, unless `LANDFALL_REQUIRE_REAL=1` (CI), where that is a
 * failure: a missing control plane never passes silently there.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/refs.js';
import { readCluster, type ClusterInfo } from '../../scripts/real/cluster.js';
import { uniqueName, waitFor } from './kube.js';
import { ROOT } from './process.js';

const exec = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Where the real control plane's kubeconfig is, or undefined. */
function kubeconfigPath(): { file: string; info?: ClusterInfo } | undefined {
  const fromEnv = process.env.LANDFALL_E2E_KUBECONFIG;
  const info = readCluster();
  if (fromEnv) return { file: fromEnv, ...(info && info.kubeconfig === fromEnv ? { info } : {}) };
  return info ? { file: info.kubeconfig, info } : undefined;
}

/**
 * False when a real control plane is there; else why the real tests skip. Throws when
 * `LANDFALL_REQUIRE_REAL=1` and there is none, so CI fails instead of skipping.
 */
export function realKubeSkip(): string | false {
  if (kubeconfigPath()) return false;
  const reason = 'no real control plane: run `npm run cluster -- up` (needs Go), or set LANDFALL_E2E_KUBECONFIG';
  if (process.env.LANDFALL_REQUIRE_REAL === '1') throw new Error(`LANDFALL_REQUIRE_REAL=1 but ${reason}`);
  return reason;
}

/** What a test gets from {@link realKube}. */
export interface RealKube {
  kc: KubeConfig;
  kubeconfig: string;
  /** Our own control plane's details (audit log, version); undefined for another cluster. */
  info?: ClusterInfo;
  /** Landfall's client for the cluster, as admin (closed at teardown). */
  client: KubeClient;
  /** A new namespace `<prefix>-<8 hex>`, deleted at teardown. */
  namespace(prefix?: string): Promise<string>;
  /** Runs the kubectl from ./tools against the cluster; never throws, returns the outcome. */
  kubectl(
    args: string[],
    options?: { input?: string; kubeconfig?: string; env?: Record<string, string> },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** An object as the API server has it now, or undefined. */
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined>;
}

/** The real control plane for one test (skip first with {@link realKubeSkip}). */
export async function realKube(t: Teardown): Promise<RealKube> {
  const where = kubeconfigPath();
  if (!where) throw new Error(realKubeSkip() || 'no real control plane');
  const kc = new KubeConfig();
  kc.loadFromFile(where.file);
  const client = await createKubeClient(kc, { retryBaseMs: 50 });
  t.teardown(() => client.close());
  const kubectlBin = join(ROOT, 'tools/kubectl/kubectl');
  const kubectl: RealKube['kubectl'] = async (args, options = {}) => {
    const bin = existsSync(kubectlBin) ? kubectlBin : 'kubectl';
    return new Promise((resolve) => {
      const child = execFile(
        bin,
        [`--kubeconfig=${options.kubeconfig ?? where.file}`, ...args],
        { maxBuffer: 32 * 1024 * 1024, timeout: 120_000, env: { ...process.env, ...options.env } },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  };
  return {
    kc,
    kubeconfig: where.file,
    ...(where.info ? { info: where.info } : {}),
    client,
    async namespace(prefix = 'lf') {
      const name = uniqueName(prefix);
      await client.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'landfall.dev/test': 'true' } } },
        { fieldManager: 'landfall-test', force: true },
      );
      t.teardown(async () => {
        await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
      });
      return name;
    },
    kubectl,
    get(apiVersion, kind, name, namespace) {
      return client.get({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
    },
  };
}

/** One audit event of the control plane's audit log (level Metadata). */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  userAgent?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stageTimestamp?: string;
}

/**
 * Writes the API server recorded in a namespace since `since` (an audit-log byte offset from
 * {@link auditOffset}), dry-runs excluded. Only our own control plane keeps this log.
 */
export function auditedWrites(info: ClusterInfo, since: number, filter: (e: AuditEvent) => boolean = () => true): AuditEvent[] {
  const text = readFileSync(info.auditLog).subarray(since).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => !/[?&]dryRun=/.test(e.requestURI))
    .filter(filter);
}

/** The audit log's current length, to read only what comes after. */
export function auditOffset(info: ClusterInfo): number {
  return existsSync(info.auditLog) ? readFileSync(info.auditLog).length : 0;
}

/** Runs a command from the repository root (kubectl, helm); never throws. */
export async function runTool(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(bin, args, { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `waitFor` with a real cluster's patience (controllers take seconds, not milliseconds). */
export function waitReal<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 120_000): Promise<T> {
  return waitFor(what, probe, { timeoutMs, intervalMs: 250 });
}
