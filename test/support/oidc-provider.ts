/**
 * A stand-in OpenID Connect provider, per OpenID Connect Discovery 1.0 and Core 1.0 (the
 * authorization code flow): `GET <issuer>/.well-known/openid-configuration`, `GET .../auth` (the
 * person chosen with `signInAs` has signed in and consented; it redirects back with a code and
 * the state), `POST .../token` (`client_secret_post` only, as its metadata says; code, redirect
 * URI and PKCE verifier checked; an RS256 ID token with the nonce), `GET .../certs` (the JWKS),
 * `GET .../userinfo`. The issuer has a path, as Keycloak's realms do. `misbehave` makes the next
 * ID token wrong in one way, for the client's checks to catch.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One way the next ID token is wrong. */
export type Misbehaviour = 'signature' | 'audience' | 'issuer' | 'expired' | 'nonce' | 'no-id-token';

/** A running stand-in. */
export interface OidcProvider {
  /** The issuer identifier: `http://127.0.0.1:<port>/realms/acme`. */
  issuer: string;
  /** Who signs in at the next authorization request, with which groups; `where` says which response lists them. */
  signInAs(login: string, groups: string[] | undefined, where?: 'id-token' | 'userinfo'): void;
  /** The next authorization request is answered with this OAuth 2 error instead (`access_denied`). */
  refuseNext(error: string): void;
  /** The next ID token is wrong in this way. */
  misbehave(how: Misbehaviour): void;
  /** Requests served (`discovery`, `auth`, `token`, `userinfo`, `jwks`, `404 <path>`), in order. */
  calls: string[];
}

async function body(req: IncomingMessage): Promise<string> {
  let out = '';
  for await (const chunk of req) out += String(chunk);
  return out;
}

function jwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid })}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** Starts the stand-in on 127.0.0.1; `clientId`/`clientSecret` with `redirectUri` is the only client it knows. */
export async function startOidcProvider(t: Teardown, client: { id: string; secret: string; redirectUri: string }): Promise<OidcProvider> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...keys.publicKey.export({ format: 'jwk' }), kid: 'stand-in-1', alg: 'RS256', use: 'sig' };
  let next: { login: string; groups: string[] | undefined; where: 'id-token' | 'userinfo' } = { login: '', groups: undefined, where: 'id-token' };
  let refusal: string | undefined;
  let misbehaviour: Misbehaviour | undefined;
  const codes = new Map<string, { person: typeof next; nonce: string; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, typeof next>();
  const subs = new Map<string, string>();
  const calls: string[] = [];
  let issuer = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(value));
    };
    const path = url.pathname.replace(/^\/realms\/acme/, '');
    const subOf = (login: string) => {
      if (!subs.has(login)) subs.set(login, `sub-${subs.size + 1}-${randomBytes(4).toString('hex')}`);
      return subs.get(login)!;
    };
    void (async () => {
      if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        calls.push('discovery');
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/certs`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
          code_challenge_methods_supported: ['S256'],
          scopes_supported: ['openid', 'profile', 'email', 'groups'],
        });
      }
      if (req.method === 'GET' && path === '/certs') {
        calls.push('jwks');
        return json(200, { keys: [jwk] });
      }
      if (req.method === 'GET' && path === '/auth') {
        calls.push('auth');
        const q = url.searchParams;
        if (q.get('client_id') !== client.id || q.get('redirect_uri') !== client.redirectUri || q.get('response_type') !== 'code') {
          return json(400, { error: 'invalid_request' });
        }
        if (!(q.get('scope') ?? '').split(' ').includes('openid') || q.get('code_challenge_method') !== 'S256' || !q.get('nonce') || !q.get('state')) {
          return json(400, { error: 'invalid_request', error_description: 'openid scope, S256 PKCE, nonce and state are required here' });
        }
        const back = new URL(client.redirectUri);
        back.searchParams.set('state', q.get('state')!);
        if (refusal) {
          back.searchParams.set('error', refusal);
          refusal = undefined;
        } else {
          const code = randomBytes(12).toString('hex');
          codes.set(code, { person: next, nonce: q.get('nonce')!, challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (req.method === 'POST' && path === '/token') {
        calls.push('token');
        const form = new URLSearchParams(await body(req));
        if (req.headers.authorization) return json(401, { error: 'invalid_client', error_description: 'client_secret_post only' });
        if (form.get('client_id') !== client.id || form.get('client_secret') !== client.secret) return json(401, { error: 'invalid_client' });
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!grant || form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== grant.redirectUri)
          return json(400, { error: 'invalid_grant' });
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)
          return json(400, { error: 'invalid_grant', error_description: 'PKCE' });
        const how = misbehaviour;
        misbehaviour = undefined;
        const now = Math.floor(Date.now() / 1000);
        const claims: Record<string, unknown> = {
          iss: how === 'issuer' ? `${issuer}-evil` : issuer,
          sub: subOf(grant.person.login),
          aud: how === 'audience' ? 'someone-else' : client.id,
          iat: how === 'expired' ? now - 7200 : now,
          exp: how === 'expired' ? now - 3600 : now + 300,
          nonce: how === 'nonce' ? 'not-the-nonce' : grant.nonce,
          preferred_username: grant.person.login,
          ...(grant.person.where === 'id-token' && grant.person.groups ? { groups: grant.person.groups } : {}),
        };
        const access = randomBytes(16).toString('hex');
        tokens.set(access, grant.person);
        const idToken = how === 'signature' ? jwt(claims, impostor.privateKey, 'stand-in-1') : jwt(claims, keys.privateKey, 'stand-in-1');
        return json(200, { access_token: access, token_type: 'Bearer', expires_in: 300, ...(how === 'no-id-token' ? {} : { id_token: idToken }) });
      }
      if (req.method === 'GET' && path === '/userinfo') {
        calls.push('userinfo');
        const person = tokens.get((req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
        if (!person) return json(401, { error: 'invalid_token' });
        return json(200, {
          sub: subOf(person.login),
          preferred_username: person.login,
          ...(person.where === 'userinfo' && person.groups ? { groups: person.groups } : {}),
        });
      }
      calls.push(`404 ${url.pathname}`);
      return json(404, { error: 'not_found' });
    })().catch((err: Error) => json(500, { error: 'server_error', error_description: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/realms/acme`;
  return {
    issuer,
    signInAs: (login, groups, where = 'id-token') => (next = { login, groups, where }),
    refuseNext: (error) => (refusal = error),
    misbehave: (how) => (misbehaviour = how),
    calls,
  };
}
