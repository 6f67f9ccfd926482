import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyOauth2, { type OAuth2Namespace } from '@fastify/oauth2';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../unknown.js';
import { field, groupAccess, type Access, type AccessGuardOptions } from './access.js';
import { createOidcFlow, refusalReason, type OidcFlow, type OidcPending } from './signin-oidc.js';
import { signInProvider, type SignInProvider } from './signin-providers.js';
import { html, page, type Html } from './ui/html.js';

/** Where sign-in starts, and where the forge sends people back. */
export const SIGN_IN_PATH = '/auth/sign-in';
export const CALLBACK_PATH = '/auth/callback';
export const SIGN_OUT_PATH = '/auth/sign-out';

/** A person signed in through a forge. */
interface ForgeUser {
  id: string;
  login: string;
  /** The person's forge token: it asks the forge what they may see. Never leaves the server. */
  token: string;
  signedInAt: number;
}

/** A person signed in with OpenID Connect: who, and their groups; no token is kept. */
interface OidcUser {
  sub: string;
  login: string;
  groups: string[];
  signedInAt: number;
}

/** What a session holds (server-side, in Redis; the cookie carries only its signed id). */
type SessionUser = ForgeUser | OidcUser;

declare module 'fastify' {
  interface Session {
    user?: SessionUser;
    next?: string;
    /** An OpenID Connect sign-in under way: its state, nonce and PKCE verifier. */
    oidc?: OidcPending;
  }
}

/**
 * Sessions in Redis under `<prefix>:session:<id>`, expiring with the session: the store
 * `@fastify/session` asks for (get, set, destroy). Signing out deletes the entry, so an old
 * cookie is dead even if someone kept it.
 */
function redisStore(redis: Redis, prefix: string, ttlMs: number): fastifySession.SessionStore {
  const key = (sid: string) => `${prefix}:session:${sid}`;
  return {
    get(sid, done) {
      // Cast: the value is a session this store wrote itself with JSON.stringify (set below).
      redis.get(key(sid)).then((v) => done(null, v ? (JSON.parse(v) as Session) : null), done);
    },
    set(sid, session, done) {
      redis.set(key(sid), JSON.stringify(session), 'PX', ttlMs).then(() => done(), done);
    },
    destroy(sid, done) {
      redis.del(key(sid)).then(() => done(), done);
    },
  };
}

/** A `next` that stays on this server: a path, never `//host` or a scheme. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

/** Options of {@link createSignIn}. */
export interface SignInDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  /** A provider other than the configured forge's (tests). */
  provider?: SignInProvider;
  now?: () => number;
}

/** A page of the sign-in routes, never cached. */
function sendPage(reply: FastifyReply, status: number, title: string, body: Html): FastifyReply {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(page(title, body));
}

/**
 * Sign-in through the forge's OAuth 2 (`@fastify/oauth2`) or any OpenID Connect provider
 * (`openid-client`, src/http/signin-oidc.ts), sessions in Redis (`@fastify/session`, a signed
 * `HttpOnly`, `SameSite=Lax` cookie, `Secure` when the public URL is https), CSRF tokens for
 * every form that changes something (`@fastify/csrf-protection`). With a forge, what a person
 * may see is what the forge says they may read, asked with their token and kept for
 * `server.auth.accessCacheTtl`; with OpenID Connect, what `server.auth.groups` maps their groups to.
 */
