/**
 * The HTTP face of the Kubernetes API test server: transport, routing (kube.md B7 §1, §3),
 * authentication, the RBAC deny list, fault injection, the request log and timing, and the
 * in-process test API (B7 §11). Everything hangs off one instance, so a test process can run
 * many servers side by side.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { createControllers, type RolloutBehaviour, type RolloutMatch, type RolloutRule } from './controllers.js';
import { createEngine, parseDryRun, type Answer, type DeleteOptions, type Scope } from './engine.js';
import {
  ApiError,
  failure,
  forbidden,
  internalError,
  methodNotAllowed,
  notFoundPage,
  notFoundPath,
  qualifiedResource,
  statusForCode,
  unauthorized,
  badRequest,
} from './errors.js';
import { createRegistry, type Registry } from './registry.js';
import { matchesLabels, parseLabelSelector } from './selectors.js';
import { createStore, type StoredObject } from './store.js';
import { clone, isObject, timestamp, type JsonObject, type KubeObject, type TypeInfo } from './types.js';

/** Options of `startKubeApiServer`. */
export interface KubeApiServerOptions {
  /** Bearer tokens accepted; anything else (or none) is a 401. Default `['test-token']`. */
  tokens?: string[];
  /** The user named in 403 messages. Default `system:serviceaccount:landfall:landfall`. */
  user?: string;
  /** Run controllers on `setImmediate` after each write. Default true; false = only `tick()`/`settle()`. */
  autoReconcile?: boolean;
  /** Namespaces that exist from the start. Default default, kube-system, kube-public, kube-node-lease. */
  namespaces?: string[];
  /** Create the `default` ServiceAccount and `kube-root-ca.crt` ConfigMap in every namespace, as a real cluster does. Default true. */
  namespaceDefaults?: boolean;
  /** Nodes a DaemonSet schedules onto. Default 1. */
  daemonSetNodes?: number;
  /** Real-time delay before a CRD becomes Established. Default 0 (next tick). */
  crdEstablishDelayMs?: number;
  /** Real-time delay between a CRD becoming Established and its kinds being served, as on a real server. */
  crdServeDelayMs?: number;
  /** Real-time delay before an emptied terminating namespace disappears. Default 0. */
  namespaceDeleteDelayMs?: number;
  /** Clock for timestamps. Default `() => new Date()`. */
  now?: () => Date;
  /** `gitVersion` reported by `/version`. Default `v1.31.0`. */
  gitVersion?: string;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, as sent (percent-encoding kept). */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  headers: Record<string, string>;
  /** The raw request body ('' when none). */
  body: string;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  parsed: unknown;
  /** HTTP status answered; 0 while in flight or when the connection was dropped. */
  status: number;
  /** Server-side handling time (routing, engine, serialisation), excluding injected delays. */
  handlingMs: number;
}

/** A fault for `failNext`: which requests it hits and what happens to them. */
export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Tested against the request path (without query); any when absent. */
  pathRegex?: RegExp;
  /** Query parameters the request must carry (a value of `null`: must be absent), e.g. `{ dryRun: null }` for real writes only. */
  query?: Record<string, string | null>;
  /** Answer with this code instead of handling the request (e.g. 500, 429, 503). */
  status?: number;
  /** Body for `status` (object → JSON). Default: the real Status for that code. */
  body?: unknown;
  /** Extra headers for `status`; 429 gets `Retry-After: 1` unless given. */
  headers?: Record<string, string>;
  /** Wait this long first; without `status` or `drop` the request is then handled normally (latency). */
  delayMs?: number;
  /** Destroy the socket without any response. */
  drop?: boolean;
  /** How many matching requests to hit. Default 1. */
  times?: number;
}

