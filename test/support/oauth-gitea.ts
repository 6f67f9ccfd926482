/**
 * A stand-in for Gitea as OAuth 2 provider, per Gitea's documented endpoints: `GET
 * /login/oauth/authorize` (the person chosen with `signInAs` has signed in and granted; it
 * redirects back with a code), `POST /login/oauth/access_token` (client credentials, code and PKCE
 * verifier checked), `GET /api/v1/user` and `GET /api/v1/repos/:owner/:repo` (404 for a
 * repository the person may not read, `permissions.pull/push` otherwise).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A running stand-in. */
export interface OAuthGitea {
  url: string;
  /** Who signs in at the next authorize request. */
  signInAs(login: string): void;
  /** What a person may do with a repository (`owner/name`); absent means they cannot read it. */
  grant(login: string, repo: string, access: 'read' | 'write'): void;
  /** Access-token and repository requests served, for the cache's sake. */
  calls: string[];
}

async function body(req: IncomingMessage): Promise<string> {
  let out = '';
  for await (const chunk of req) out += String(chunk);
  return out;
}

/** Starts the stand-in on 127.0.0.1; `clientId`/`clientSecret` are the only client it knows. */
export async function startOAuthGitea(t: Teardown, clientId: string, clientSecret: string): Promise<OAuthGitea> {
  let next = '';
  const codes = new Map<string, { login: string; challenge?: string }>();
  const tokens = new Map<string, string>();
  const grants = new Map<string, Map<string, 'read' | 'write'>>();
  const ids = new Map<string, number>();
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const who = () => tokens.get((req.headers.authorization ?? '').replace(/^token\s+/i, ''));
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        if (url.searchParams.get('client_id') !== clientId || url.searchParams.get('response_type') !== 'code') return json(400, { error: 'invalid_request' });
        const code = randomBytes(8).toString('hex');
        codes.set(code, { login: next, ...(url.searchParams.get('code_challenge') ? { challenge: url.searchParams.get('code_challenge')! } : {}) });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const text = await body(req);
        const form = (req.headers['content-type'] ?? '').includes('json')
          ? new URLSearchParams(Object.entries(JSON.parse(text) as Record<string, string>))
          : new URLSearchParams(text);
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [id, secret] = basic
          ? Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent)
          : [form.get('client_id'), form.get('client_secret')];
        if (id !== clientId || secret !== clientSecret) return json(401, { error: 'invalid_client' });
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!grant) return json(400, { error: 'invalid_grant' });
        if (
          grant.challenge &&
          createHash('sha256')
            .update(form.get('code_verifier') ?? '')
            .digest('base64url') !== grant.challenge
        )
          return json(400, { error: 'invalid_grant', error_description: 'PKCE' });
        const token = randomBytes(16).toString('hex');
        tokens.set(token, grant.login);
        calls.push(`token ${grant.login}`);
        return json(200, { access_token: token, token_type: 'bearer', expires_in: 3600 });
      }
      const login = who();
      if (!login) return json(401, { message: 'token is required' });
      if (req.method === 'GET' && url.pathname === '/api/v1/user') {
        if (!ids.has(login)) ids.set(login, ids.size + 1);
        return json(200, { id: ids.get(login), login });
      }
      const repo = /^\/api\/v1\/repos\/([^/]+\/[^/]+)$/.exec(url.pathname)?.[1];
      if (req.method === 'GET' && repo) {
        calls.push(`repo ${login} ${repo}`);
        const access = grants.get(login)?.get(repo);
        if (!access) return json(404, { message: "The target couldn't be found." });
        return json(200, { full_name: repo, permissions: { admin: false, push: access === 'write', pull: true } });
      }
      return json(404, { message: 'not found' });
    })().catch((err: Error) => json(500, { message: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    signInAs: (login) => (next = login),
    grant(login, repo, access) {
      if (!grants.has(login)) grants.set(login, new Map());
      grants.get(login)!.set(repo, access);
    },
    calls,
  };
}
