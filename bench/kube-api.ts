/**
 * The Kubernetes API test server as a child process (bench/servers/kube-api.ts) on a free
 * loopback port, with a kubeconfig file pointing at it: for the apply benchmark, whose timings
 * must not include the server's CPU on the event loop of the process being timed. Its hooks are
 * calls over the IPC channel, so they are asynchronous here, and the request log comes without
 * bodies and headers.
 */
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, ObjectRef, ServerStats } from '../test/support/kube-api/index.js';
import { procCpuSeconds, ROOT, startNode, writeKubeconfig, type Scope } from './lib.js';

/** One request as the test server saw it, without its body and headers. */
export interface RequestLine {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

/** A call to the child: one of the server's hooks. */
export type KubeApiCall = { id: number } & (
  { op: 'put'; arg: KubeObject } | { op: 'get'; arg: ObjectRef } | { op: 'clearRequests' | 'stats' | 'requests'; arg?: undefined }
);

/** The child's answer to a {@link KubeApiCall}. */
export type KubeApiReply = { id: number; result: unknown; error?: undefined } | { id: number; error: string; result?: undefined };

/** The test server running in its own process. */
export interface KubeApiProcess {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  pid: number;
  /** A kubeconfig file for it (token `test-token`), as a worker process is configured with. */
  kubeconfig: string;
  /** The same as a client-node KubeConfig. */
  kubeConfig(): KubeConfig;
  put(obj: KubeObject): Promise<KubeObject>;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /** Empties the request log and zeroes the counters. */
  clearRequests(): Promise<void>;
  stats(): Promise<ServerStats>;
  requests(): Promise<RequestLine[]>;
  /** CPU seconds the server process has used so far. */
  cpuSeconds(): Promise<number>;
}

/** Starts the test server in a child process (stopped when the scope closes) and writes `<dir>/kubeconfig` for it. */
export async function startKubeApiProcess(scope: Scope, dir: string): Promise<KubeApiProcess> {
  const node = await startNode(scope, dir, 'kube-api', ['--import', 'tsx', join(ROOT, 'bench/servers/kube-api.ts')], {}, { ipc: true });
  const { child } = node;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Kubernetes API test server process did not start within 60 s')), 60_000);
    child.on('message', (message: { ready?: string }) => {
      if (!message.ready) return;
      clearTimeout(timer);
      resolve(message.ready);
    });
    void node.exited.then(async (code) => {
      clearTimeout(timer);
      reject(new Error(`the Kubernetes API test server process exited (${code}):\n${(await node.output()).slice(-2000)}`));
    });
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  child.on('message', (reply: KubeApiReply | { ready: string }) => {
    if (!('id' in reply)) return;
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(`test server: ${reply.error}`));
    else waiter?.resolve(reply.result);
  });
  void node.exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('the Kubernetes API test server process exited'));
    pending.clear();
  });
  let nextId = 0;
  const call = <T>(op: KubeApiCall['op'], arg?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, arg });
    });
  const kubeconfig = await writeKubeconfig(dir, url);
  return {
    url,
    pid: node.pid,
    kubeconfig,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      return kc;
    },
    put: (obj) => call('put', obj),
    get: async (ref) => (await call<KubeObject | null>('get', ref)) ?? undefined,
    clearRequests: () => call('clearRequests'),
    stats: () => call('stats'),
    requests: () => call('requests'),
    cpuSeconds: () => procCpuSeconds(node.pid),
  };
}