/** An RBAC denial for `deny`: every given field must match the request. */
export interface DenyRule {
  /** get, list, create, update, patch, delete, deletecollection, watch. */
  verb?: string | string[];
  /** API group ('' for core). */
  group?: string;
  /** Resource plural (`deployments`), or `deployments/status` for the subresource. */
  resource?: string;
  namespace?: string;
  name?: string;
}

/** Identifies one object for the in-process hooks. */
export interface ObjectRef {
  /** `v1`, `apps/v1`…; when absent the kind is looked up across all groups. */
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Filter of `server.list`. */
export interface ListFilter {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  labelSelector?: string;
}

/** Aggregated handling times. */
export interface TimingStats {
  count: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
}

/** What `stats()` reports. */
export interface ServerStats {
  /** Requests received (faults included). */
  requests: number;
  /** Request body bytes received. */
  bytesReceived: number;
  /** Response body bytes sent. */
  bytesSent: number;
  /** Handling time of every answered request. */
  handling: TimingStats;
  /** Handling time per verb: apply, patch, get, list, create, update, delete, deletecollection, discovery, other. */
  byVerb: Record<string, TimingStats>;
}

/** A running Kubernetes API test server and its test hooks. */
export interface KubeApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** A KubeConfig for this server (token auth, context namespace `default` unless given). */
  kubeConfig(options?: { token?: string; namespace?: string }): KubeConfig;
  /** Every request received since start or the last `clearRequests()`. */
  readonly requests: RecordedRequest[];
  /** Empties the request log and zeroes the byte counters and timings. */
  clearRequests(): void;
  /** Request count, bytes and handling times since start or `clearRequests()`. */
  stats(): ServerStats;
  /** The object as a GET would answer it, or undefined. */
  get(ref: ObjectRef): KubeObject | undefined;
  /** Objects of one kind (or all), optionally in one namespace and matching a label selector. */
  list(filter?: ListFilter): KubeObject[];
  /** Seeds an object without HTTP (created or replaced; defaults, controllers and ownership apply). */
  put(obj: KubeObject, options?: { manager?: string }): KubeObject;
  /** A JSON merge patch as another field manager (operation Update), like `kubectl edit`. */
  edit(ref: ObjectRef, mergePatch: JsonObject, manager?: string): KubeObject;
  /** Replaces `status` through the status subresource (rv moves, generation does not). */
  setStatus(ref: ObjectRef, status: JsonObject, manager?: string): KubeObject;
  /** Sets one condition in `status.conditions` (by type), filling lastTransitionTime. */
  setCondition(ref: ObjectRef, condition: { type: string; status: string; reason?: string; message?: string }, manager?: string): KubeObject;
  /** Removes finalizers (all, or the named ones); a deleting object with none left disappears. */
  removeFinalizers(ref: ObjectRef, finalizers?: string[]): void;
  /** How rollouts of matching objects behave from now on (later calls win). */
  setRollout(match: RolloutMatch, behaviour: RolloutBehaviour, options?: { delayMs?: number }): void;
  /** Makes a CRD's names conflict (NamesAccepted=False, kstatus Failed) or clears that. */
  setCrdNamesConflict(crdName: string, conflict?: boolean): void;
  /** Runs queued controller work now; returns how many reconciles ran. */
  tick(): number;
  /** Waits until no controller work is queued or delayed; throws controller errors. */
  settle(): Promise<void>;
  /** Injects a fault into the next matching request(s). */
  failNext(fault: FaultSpec): void;
  /** Denies matching requests with a real-shaped 403. */
  deny(rule: DenyRule): void;
  /** Back to a fresh server: objects, CRD types, rollout rules, faults, denials, log. */
  reset(): void;
  /** Closes the server and every connection. */
  stop(): Promise<void>;
}

interface Fault extends FaultSpec {
  remaining: number;
}

interface ResourceRoute {
  scope: Scope;
  collection: boolean;
}

function emptyTiming(): TimingStats {
  return { count: 0, totalMs: 0, meanMs: 0, maxMs: 0 };
}

