import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { DEFAULT_GROUPS_CLAIM, OIDC_DEFAULT_SCOPES, type Config } from '../config/schema.js';
import { errorMessage } from '../unknown.js';

type SignIn = NonNullable<Config['server']['auth']['signIn']>;

/** What a sign-in keeps between sending the person to the provider and their return (server-side, in the session). */
export interface OidcPending {
  state: string;
  nonce: string;
  /** The PKCE code verifier; the provider only ever sees its S256 challenge. */
  verifier: string;
}

/** Who came back from the provider: all a session keeps of them (no token). */
export interface OidcPerson {
  /** The ID token's `sub`: the provider's id of the person. */
  sub: string;
  /** A name to show and log: `preferred_username`, else `name`, else `email`, else `sub`. */
  login: string;
  /** Their groups, from the ID token's groups claim, else from userinfo's; empty when neither has one. */
  groups: string[];
}

/** One OpenID Connect provider: where to send a person, and what to make of their return. */
export interface OidcFlow {
  /** The provider's authorization URL for a new sign-in, and what to keep for the return. */
  start(): Promise<{ url: URL; pending: OidcPending }>;
  /**
   * The person who came back to `callbackUrl` (the full URL, with the provider's query): the code
   * is exchanged with PKCE, the state compared, and the ID token validated (issuer, audience,
   * signature against the provider's JWKS, expiry, nonce) by `openid-client`. Throws when any of
   * that fails or the provider answered with an error.
   */
  finish(callbackUrl: URL, pending: OidcPending): Promise<OidcPerson>;
}

/** Groups a session keeps at most, and the longest group name kept: a claim is the provider's to fill. */
const MAX_GROUPS = 500;
const MAX_GROUP_CHARS = 256;

/**
 * The groups a claim lists: an array of strings (other entries are skipped), or one string (one
 * group). `undefined` when the claim is absent or neither, so userinfo can be asked instead.
 */
export function groupsFromClaim(claims: Record<string, unknown> | undefined, name: string): string[] | undefined {
  const value = claims?.[name];
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : undefined;
  return list?.filter((g) => g.length > 0 && g.length <= MAX_GROUP_CHARS).slice(0, MAX_GROUPS);
}

/** The name a person goes by in the log and on the pages. */
function loginOf(claims: Record<string, unknown>, sub: string): string {
  for (const key of ['preferred_username', 'name', 'email']) {
    const value = claims[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return sub;
}

/**
 * Client authentication at the token endpoint: `client_secret_post`, unless the provider's
 * metadata lists `client_secret_basic` and not it. (Post first: Gitea, which lists no methods,
 * does not form-decode the Basic credentials as RFC 6749 asks, so an id with a `-` fails there.)
 */
function clientAuth(secret: string): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(secret);
  const post = oidc.ClientSecretPost(secret);
  return (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const useBasic = Array.isArray(methods) && methods.includes('client_secret_basic') && !methods.includes('client_secret_post');
    (useBasic ? basic : post)(as, client, body, headers);
  };
}

/**
 * Why a sign-in was refused, in words for the person and the log: the provider's OAuth 2 error
 * (`access_denied: ...`) when it sent one, else what `openid-client` found wrong (`unexpected JWT
 * "aud" (audience) claim value`).
 */
export function refusalReason(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) {
    return `the provider answered ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  // openid-client names the kind of failure and keeps the precise check that failed as the cause.
  if (err instanceof oidc.ClientError && err.cause instanceof Error && err.cause.message !== err.message) return `${err.message} (${err.cause.message})`;
  return errorMessage(err);
}

/** Options of {@link createOidcFlow}. */
export interface OidcFlowDeps {
  signIn: SignIn;
  /** Where the provider sends people back (`<publicUrl>/auth/callback`), registered with it. */
  callbackUrl: string;
  log: Logger;
}

/**
 * Sign-in with any OpenID Connect provider through `openid-client`: discovery from
 * `<issuer>/.well-known/openid-configuration` (once, on the first sign-in; again after a failure),
 * the authorization code flow with PKCE (S256), state and nonce, and ID tokens whose signature is
 * checked against the provider's JWKS (`enableNonRepudiationChecks`) besides issuer, audience,
 * expiry and nonce. An `http:` issuer is allowed (a provider on the same host or network); its
 * requests then go unencrypted, and `check-config` warns unless it is on loopback.
 */
export function createOidcFlow(deps: OidcFlowDeps): OidcFlow {
  const { signIn, callbackUrl, log } = deps;
  if (!signIn.issuer) throw new Error('server.auth.signIn.issuer is needed with provider: oidc');
  const issuer = new URL(signIn.issuer);
  const scope = (signIn.scopes ?? OIDC_DEFAULT_SCOPES).join(' ');
  const claim = signIn.groupsClaim ?? DEFAULT_GROUPS_CLAIM;
  const execute = [oidc.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [])];
  let discovered: Promise<oidc.Configuration> | undefined;

  /** The provider's configuration; a failed discovery is forgotten, so the next sign-in tries again. */
  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(issuer, signIn.clientId, { client_secret: signIn.clientSecret }, clientAuth(signIn.clientSecret), { execute, timeout: 10 })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  }

  return {
    async start() {
      const config = await configuration();
      const pending: OidcPending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callbackUrl,
        scope,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
      });
      return { url, pending };
    },

    async finish(current, pending) {
      const config = await configuration();
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.verifier,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider sent no ID token');
      let groups = groupsFromClaim(claims, claim);
      if (groups === undefined && config.serverMetadata().userinfo_endpoint) {
        // Some providers list groups only at userinfo; the access token is used for that one request and dropped.
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub).catch((err: Error) => {
          log.warn({ err: err.message, sub: claims.sub }, 'could not read groups from the userinfo endpoint; the person gets no group');
          return undefined;
        });
        groups = groupsFromClaim(info, claim);
      }
      return { sub: claims.sub, login: loginOf(claims, claims.sub), groups: groups ?? [] };
    },
  };
}
