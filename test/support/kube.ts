/**
 * One line of Kubernetes setup for a test:
 *
 *   const { kc, server, real } = await kubeForTest(t);
 *
 * Normally `kc` points at a fresh in-repo API test server (test/support/kube-api) on a free
 * port, stopped when the test ends. With `LANDFALL_E2E_KUBECONFIG=<file>` set (minikube, kind),
 * `kc` is that cluster instead, `server` is undefined and `real` is true: tests that need the
 * test server's hooks skip themselves, everything else runs unchanged against the cluster.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './kube-api/index.js';

/** The part of a tap test `kubeForTest` needs. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** What `kubeForTest` hands a test. */
export interface KubeTestContext {
  kc: KubeConfig;
  /** The in-repo test server; undefined against a real cluster. */
  server?: KubeApiServer;
  /** True when `LANDFALL_E2E_KUBECONFIG` points the test at a real cluster. */
  real: boolean;
}

/** True when tests run against the real cluster named by `LANDFALL_E2E_KUBECONFIG`. */
export function realClusterMode(): boolean {
  return Boolean(process.env.LANDFALL_E2E_KUBECONFIG);
}

/**
 * A KubeConfig for this test: the in-repo server (started now, stopped in `t.teardown`) or, with
 * `LANDFALL_E2E_KUBECONFIG` set, that kubeconfig file (context `LANDFALL_E2E_CONTEXT` if set).
 */
export async function kubeForTest(t: TeardownHost, options?: KubeApiServerOptions): Promise<KubeTestContext> {
  const file = process.env.LANDFALL_E2E_KUBECONFIG;
  if (file) {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    const context = process.env.LANDFALL_E2E_CONTEXT;
    if (context) kc.setCurrentContext(context);
    return { kc, real: true };
  }
  const server = await startKubeApiServer(options);
  t.teardown(() => server.stop());
  return { kc: server.kubeConfig(), server, real: false };
}

/** A name no other run of the suite uses (real clusters keep what a failed run left behind). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates a namespace with a unique name for this test. Against a real cluster it is deleted in
 * teardown (without waiting); the test server simply goes away with the test.
 */
export async function testNamespace(t: TeardownHost, ctx: KubeTestContext, prefix = 'lf'): Promise<string> {
  const name = uniqueName(prefix);
  const core = ctx.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { 'landfall.dev/test': 'true' } } } });
  if (ctx.real) {
    t.teardown(async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    });
  }
  return name;
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up after this long. Default 5 s against the test server, 120 s against a real cluster. */
  timeoutMs?: number;
  /** Pause between probes (real clusters only need it: the test server settles instead). */
  intervalMs?: number;
  /** When given, `settle()` runs before every probe, so the first probe normally succeeds. */
  server?: KubeApiServer;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and returns it.
 * Bounded: throws `timed out after … waiting for <what>` (with the last probe error, if any).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? (realClusterMode() ? 120_000 : 5_000);
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (options.server) await options.server.settle();
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    // Only a real cluster gets here in practice: the test server has settled above.
    await sleep(intervalMs);
  }
}
