import { AsyncLocalStorage } from 'node:async_hooks';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { Config } from '../config/schema.js';
import { constantTimeEqual } from '../forges/signature.js';
import { basicPassword, bearerToken, tokenAllowed, type TokenGuard } from './auth.js';
import { sendError } from './errors.js';
import { html, page } from './ui/html.js';
import type { View } from './view.js';

/** What the sender of one request may see and do. */
export interface Access {
  /** How they proved it: for the log and for the pages (a signed-in person sees their name). */
  kind: 'anonymous' | 'token' | 'user';
  /** The signed-in person's login. */
  login?: string;
  /** A person signed in with OpenID Connect: their groups, as the provider's groups claim lists them (access follows `server.auth.groups`). */
  groups?: readonly string[];
  canRead(app: string): boolean;
  canWrite(app: string): boolean;
}

/** No app at all. */
export const NO_ACCESS: Access = { kind: 'anonymous', canRead: () => false, canWrite: () => false };

const current = new AsyncLocalStorage<Access>();

/** The access of the request being handled (set by the guard), if any. */
export function currentAccess(): Access | undefined {
  return current.getStore();
}

/** Runs `fn` with `access` as the current request's access (tests, and the guard). */
export function withAccess<T>(access: Access, fn: () => T): T {
  return current.run(access, fn);
}

/** Whether `host` only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** Whether anyone may read without signing in: `server.auth.anonymous`, else only on loopback. */
export function anonymousRead(config: Config): boolean {
  const setting = config.server.auth.anonymous;
  return setting === undefined ? isLoopback(config.server.host) : setting === 'read';
}

/** Every API token the server knows, full and scoped. */
export function allTokens(config: Config): string[] {
  return [...config.server.apiTokens, ...config.server.auth.tokens.map((t) => t.token)];
}

/**
 * What an API token grants: a token of `server.apiTokens` reads and syncs every app; one of
 * `server.auth.tokens` its apps (all when it names none), for reading or also syncing. Every
 * candidate is compared, in constant time.
 */
export function tokenAccess(config: Config, token: string | undefined): Access | undefined {
  if (!token) return undefined;
  if (tokenAllowed(config.server.apiTokens, token)) return { kind: 'token', canRead: () => true, canWrite: () => true };
  let found: Config['server']['auth']['tokens'][number] | undefined;
  for (const candidate of config.server.auth.tokens) if (constantTimeEqual(candidate.token, token) && !found) found = candidate;
  if (!found) return undefined;
  const { apps, access } = found;
  const inScope = (app: string) => apps === undefined || apps.includes(app);
  return { kind: 'token', canRead: inScope, canWrite: (app) => access === 'write' && inScope(app) };
}

/**
 * What a person signed in with OpenID Connect may do: read the apps of every mapping of
 * `server.auth.groups` whose group is one of theirs (all apps when a mapping names none), and
 * sync those of the mappings with `access: write`. A person in no mapped group may do nothing.
 */
export function groupAccess(mappings: Config['server']['auth']['groups'], login: string, groups: readonly string[]): Access {
  const mine = mappings.filter((m) => groups.includes(m.group));
  const covers = (mapping: (typeof mine)[number], app: string) => mapping.apps === undefined || mapping.apps.includes(app);
  return {
    kind: 'user',
    login,
    groups,
    canRead: (app) => mine.some((m) => covers(m, app)),
    canWrite: (app) => mine.some((m) => m.access === 'write' && covers(m, app)),
  };
}

/** One field of a parsed body or of route params, whatever its type; undefined when the value is no object. */
export function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? Reflect.get(value, name) : undefined;
}

/**
 * A token guard for the routes that change something (`POST .../sync`): the failure budget of
 * {@link TokenGuard} over every token, and a scoped token must be a write token for the app of
 * the path.
 */
export function writeTokenGuard(config: Config, guard: TokenGuard): TokenGuard {
  return (request, token) => {
    const verdict = guard(request, token);
    if (!verdict.ok) return verdict;
    const param = field(request.params, 'app');
    const app = typeof param === 'string' ? param : '';
    return tokenAccess(config, token)?.canWrite(app) ? verdict : { ok: false, code: 'unauthorized' };
  };
}

/**
 * The view as the current request's sender may see it: apps they may not read do not exist
 * (a 404, never a 403: an app's existence is not disclosed), nor do their syncs.
 */
export function scopedView(view: View, config: Config): View {
  const readable = (app: string) => currentAccess()?.canRead(app) ?? false;
  return {
    ...view,
    app: (name: string) => (readable(name) ? view.app(name) : undefined),
    apps: () => Promise.all(config.apps.filter((a) => readable(a.name)).map((a) => view.summary(a))),
    async sync(id: string) {
      const record = await view.sync(id);
      return record && readable(record.app) ? record : undefined;
    },
  };
}

