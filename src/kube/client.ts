import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KIND_NOT_SERVED, KubeApiError, type KubeStatus } from './errors.js';
import { groupOf, versionOf, type KubeObject, type ObjectRef } from './refs.js';
import { errorMessage } from '../unknown.js';

/** What discovery says about one kind. */
export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
  kind: string;
}

/** A list answer. */
export interface KubeList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

/** Counters, for benchmarks and logs: how much this client asked of the API server. */
export interface KubeClientStats {
  requests: number;
  writes: number;
  bytesSent: number;
  retries: number;
}

/** Tuning of {@link createKubeClient}. */
export interface KubeClientOptions {
  /** Attempts for a request that fails transiently (429, 5xx, network). */
  attempts?: number;
  /** First retry delay; doubles each attempt (with jitter), or follows Retry-After. */
  retryBaseMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** The User-Agent the API server records. */
  userAgent?: string;
}

/** Options of one request. */
interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  /** Answer the body as text rather than parsing JSON (pod logs). */
  text?: boolean;
}

/**
 * A small Kubernetes API client over raw JSON. @kubernetes/client-node supplies the
 * configuration and credentials (kubeconfig, exec plugins, in-cluster tokens); requests are sent
 * here so that bodies go on the wire exactly as rendered. The client-node typed models drop
 * fields they do not know (a CRD's x-kubernetes-* keys, a custom resource's spec), which a
 * GitOps tool must never do. This module is the only place that builds Kubernetes URLs.
 */
export interface KubeClient {
  readonly stats: KubeClientStats;
  /** The API server's base URL. */
  readonly server: string;
  /** Looks up a kind's plural and scope; undefined when the cluster does not serve it. */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** Forgets discovery for a group-version (after a CRD changed) or all of it. */
  invalidate(apiVersion?: string): void;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, options?: { namespace?: string; labelSelector?: string }): Promise<KubeObject[]>;
  /** Server-side apply: the object as given, as field manager `fieldManager`. */
  apply(obj: KubeObject, options: { fieldManager: string; force?: boolean; dryRun?: boolean }): Promise<KubeObject>;
  /** A JSON patch (RFC 6902) or merge patch of one object, as `fieldManager` (operation Update). */
  patch(ref: ObjectRef, patch: unknown, options: { type: 'json' | 'merge'; fieldManager: string }): Promise<KubeObject>;
  /**
   * Creates (POST), as `fieldManager`: for objects that have no name yet (`metadata.generateName`)
   * and so cannot be applied. Answers the object as created, with its name.
   */
  create(obj: KubeObject, options: { fieldManager: string }): Promise<KubeObject>;
  /** The last lines of a pod's log (of `container`, or its only one); undefined when the API has none to give. */
  podLog(namespace: string, name: string, options?: { container?: string; tailLines?: number }): Promise<string | undefined>;
  /** Deletes; resolves false when it was already gone. */
  delete(ref: ObjectRef, options?: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' }): Promise<boolean>;
  /** Any request under the server, for the few calls the helpers above do not cover. */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /**
   * The same connection acting as another identity (Kubernetes impersonation, the
   * `Impersonate-User` header), so the API server's RBAC limits what it may write. Landfall's own
   * identity needs the `impersonate` verb on that user. Discovery is shared.
   */
  impersonating(user: string): KubeClient;
  close(): void;
}