function addTiming(t: TimingStats, ms: number): void {
  t.count += 1;
  t.totalMs += ms;
  t.meanMs = t.totalMs / t.count;
  if (ms > t.maxMs) t.maxMs = ms;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Starts a Kubernetes API test server on 127.0.0.1 on a free port. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const tokens = new Set(options.tokens ?? ['test-token']);
  const user = options.user ?? 'system:serviceaccount:landfall:landfall';
  const autoReconcile = options.autoReconcile ?? true;
  const clock = options.now ?? (() => new Date());
  const gitVersion = options.gitVersion ?? 'v1.31.0';

  const registry: Registry = createRegistry();
  const store = createStore();
  let requests: RecordedRequest[] = [];
  let faults: Fault[] = [];
  let denies: DenyRule[] = [];
  let rules: RolloutRule[] = [];
  let nameConflicts = new Set<string>();
  let bytesReceived = 0;
  let bytesSent = 0;
  let received = 0;
  let handling = emptyTiming();
  let byVerb: Record<string, TimingStats> = {};
  let ipCounter = 10;
  let portCounter = 0;
  let wakeScheduled = false;
  const timers = new Map<NodeJS.Timeout, Promise<void>>();
  let timerResolvers = new Map<NodeJS.Timeout, () => void>();

  const engine = createEngine({
    store,
    registry,
    now: clock,
    onChange(event) {
      if (event.kind === 'removed') controllers.removed(event.record);
      else controllers.enqueue(event.record);
    },
    allocateClusterIP() {
      ipCounter += 1;
      return `10.96.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
    },
    allocateNodePort() {
      portCounter += 1;
      return 30000 + (portCounter % 2768);
    },
  });

  const controllers = createControllers({
    engine,
    store,
    registry,
    now: () => timestamp(clock()),
    rules: () => rules,
    crdNameConflicts: () => nameConflicts,
    daemonSetNodes: options.daemonSetNodes ?? 1,
    namespaceDeleteDelayMs: options.namespaceDeleteDelayMs ?? 0,
    crdEstablishDelayMs: options.crdEstablishDelayMs ?? 0,
    crdServeDelayMs: options.crdServeDelayMs ?? 0,
    namespaceDefaults: options.namespaceDefaults ?? true,
    after(delayMs, fn) {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => (resolve = r));
      const timer = setTimeout(() => {
        timers.delete(timer);
        timerResolvers.delete(timer);
        fn();
        resolve();
      }, delayMs);
      timers.set(timer, done);
      timerResolvers.set(timer, resolve);
    },
    wake() {
      // Controllers run after the current request has been answered, as a real controller
      // reacts to a watch event: a client polling with GET sees the rollout promptly.
      if (!autoReconcile || wakeScheduled) return;
      wakeScheduled = true;
      setImmediate(() => {
        wakeScheduled = false;
        controllers.run();
      });
    },
  });

  function seed(): void {
    for (const name of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      const type = registry.findKind('v1', 'Namespace') as TypeInfo;
      engine.createObject(type, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, undefined);
    }
    controllers.run();
  }
  seed();

  // --- routing -------------------------------------------------------------------------

  function discovery(segments: string[]): Answer | undefined {
    const [first, second, third] = segments;
    if (segments.length === 0) {
      const paths = ['/api', '/api/v1', '/apis', '/version'];
      for (const t of registry.all()) if (t.group) paths.push(`/apis/${t.group}`, `/apis/${t.group}/${t.version}`);
      return { code: 200, body: { paths: [...new Set(paths)].sort() } };
    }
    if (first === 'version' && segments.length === 1) {
      const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
      return {
        code: 200,
        body: {
          major: m?.[1] ?? '1',
          minor: m?.[2] ?? '31',
          gitVersion,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2024-08-13T07:28:49Z',
          goVersion: 'go1.22.5',
          compiler: 'gc',
          platform: 'linux/amd64',
        },
      };
    }
    if (first === 'api' && segments.length === 1) {
      return {
        code: 200,
        body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }] },
      };
    }
    if (first === 'api' && segments.length === 2 && second === 'v1') return { code: 200, body: registry.resourceList('', 'v1') };
    if (first === 'apis' && segments.length === 1) return { code: 200, body: registry.groupList() };
    if (first === 'apis' && segments.length === 2) {
      const group = registry.group(second ?? '');
      if (!group) throw notFoundPage();
      return { code: 200, body: group };
    }
    if (first === 'apis' && segments.length === 3) {
      if (!registry.group(second ?? '')) throw notFoundPage();
      const list = registry.resourceList(second ?? '', third ?? '');
      if (!list) throw notFoundPath();
      return { code: 200, body: list };
    }
    return undefined;
  }

  function resolve(segments: string[]): ResourceRoute {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 3) {
      group = segments[1] ?? '';
      version = segments[2] ?? '';
      rest = segments.slice(3);
      if (!registry.group(group)) throw notFoundPage();
    } else {
      throw segments[0] === 'api' || segments[0] === 'apis' ? notFoundPath() : notFoundPage();
    }
    if (!registry.servesGroupVersion(group, version)) throw notFoundPath();
    let namespace: string | undefined;
    let plural: string | undefined;
    let name: string | undefined;
    let sub: string | undefined;
    // `/api/v1/namespaces/x/configmaps` is a namespaced collection; `/api/v1/namespaces/x` and
    // `/api/v1/namespaces/x/status` address the Namespace itself.
    const nested = rest[0] === 'namespaces' && rest.length >= 3 ? registry.find(group, version, rest[2] ?? '') : undefined;
    if (nested?.namespaced) {
      if (rest.length > 5) throw notFoundPath();
      [, namespace, plural, name, sub] = rest;
    } else {
      if (rest.length > 3) throw notFoundPath();
      [plural, name, sub] = rest;
    }
    const type = registry.find(group, version, plural ?? '');
    if (!type) throw notFoundPath();
    if (type.namespaced && namespace === undefined && name !== undefined) throw notFoundPath();
    if (sub !== undefined && !(sub === 'status' && type.hasStatus)) throw notFoundPath();
    const scope: Scope = { type };
    if (namespace !== undefined) scope.namespace = namespace;
    if (name !== undefined) scope.name = name;
    if (sub === 'status') scope.subresource = 'status';
    return { scope, collection: name === undefined };
  }

  function verbOf(method: string, route: ResourceRoute, query: URLSearchParams): string {
    if (query.get('watch') === 'true' || query.get('watch') === '1') return 'watch';
    if (route.collection) return method === 'GET' ? 'list' : method === 'POST' ? 'create' : method === 'DELETE' ? 'deletecollection' : method.toLowerCase();
    switch (method) {
      case 'GET':
        return 'get';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return 'delete';
      default:
        return method.toLowerCase();
    }
  }

  function checkDenied(verb: string, route: ResourceRoute): void {
    const { type, namespace, name, subresource } = route.scope;
    const resource = subresource ? `${type.plural}/${subresource}` : type.plural;
    for (const rule of denies) {
      if (rule.verb !== undefined && !(Array.isArray(rule.verb) ? rule.verb.includes(verb) : rule.verb === verb)) continue;
      if (rule.group !== undefined && rule.group !== type.group) continue;
      if (rule.resource !== undefined && rule.resource !== resource && rule.resource !== type.plural) continue;
      if (rule.namespace !== undefined && rule.namespace !== namespace) continue;
      if (rule.name !== undefined && rule.name !== name) continue;
      // responsewriters.Forbidden + errors.NewForbidden, as kube-apiserver words an RBAC denial.
      const where = namespace ? `in the namespace ${JSON.stringify(namespace)}` : 'at the cluster scope';
      const why = `User ${JSON.stringify(user)} cannot ${verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(type.group)} ${where}`;
      const subject = qualifiedResource(type);
      const message = name ? `${subject} ${JSON.stringify(name)} is forbidden: ${why}` : `${subject} is forbidden: ${why}`;
      const details: JsonObject = {};
      if (name) details.name = name;
      if (type.group) details.group = type.group;
      details.kind = type.plural;
      throw forbidden(message, details);
    }
  }

  function parseDeleteBody(raw: string): JsonObject {
    if (!raw.trim()) return {};
    try {
      const parsed: unknown = JSON.parse(raw);
      return isObject(parsed) ? parsed : {};
    } catch {
      throw badRequest("couldn't get version/kind; json parse error: invalid DeleteOptions body");
    }
  }

  function handleResource(
    method: string,
    route: ResourceRoute,
    query: URLSearchParams,
    raw: string,
    contentType: string,
    userAgent: string | undefined,
  ): Answer {
    const { scope } = route;
    const fieldManager = query.get('fieldManager') ?? undefined;
    const writeOptions = (kind: string) => {
      const o: { fieldManager?: string; userAgent?: string; dryRun: boolean; force?: string } = { dryRun: parseDryRun(query.get('dryRun'), kind) };
      if (fieldManager !== undefined) o.fieldManager = fieldManager;
      if (userAgent !== undefined) o.userAgent = userAgent;
      const force = query.get('force');
      if (force !== null) o.force = force;
      return o;
    };
    const parseBody = (): unknown => {
      try {
        // kubectl and client-node send JSON; a real server also takes YAML bodies.
        return contentType.includes('yaml') ? parseYaml(raw) : JSON.parse(raw);
      } catch (err) {
        throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
      }
    };
    const deleteOptions = (): DeleteOptions => {
      const body = parseDeleteBody(raw);
      const out: DeleteOptions = {};
      const policy = query.get('propagationPolicy') ?? (typeof body.propagationPolicy === 'string' ? body.propagationPolicy : undefined);
      const orphan = query.get('orphanDependents') ?? (typeof body.orphanDependents === 'boolean' ? String(body.orphanDependents) : undefined);
      if (policy !== undefined) out.propagationPolicy = policy;
      else if (orphan === 'true') out.propagationPolicy = 'Orphan';
      const dry = query.get('dryRun') ?? (Array.isArray(body.dryRun) ? (body.dryRun[0] as string | undefined) : undefined) ?? null;
      out.dryRun = parseDryRun(dry, 'DeleteOptions');
      if (isObject(body.preconditions)) {
        const pre: { uid?: string; resourceVersion?: string } = {};
        if (typeof body.preconditions.uid === 'string') pre.uid = body.preconditions.uid;
        if (typeof body.preconditions.resourceVersion === 'string') pre.resourceVersion = body.preconditions.resourceVersion;
        out.preconditions = pre;
      }
      return out;
    };
    const listQuery = () => {
      const limit = query.get('limit');
      const q: { labelSelector: string | null; fieldSelector: string | null; continue: string | null; limit?: number } = {
        labelSelector: query.get('labelSelector'),
        fieldSelector: query.get('fieldSelector'),
        continue: query.get('continue'),
      };
      if (limit !== null) q.limit = Number(limit);
      return q;
    };

    if (route.collection) {
      switch (method) {
        case 'GET':
          return engine.list(scope, listQuery());
        case 'POST':
          return engine.create(scope, parseBody(), writeOptions('CreateOptions'));
        case 'DELETE':
          if (!scope.type.verbs.includes('deletecollection')) throw methodNotAllowed();
          return engine.removeCollection(scope, listQuery(), deleteOptions());
        default:
          throw methodNotAllowed();
      }
    }
    if (scope.subresource) {
      switch (method) {
        case 'GET':
          return engine.get(scope);
        case 'PUT':
          return engine.replace(scope, parseBody(), writeOptions('UpdateOptions'));
        case 'PATCH':
          return engine.patch(scope, raw, contentType, writeOptions('PatchOptions'));
        default:
          throw methodNotAllowed();
      }
    }
    switch (method) {
      case 'GET':
        return engine.get(scope);
      case 'PUT':
        return engine.replace(scope, parseBody(), writeOptions('UpdateOptions'));
      case 'PATCH':
        return engine.patch(scope, raw, contentType, writeOptions('PatchOptions'));
      case 'DELETE':
        return engine.remove(scope, deleteOptions());
      default:
        throw methodNotAllowed();
    }
  }

  function decodeSegments(pathname: string): string[] {
    try {
      return pathname
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    } catch {
      throw badRequest(`invalid path: ${pathname}`);
    }
  }

  /** Handles one request synchronously: the measured part. */
  function handle(req: IncomingMessage, url: URL, raw: string): { answer: Answer; verb: string; headers: Record<string, string> } {
    const method = req.method ?? 'GET';
    let verb = 'other';
    try {
      const auth = header(req, 'authorization') ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
      if (token === undefined || !tokens.has(token)) throw unauthorized();
      const segments = decodeSegments(url.pathname);
      const doc = method === 'GET' ? discovery(segments) : undefined;
      if (doc) return { answer: doc, verb: 'discovery', headers: {} };
      const route = resolve(segments);
      verb = verbOf(method, route, url.searchParams);
      if (verb === 'watch') {
        throw new ApiError(failure(405, 'MethodNotAllowed', 'watch is not implemented by the Kubernetes API test server: poll with GET', {}));
      }
      checkDenied(verb, route);
      const contentType = header(req, 'content-type') ?? '';
      if (verb === 'patch' && contentType.startsWith('application/apply-patch')) verb = 'apply';
      const answer = handleResource(method, route, url.searchParams, raw, contentType, header(req, 'user-agent'));
      return { answer, verb, headers: {} };
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.plainText !== undefined)
          return {
            answer: { code: err.status.code, body: err.plainText, text: true },
            verb,
            headers: { ...err.headers, 'Content-Type': 'text/plain; charset=utf-8' },
          };
        return { answer: { code: err.status.code, body: err.status }, verb, headers: err.headers };
      }
      const status = internalError((err as Error).message ?? String(err)).status;
      return { answer: { code: 500, body: status }, verb, headers: {} };
    }
  }

  function send(res: ServerResponse, code: number, body: string, headers: Record<string, string>): void {
    const length = Buffer.byteLength(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': length, ...headers });
    res.end(body);
    bytesSent += length;
  }

  function takeFault(method: string, path: string, query: URLSearchParams): Fault | undefined {
    const queryMatches = (f: Fault) => Object.entries(f.query ?? {}).every(([k, v]) => (v === null ? !query.has(k) : query.get(k) === v));
    const index = faults.findIndex(
      (f) => (f.method === undefined || f.method.toUpperCase() === method) && (f.pathRegex === undefined || f.pathRegex.test(path)) && queryMatches(f),
    );
    if (index < 0) return undefined;
    const fault = faults[index] as Fault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const buffer = Buffer.concat(chunks);
    const raw = buffer.toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let parsed: unknown;
    if (raw) {
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = undefined;
      }
    }
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: headers['content-type'],
      headers,
      body: raw,
      parsed,
      status: 0,
      handlingMs: 0,
    };
    requests.push(record);
    received += 1;
    bytesReceived += buffer.length;

    const fault = takeFault(method, url.pathname, url.searchParams);
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) {
        req.socket.destroy();
        return;
      }
      if (fault.status !== undefined) {
        const body =
          fault.body === undefined ? JSON.stringify(statusForCode(fault.status)) : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
        const extra: Record<string, string> = { ...(fault.status === 429 ? { 'Retry-After': '1' } : {}), ...(fault.headers ?? {}) };
        record.status = fault.status;
        send(res, fault.status, body, extra);
        return;
      }
    }

    const start = process.hrtime.bigint();
    const { answer, verb, headers: extra } = handle(req, url, raw);
    const body = answer.text ? String(answer.body) : JSON.stringify(answer.body);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    record.status = answer.code;
    record.handlingMs = ms;
    addTiming(handling, ms);
    addTiming((byVerb[verb] ??= emptyTiming()), ms);
    send(res, answer.code, body, extra);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify(internalError(String(err)).status), {});
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  // --- in-process API ------------------------------------------------------------------

  function typeFor(ref: { apiVersion?: string; kind: string }): TypeInfo {
    const type = ref.apiVersion ? registry.findKind(ref.apiVersion, ref.kind) : registry.findKindAnyVersion(ref.kind);
    if (!type) throw new Error(`the test server does not serve ${ref.apiVersion ?? '*'} ${ref.kind}`);
    return type;
  }

  function recordFor(ref: ObjectRef): { record: StoredObject | undefined; type: TypeInfo } {
    const type = typeFor(ref);
    const namespace = type.namespaced ? (ref.namespace ?? 'default') : '';
    return { record: store.get(type.group, type.plural, namespace, ref.name), type };
  }

  function mustRecord(ref: ObjectRef): { record: StoredObject; type: TypeInfo } {
    const { record, type } = recordFor(ref);
    if (!record) throw new Error(`${type.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} does not exist on the test server`);
    return { record, type };
  }

  function unwrap(answer: () => Answer): KubeObject {
    try {
      return clone(answer().body as KubeObject);
    } catch (err) {
      if (err instanceof ApiError) throw new Error(`test server refused: ${err.status.message ?? err.status.reason ?? ''}`, { cause: err });
      throw err;
    }
  }

  async function settle(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      controllers.run();
      if (controllers.errors.length > 0) {
        const first = controllers.errors[0] as Error;
        throw new Error(`a simulated controller failed: ${first.message}`, { cause: first });
      }
      if (controllers.idle() && timers.size === 0) return;
      if (timers.size > 0 && controllers.idle()) await Promise.race(timers.values());
      else await new Promise((r) => setImmediate(r));
    }
    throw new Error('settle(): controllers did not become idle');
  }

  function resetAll(): void {
    for (const [timer, resolveTimer] of timerResolvers) {
      clearTimeout(timer);
      resolveTimer();
    }
    timers.clear();
    timerResolvers = new Map();
    store.clear();
    registry.reset();
    controllers.reset();
    requests = [];
    faults = [];
    denies = [];
    rules = [];
    nameConflicts = new Set();
    bytesReceived = 0;
    bytesSent = 0;
    received = 0;
    handling = emptyTiming();
    byVerb = {};
    seed();
  }

  const api: KubeApiServer = {
    url,
    port,
    kubeConfig(opts = {}) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
        users: [{ name: 'test', token: opts.token ?? [...tokens][0] ?? 'test-token' }],
        contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: opts.namespace ?? 'default' }],
        currentContext: 'test',
      });
      return kc;
    },
    get requests() {
      return requests;
    },
    clearRequests() {
      requests = [];
      bytesReceived = 0;
      bytesSent = 0;
      received = 0;
      handling = emptyTiming();
      byVerb = {};
    },
    stats() {
      const verbs: Record<string, TimingStats> = {};
      for (const [k, v] of Object.entries(byVerb)) verbs[k] = { ...v };
      return { requests: received, bytesReceived, bytesSent, handling: { ...handling }, byVerb: verbs };
    },
    get(ref) {
      const { record, type } = recordFor(ref);
      return record ? clone(engine.render(record, type)) : undefined;
    },
    list(filter = {}) {
      const selector = parseLabelSelector(filter.labelSelector);
      let records: StoredObject[];
      if (filter.kind) {
        const type = typeFor({ kind: filter.kind, ...(filter.apiVersion ? { apiVersion: filter.apiVersion } : {}) });
        records = store.list(type.group, type.plural, filter.namespace);
      } else {
        records = store.all().filter((r) => filter.namespace === undefined || r.namespace === filter.namespace);
      }
      return records.filter((r) => matchesLabels(selector, r.obj.metadata?.labels)).map((r) => clone(engine.render(r)));
    },
    put(obj, opts = {}) {
      const type = typeFor({ apiVersion: obj.apiVersion ?? 'v1', kind: obj.kind ?? '' });
      try {
        const record = engine.createObject(type, obj, opts.manager);
        return clone(engine.render(record, type));
      } catch (err) {
        if (err instanceof ApiError) throw new Error(`test server refused: ${err.status.message ?? ''}`, { cause: err });
        throw err;
      }
    },
    edit(ref, mergePatch, manager = 'kubectl-edit') {
      const { record, type } = mustRecord(ref);
      const scope: Scope = { type, name: record.name };
      if (type.namespaced) scope.namespace = record.namespace;
      return unwrap(() => engine.patch(scope, JSON.stringify(mergePatch), 'application/merge-patch+json', { fieldManager: manager }));
    },
    setStatus(ref, status, manager = 'test-status') {
      const { record, type } = mustRecord(ref);
      return clone(
        engine.render(
          engine.update(record, (o) => (o.status = clone(status)), manager, 'status'),
          type,
        ),
      );
    },
    setCondition(ref, cond, manager = 'test-status') {
      const { record, type } = mustRecord(ref);
      const now = timestamp(clock());
      const updated = engine.update(
        record,
        (o) => {
          const status = isObject(o.status) ? o.status : (o.status = {});
          const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
          const prev = conditions.find((c) => c.type === cond.type);
          const next: JsonObject = {
            type: cond.type,
            status: cond.status,
            lastTransitionTime: prev && prev.status === cond.status ? prev.lastTransitionTime : now,
            reason: cond.reason ?? (prev && prev.status === cond.status ? prev.reason : cond.type),
            message: cond.message ?? '',
          };
          if (typeof o.metadata?.generation === 'number') next.observedGeneration = o.metadata.generation;
          status.conditions = prev ? conditions.map((c) => (c === prev ? next : c)) : [...conditions, next];
        },
        manager,
        'status',
      );
      return clone(engine.render(updated, type));
    },
    removeFinalizers(ref, names) {
      const { record } = mustRecord(ref);
      engine.update(
        record,
        (o) => {
          const meta = o.metadata ?? (o.metadata = {});
          const kept = names ? (meta.finalizers ?? []).filter((f) => !names.includes(f)) : [];
          if (kept.length) meta.finalizers = kept;
          else delete meta.finalizers;
        },
        'test-finalizer-remover',
      );
    },
    setRollout(match, behaviour, opts = {}) {
      rules.push({ match, behaviour, delayMs: opts.delayMs ?? 0 });
    },
    setCrdNamesConflict(crdName, conflict = true) {
      if (conflict) nameConflicts.add(crdName);
      else nameConflicts.delete(crdName);
      const crd = store.get('apiextensions.k8s.io', 'customresourcedefinitions', '', crdName);
      if (crd) controllers.enqueue(crd);
    },
    tick: () => controllers.run(),
    settle,
    failNext(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    deny(rule) {
      denies.push(rule);
    },
    reset: resetAll,
    async stop() {
      for (const [timer, resolveTimer] of timerResolvers) {
        clearTimeout(timer);
        resolveTimer();
      }
      timers.clear();
      timerResolvers = new Map();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return api;
}

/** The ObjectRef of an object (for passing a manifest straight to the hooks). */
export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { kind: obj.kind ?? '', name: obj.metadata?.name ?? '' };
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.metadata?.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}