/** Options of {@link createAccessGuard}. */
export interface AccessGuardOptions {
  config: Config;
  /** The failure budget for wrong tokens (counted on reads; the write routes count their own). */
  tokens: TokenGuard;
  /** The access of a signed-in person, if the request carries a live session. */
  signedIn?: (request: FastifyRequest) => Promise<Access | undefined>;
  /** Where people sign in, when sign-in is configured. */
  signInPath?: string;
}

/** Routes anyone may fetch: the stylesheet and the icon carry nothing about apps. */
const OPEN_ROUTES = new Set(['/assets/landfall.css', '/favicon.svg', '/favicon.ico']);

/**
 * Decides, before the handler runs, who sent the request: an API token (Bearer, or HTTP Basic's
 * password as browsers send it, or the sync form's token field), a signed-in person, or nobody.
 * Nobody may read only when anonymous read is on; otherwise the API answers 401 and the
 * dashboard sends people to sign in (or asks for a token with HTTP Basic when sign-in is off).
 * The handler then runs with that access (see {@link currentAccess} and {@link scopedView}).
 */
export function createAccessGuard(options: AccessGuardOptions): preHandlerHookHandler {
  const { config } = options;
  const anonymous: Access = anonymousRead(config) ? { kind: 'anonymous', canRead: () => true, canWrite: () => false } : NO_ACCESS;
  const decide = async (request: FastifyRequest, reply: FastifyReply): Promise<Access | undefined> => {
    const formToken = request.method === 'POST' ? field(request.body, 'token') : undefined;
    const token = bearerToken(request) ?? basicPassword(request) ?? (typeof formToken === 'string' && formToken !== '' ? formToken : undefined);
    if (token) {
      const granted = tokenAccess(config, token);
      if (granted) return granted;
      // A wrong token on a read is a guess: it counts against the source's budget. Writes check and count their own.
      if (request.method === 'GET') {
        const verdict = options.tokens(request, token);
        if (!verdict.ok && verdict.code === 'rate-limited') {
          await sendError(reply, 'rate-limited', `too many wrong API tokens from this source; try again in ${verdict.retryAfterSeconds}s`, {
            'retry-after': String(verdict.retryAfterSeconds),
          });
          return undefined;
        }
        if (anonymous === NO_ACCESS) {
          await refuse(request, reply, options.signInPath);
          return undefined;
        }
      }
    }
    const person = await options.signedIn?.(request);
    if (person) return person;
    if (anonymous !== NO_ACCESS || request.method !== 'GET') return anonymous;
    await refuse(request, reply, options.signInPath);
    return undefined;
  };
  return function guard(request, reply, done) {
    const route = request.routeOptions.url ?? '';
    // Signing in and out answers for itself.
    if (OPEN_ROUTES.has(route) || route.startsWith('/auth/')) return done();
    decide(request, reply).then(
      (access) => {
        if (access) current.run(access, done);
      },
      (err: Error) => done(err),
    );
  };
}

/** Nobody may read: the API says so, the dashboard sends people to sign in or asks for a token. */
async function refuse(request: FastifyRequest, reply: FastifyReply, signInPath: string | undefined): Promise<void> {
  if (request.url.startsWith('/api/')) {
    await sendError(reply, 'unauthorized', signInPath ? 'send Authorization: Bearer <an API token>, or sign in' : 'send Authorization: Bearer <an API token>', {
      'www-authenticate': 'Bearer',
    });
    return;
  }
  if (signInPath) {
    await reply.redirect(`${signInPath}?next=${encodeURIComponent(request.url)}`, 302);
    return;
  }
  await reply
    .code(401)
    .header('www-authenticate', 'Basic realm="landfall", charset="UTF-8"')
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      page(
        'Sign in',
        html`<h1>Not signed in</h1>
          <p>This dashboard is not open to everyone. Give one of the server's API tokens as the password (any user name).</p>`,
      ),
    );
}

/**
 * `/metrics` on the main port: for API tokens, or for anyone when anonymous read is on. (On
 * `server.metricsPort` and the worker's probe port it is open: those ports stay internal.)
 */
export function createMetricsGuard(config: Config, tokens: TokenGuard): preHandlerHookHandler {
  const open = anonymousRead(config);
  return function guard(request, reply, done) {
    if (open) return done();
    const token = bearerToken(request) ?? basicPassword(request);
    if (tokenAccess(config, token)) return done();
    const verdict = tokens(request, token);
    if (!verdict.ok && verdict.code === 'rate-limited') {
      void sendError(reply, 'rate-limited', `too many wrong API tokens from this source; try again in ${verdict.retryAfterSeconds}s`, {
        'retry-after': String(verdict.retryAfterSeconds),
      });
      return;
    }
    void sendError(reply, 'unauthorized', 'send Authorization: Bearer <an API token>', { 'www-authenticate': 'Bearer' });
  };
}