/** Creates a client for the current context of a KubeConfig. */
export async function createKubeClient(kc: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster; set a context');
  const server = cluster.server.replace(/\/+$/, '');
  const base = new URL(server);
  const isHttps = base.protocol === 'https:';
  if (!isHttps && !cluster.skipTLSVerify) throw new Error(`refusing plain HTTP to ${server}: set insecure-skip-tls-verify in the kubeconfig if you mean it`);

  // TLS material from the kubeconfig, once; a keep-alive agent of our own so a sync of a
  // thousand objects reuses a few connections instead of opening one per request.
  const probe: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(probe);
  const usesProxy = Boolean(cluster.proxyUrl);
  const agent = usesProxy
    ? // Cast: the probe was made with the agent this client created, always an http(s).Agent; Node types it as Agent | boolean.
      (probe.agent as http.Agent)
    : isHttps
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 16,
          ...(probe.ca ? { ca: probe.ca } : {}),
          ...(probe.cert ? { cert: probe.cert } : {}),
          ...(probe.key ? { key: probe.key } : {}),
          ...(probe.rejectUnauthorized !== undefined ? { rejectUnauthorized: probe.rejectUnauthorized } : {}),
          ...(probe.servername ? { servername: probe.servername } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });

  const attempts = options.attempts ?? 4;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const userAgent = options.userAgent ?? 'landfall';
  const stats: KubeClientStats = { requests: 0, writes: 0, bytesSent: 0, retries: 0 };
  const discovery = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();

  async function authHeaders(): Promise<Record<string, string>> {
    // Credentials can rotate (exec plugins, projected service-account tokens): ask each time.
    const opts: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return headers;
  }

  function once(method: string, path: string, payload: string | undefined, contentType: string | undefined, headers: Record<string, string>) {
    return new Promise<{ status: number; text: string; retryAfter?: string }>((resolve, reject) => {
      const url = new URL(server + path);
      const req = (isHttps ? https : http).request(
        url,
        {
          method,
          agent,
          timeout: timeoutMs,
          headers: {
            Accept: 'application/json',
            'User-Agent': userAgent,
            ...headers,
            ...(payload !== undefined ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(typeof retryAfter === 'string' ? { retryAfter } : {}) });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async function send<T>(method: string, path: string, opts: RequestOptions = {}, as: Record<string, string> = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) query.set(k, v);
    const full = query.size > 0 ? `${path}?${query.toString()}` : path;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const isWrite = method !== 'GET' && !opts.query?.dryRun;
    const headers = { ...(await authHeaders()), ...as, ...(opts.text ? { Accept: 'text/plain, */*' } : {}) };
    for (let attempt = 1; ; attempt++) {
      stats.requests++;
      if (isWrite) stats.writes++;
      if (payload) stats.bytesSent += Buffer.byteLength(payload);
      let status = 0;
      let text = '';
      let retryAfter: string | undefined;
      let networkError: unknown;
      try {
        ({ status, text, retryAfter } = await once(method, full, payload, opts.contentType, headers));
      } catch (err) {
        networkError = err;
      }
      // Cast: the caller names the kind it asked for; the API server answered 2xx for that path, and callers check the fields they use.
      if (status >= 200 && status < 300) return (opts.text ? text : text ? JSON.parse(text) : undefined) as T;
      const body = parseStatus(text);
      const error = networkError
        ? new KubeApiError(0, method, path, undefined, `${method} ${path}: ${errorMessage(networkError)}`, { cause: networkError })
        : new KubeApiError(status, method, path, body);
      if (!error.transient || attempt >= attempts) throw error;
      stats.retries++;
      await sleep(retryDelay(attempt, retryBaseMs, retryAfter));
    }
  }

  async function groupVersion(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
    let entry = discovery.get(apiVersion);
    if (!entry) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      entry = send<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>('GET', path).then(
        (list) => {
          const kinds = new Map<string, ResourceInfo>();
          for (const r of list.resources ?? []) {
            // Subresources (deployments/status) share the kind; the main resource wins.
            if (r.name.includes('/') || kinds.has(r.kind)) continue;
            kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced, kind: r.kind });
          }
          return kinds;
        },
        (err: unknown) => {
          discovery.delete(apiVersion);
          if (err instanceof KubeApiError && err.status === 404) return undefined;
          throw err;
        },
      );
      discovery.set(apiVersion, entry);
    }
    return entry;
  }

  async function resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const known = (await groupVersion(apiVersion))?.get(kind);
    if (known) return known;
    // A kind missing from cached discovery may have been registered since (a new CRD): ask once more.
    discovery.delete(apiVersion);
    return (await groupVersion(apiVersion))?.get(kind);
  }

  async function pathOf(ref: { apiVersion: string; kind: string; namespace?: string | undefined; name?: string }): Promise<string> {
    const info = await resource(ref.apiVersion, ref.kind);
    if (!info) {
      throw new KubeApiError(
        404,
        'GET',
        ref.apiVersion,
        { reason: KIND_NOT_SERVED },
        `the cluster does not serve ${ref.kind} in ${ref.apiVersion} (is its CRD installed?)`,
      );
    }
    const root = groupOf(ref.apiVersion) ? `/apis/${groupOf(ref.apiVersion)}/${versionOf(ref.apiVersion)}` : `/api/${versionOf(ref.apiVersion)}`;
    const ns = info.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
    const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
    return `${root}${ns}/${info.plural}${name}`;
  }

  /** The client's methods, sending `as` (impersonation headers) with every request. */
  function methods(as: Record<string, string>): KubeClient {
    const request = <T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> => send<T>(method, path, opts, as);
    return {
      stats,
      server,
      resource,
      invalidate(apiVersion) {
        if (apiVersion) discovery.delete(apiVersion);
        else discovery.clear();
      },
      async get(ref) {
        try {
          return await request<KubeObject>('GET', await pathOf(ref));
        } catch (err) {
          // An object that is not there is undefined; a kind the cluster does not serve is not
          // "not there", it cannot even be asked about.
          if (err instanceof KubeApiError && err.status === 404 && err.reason !== KIND_NOT_SERVED) return undefined;
          throw err;
        }
      },
      async list(apiVersion, kind, opts = {}) {
        const path = await pathOf({ apiVersion, kind, namespace: opts.namespace });
        const items: KubeObject[] = [];
        let token: string | undefined;
        do {
          const page = await request<KubeList>('GET', path, { query: { labelSelector: opts.labelSelector, limit: '500', continue: token } });
          for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
          token = page.metadata?.continue || undefined;
        } while (token);
        return items;
      },
      async apply(obj, opts) {
        return request<KubeObject>('PATCH', await pathOf({ ...obj, namespace: obj.metadata.namespace, name: obj.metadata.name }), {
          // Strict, as kubectl does by default: a misspelt field of a custom resource is an error
          // naming it rather than a field the API server silently prunes.
          query: {
            fieldManager: opts.fieldManager,
            force: opts.force ? 'true' : undefined,
            dryRun: opts.dryRun ? 'All' : undefined,
            fieldValidation: 'Strict',
          },
          body: obj,
          contentType: 'application/apply-patch+yaml',
        });
      },
      async patch(ref, body, opts) {
        return request<KubeObject>('PATCH', await pathOf(ref), {
          query: { fieldManager: opts.fieldManager },
          body,
          contentType: opts.type === 'json' ? 'application/json-patch+json' : 'application/merge-patch+json',
        });
      },
      async create(obj, opts) {
        return request<KubeObject>('POST', await pathOf({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace }), {
          query: { fieldManager: opts.fieldManager, fieldValidation: 'Strict' },
          body: obj,
          contentType: 'application/json',
        });
      },
      async podLog(namespace, name, opts = {}) {
        try {
          const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`;
          return await request<string>('GET', path, { query: { container: opts.container, tailLines: String(opts.tailLines ?? 20) }, text: true });
        } catch (err) {
          // No logs to give: the pod is gone, its container never started, or the API serves none.
          if (err instanceof KubeApiError && [400, 404].includes(err.status)) return undefined;
          throw err;
        }
      },
      async delete(ref, opts = {}) {
        try {
          await request('DELETE', await pathOf(ref), { query: { propagationPolicy: opts.propagationPolicy ?? 'Background' } });
          return true;
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404 && err.reason !== KIND_NOT_SERVED) return false;
          throw err;
        }
      },
      request,
      impersonating(user, groups = []) {
        const headers: Record<string, string> = { 'Impersonate-User': user };
        // Node sends a header once; several groups go as one comma-joined value, which the API server splits.
        if (groups.length > 0) headers['Impersonate-Group'] = groups.join(',');
        return methods(headers);
      },
      close() {
        agent.destroy();
      },
    };
  }
  return methods({});
}

function parseStatus(text: string): KubeStatus | undefined {
  try {
    // Cast: the API server's error body; every field is read optionally and checked where used (parseStatus).
    const parsed = JSON.parse(text) as KubeStatus;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return text ? { message: text.slice(0, 500) } : undefined;
  }
}

function retryDelay(attempt: number, baseMs: number, retryAfter: string | undefined): number {
  const seconds = retryAfter !== undefined ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
  const exp = baseMs * 2 ** (attempt - 1);
  return Math.min(exp / 2 + Math.random() * (exp / 2), 10_000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