export function createSignIn(deps: SignInDeps): (scope: FastifyInstance) => Promise<Pick<AccessGuardOptions, 'signedIn' | 'signInPath'>> {
  const { config } = deps;
  const signIn = config.server.auth.signIn;
  if (!signIn) throw new Error('server.auth.signIn is not configured');
  const callbackUrl = `${config.server.publicUrl}${CALLBACK_PATH}`;
  const oidcFlow: OidcFlow | undefined = signIn.provider === 'oidc' ? createOidcFlow({ signIn, callbackUrl, log: deps.log }) : undefined;
  const provider = oidcFlow ? undefined : (deps.provider ?? signInProvider(config, signIn));
  const now = deps.now ?? Date.now;
  const ttl = config.server.auth.accessCacheTtl;
  const cache = new Map<string, { until: number; read: boolean; write: boolean }>();
  const apps = config.apps.filter((a) => a.forge === signIn.provider);

  async function repoAccess(forge: SignInProvider, user: ForgeUser, repo: string) {
    const key = `${user.id}|${repo}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit;
    const answer = await forge.repoAccess(user.token, repo).catch((err: Error) => {
      deps.log.warn({ err: err.message, repo, user: user.login }, 'could not ask the forge about access; denying');
      return { read: false, write: false };
    });
    if (cache.size > 10_000) cache.clear();
    const entry = { ...answer, until: now() + ttl };
    cache.set(key, entry);
    return entry;
  }

  async function signedIn(request: FastifyRequest): Promise<Access | undefined> {
    const user = request.session?.user;
    if (!user) return undefined;
    // A session of the other kind (the provider changed since it was made) is worth nothing, nor is an old one.
    const kindOk = oidcFlow ? 'groups' in user && Array.isArray(user.groups) : 'token' in user && typeof user.token === 'string';
    if (!kindOk || user.signedInAt + signIn!.sessionTtl <= now()) {
      await request.session.destroy();
      return undefined;
    }
    if ('groups' in user) return groupAccess(config.server.auth.groups, user.login, user.groups);
    if (!provider || !('token' in user)) return undefined;
    const answers = await Promise.all(apps.map(async (a) => [a.name, await repoAccess(provider, user, a.repo)] as const));
    const byApp = new Map(answers);
    return { kind: 'user', login: user.login, canRead: (app) => byApp.get(app)?.read === true, canWrite: (app) => byApp.get(app)?.write === true };
  }

  return async function register(scope) {
    await scope.register(fastifyCookie);
    await scope.register(fastifySession, {
      secret: signIn.sessionSecret,
      cookieName: 'landfall_session',
      saveUninitialized: false,
      store: redisStore(deps.redis, config.redis.prefix, signIn.sessionTtl),
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.server.publicUrl.startsWith('https:'), maxAge: signIn.sessionTtl, path: '/' },
    });
    await scope.register(fastifyCsrf, {
      sessionPlugin: '@fastify/session',
      getToken: (request) => {
        const token = field(request.body, '_csrf');
        return typeof token === 'string' ? token : undefined;
      },
    });
    if (provider) {
      await scope.register(fastifyOauth2, {
        name: 'forgeOAuth2',
        scope: provider.scope,
        credentials: { client: { id: signIn.clientId, secret: signIn.clientSecret }, auth: provider.endpoints },
        callbackUri: callbackUrl,
        pkce: 'S256',
        cookie: { secure: config.server.publicUrl.startsWith('https:'), sameSite: 'lax', httpOnly: true, path: '/' },
      });
    }

    // eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: Fastify awaits the promise an async plugin returns
    await scope.register(async (auth) => {
      // The sign-out form is a plain form; parse it here only.
      auth.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      });
      if (oidcFlow) oidcRoutes(auth, oidcFlow);
      else if (provider) forgeRoutes(auth, provider);
      signOutRoutes(auth);
    });
    return { signedIn, signInPath: SIGN_IN_PATH };
  };

  /** A new session id at sign-in: one planted before it is worth nothing, and the old one is deleted. */
  async function startSession(request: FastifyRequest, user: SessionUser): Promise<void> {
    const before = request.session.sessionId;
    await request.session.regenerate();
    await new Promise<void>((resolve) => request.sessionStore.destroy(before, () => resolve()));
    request.session.user = user;
  }

  function oidcRoutes(scope: FastifyInstance, flow: OidcFlow): void {
    scope.get<{ Querystring: { next?: string } }>(SIGN_IN_PATH, async (request, reply) => {
      let started: Awaited<ReturnType<OidcFlow['start']>>;
      try {
        started = await flow.start();
      } catch (err) {
        deps.log.error({ err: errorMessage(err), issuer: signIn!.issuer }, "could not read the OpenID Connect provider's metadata");
        return sendPage(
          reply,
          503,
          'Sign-in unavailable',
          html`<h1>Sign-in is unavailable</h1>
            <p>The sign-in provider could not be reached; try again in a moment.</p>`,
        );
      }
      request.session.next = safeNext(request.query.next);
      request.session.oidc = started.pending;
      return reply.redirect(started.url.href, 302);
    });

    scope.get(CALLBACK_PATH, async (request, reply) => {
      const pending = request.session.oidc;
      const next = safeNext(request.session.next);
      const again = html`<a href="${SIGN_IN_PATH}?next=${encodeURIComponent(next)}">Sign in again</a>`;
      if (!pending) {
        return sendPage(
          reply,
          400,
          'Sign-in failed',
          html`<h1>Sign-in failed</h1>
            <p>This sign-in was not started here, or was already used. ${again}.</p>`,
        );
      }
      // One use: a replayed callback finds nothing to check against.
      request.session.oidc = undefined;
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      let who: Awaited<ReturnType<OidcFlow['finish']>>;
      try {
        who = await flow.finish(new URL(`${callbackUrl}${query}`), pending);
      } catch (err) {
        const reason = refusalReason(err);
        deps.log.warn({ err: reason }, 'OpenID Connect sign-in refused');
        return sendPage(
          reply,
          401,
          'Sign-in failed',
          html`<h1>Sign-in failed</h1>
            <p>Signing in did not work: ${reason}. ${again}.</p>`,
        );
      }
      await startSession(request, { sub: who.sub, login: who.login, groups: who.groups, signedInAt: now() });
      deps.log.info({ user: who.login, groups: who.groups.length }, 'signed in');
      return reply.redirect(next, 303);
    });
  }

  function forgeRoutes(scope: FastifyInstance, forge: SignInProvider): void {
    // Cast: @fastify/oauth2 decorates the instance under the `name` given at registration ('forgeOAuth2'), which its types cannot name.
    const oauth = (scope as unknown as { forgeOAuth2: OAuth2Namespace }).forgeOAuth2;
    scope.get<{ Querystring: { next?: string } }>(SIGN_IN_PATH, async (request, reply) => {
      request.session.next = safeNext(request.query.next);
      const uri = await oauth.generateAuthorizationUri(request, reply);
      return reply.redirect(uri, 302);
    });

    scope.get(CALLBACK_PATH, async (request, reply) => {
      const next = safeNext(request.session.next);
      const { token } = await oauth.getAccessTokenFromAuthorizationCodeFlow(request, reply);
      const who = await forge.user(token.access_token);
      await startSession(request, { ...who, token: token.access_token, signedInAt: now() });
      deps.log.info({ user: who.login }, 'signed in');
      return reply.redirect(next, 303);
    });
  }

  function signOutRoutes(scope: FastifyInstance): void {
    scope.get(SIGN_OUT_PATH, async (request, reply) => {
      const user = request.session.user;
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          page(
            'Sign out',
            user
              ? html`<h1>Sign out</h1>
                  <form method="post" action="${SIGN_OUT_PATH}">
                    <input type="hidden" name="_csrf" value="${reply.generateCsrf()}" />
                    <p>Signed in as <strong>${user.login}</strong>. <button type="submit">Sign out</button></p>
                  </form>`
              : html`<h1>Signed out</h1>
                  <p><a href="/">Dashboard</a></p>`,
          ),
        );
    });

    scope.post(SIGN_OUT_PATH, { preHandler: (request, reply, done) => scope.csrfProtection(request, reply, done) }, async (request, reply) => {
      const login = request.session.user?.login;
      await request.session.destroy();
      if (login) deps.log.info({ user: login }, 'signed out');
      return reply.redirect('/', 303);
    });
  }
}
