// Forge-specific signature rules, checked against each adapter's verify() with real signatures.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { parseConfig } from '../../src/config/load.js';
import { FORGES } from '../../src/forges/registry.js';
import { gitlabSignatureHeaders, gitlabSigningToken, KITS } from '../support/sign.js';

const SECRET = 'verify-secret-0123456789';
const body = Buffer.from(JSON.stringify({ hello: 'world' }));
const now = Date.now();

function settings(yaml: string) {
  return parseConfig(yaml, {}, 'test.yaml').forges;
}

t.test('GitHub', async (t) => {
  const github = FORGES.get('github')!;
  const cfg = settings(`forges: { github: { webhookSecret: ${SECRET} } }`).github!;
  const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
  const only1 = github.verify({ headers: { 'x-hub-signature': sha1 }, body, now }, cfg);
  t.same(only1, { ok: false, reason: 'only the SHA-1 X-Hub-Signature was sent; Landfall requires X-Hub-Signature-256' }, 'SHA-1 alone is refused');
  const both = github.verify({ headers: { 'x-hub-signature': sha1, ...(await KITS.github.sign(body, SECRET)) }, body, now }, cfg);
  t.same(both, { ok: true }, 'SHA-256 with the legacy header beside it is fine');
  const upper = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex').toUpperCase()}`;
  t.same(github.verify({ headers: { 'x-hub-signature-256': upper }, body, now }, cfg), { ok: true }, 'hex digits in either case');
  const sha512 = `sha512=${createHmac('sha512', SECRET).update(body).digest('hex')}`;
  t.match(github.verify({ headers: { 'x-hub-signature-256': sha512 }, body, now }, cfg), { ok: false, reason: /must start with "sha256="/ });
  const joined = `${upper}, ${upper}`;
  t.match(github.verify({ headers: { 'x-hub-signature-256': joined }, body, now }, cfg), { ok: false }, 'a repeated header joined by Node is refused');
  t.match(github.verify({ headers: { 'x-hub-signature-256': [upper, upper] }, body, now }, cfg), { ok: false, reason: /missing/ });
});

t.test('unsigned deliveries pass only with insecureNoSignature and no secret', async (t) => {
  for (const [id, adapter] of FORGES) {
    const extra = id === 'bitbucket-server' || id === 'gitea' ? ', url: "https://x.example.com"' : '';
    const open = settings(`forges: { ${id}: { insecureNoSignature: true${extra} } }`)[id]!;
    t.same(adapter.verify({ headers: {}, body, now }, open), { ok: true }, `${id}: unsigned accepted when configured so`);
    const closed = settings(`forges: { ${id}: { insecureNoSignature: true, webhookSecret: ${SECRET}${extra} } }`)[id]!;
    t.equal(adapter.verify({ headers: {}, body, now }, closed).ok, false, `${id}: a configured secret is always required`);
  }
});

t.test('GitLab secret token and signing token', async (t) => {
  const gitlab = FORGES.get('gitlab')!;
  const token = gitlabSigningToken('gl');
  const other = gitlabSigningToken('other');
  const tokenOnly = settings(`forges: { gitlab: { webhookSecret: ${SECRET} } }`).gitlab!;
  const signedOnly = settings(`forges: { gitlab: { signingToken: "${token}" } }`).gitlab!;
  const both = settings(`forges: { gitlab: { webhookSecret: ${SECRET}, signingToken: ["${other}", "${token}"] } }`).gitlab!;
  const verify = (headers: Record<string, string>, cfg: typeof both, at = now) => gitlab.verify({ headers, body, now: at }, cfg);

  t.same(verify({ 'x-gitlab-token': SECRET }, tokenOnly), { ok: true }, 'secret token');
  t.match(verify({ 'x-gitlab-token': `${SECRET}x` }, tokenOnly), { ok: false, reason: /X-Gitlab-Token does not match/ });
  t.match(verify({}, tokenOnly), { ok: false, reason: /missing X-Gitlab-Token/ });

  t.same(verify(gitlabSignatureHeaders(body, token, now), signedOnly), { ok: true }, 'signature alone');
  t.match(
    verify({ 'x-gitlab-token': SECRET }, signedOnly),
    { ok: false, reason: /missing webhook-signature/ },
    'a token cannot stand in for a required signature',
  );
  t.match(verify(gitlabSignatureHeaders(body, other, now), signedOnly), { ok: false, reason: /does not match/ });
  t.match(verify(gitlabSignatureHeaders(Buffer.from('{}'), token, now), signedOnly), { ok: false, reason: /does not match/ }, 'signature of another body');

  const old = gitlabSignatureHeaders(body, token, now - 6 * 60_000);
  t.match(verify(old, signedOnly), { ok: false, reason: /more than 5 minutes/ }, 'timestamp older than 5 minutes');
  const future = gitlabSignatureHeaders(body, token, now + 6 * 60_000);
  t.match(verify(future, signedOnly), { ok: false, reason: /more than 5 minutes/ }, 'timestamp from the future');
  const recent = gitlabSignatureHeaders(body, token, now - 4 * 60_000);
  t.same(verify(recent, signedOnly), { ok: true }, 'four minutes old is inside the window');

  const good = gitlabSignatureHeaders(body, token, now);
  const several = { ...good, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${good['webhook-signature']}` };
  t.same(verify(several, signedOnly), { ok: true }, 'one valid signature among several');
  t.match(verify({ ...good, 'webhook-signature': `v2,${good['webhook-signature']!.slice(3)}` }, signedOnly), { ok: false, reason: /no v1/ });
  const noTimestamp: Record<string, string> = { ...good };
  delete noTimestamp['webhook-timestamp'];
  t.match(verify(noTimestamp, signedOnly), { ok: false, reason: /webhook-timestamp/ });

  t.same(verify({ 'x-gitlab-token': SECRET, ...good }, both), { ok: true }, 'both valid, key rotation across signing tokens');
  t.same(verify({ 'x-gitlab-token': SECRET }, both), { ok: true }, 'token alone while migrating to signing tokens');
  t.match(verify({ 'x-gitlab-token': 'wrong-token-value', ...good }, both), { ok: false }, 'a wrong token is refused even beside a valid signature');
  t.match(
    verify({ 'x-gitlab-token': SECRET, ...gitlabSignatureHeaders(body, gitlabSigningToken('nope'), now) }, both),
    { ok: false },
    'a wrong signature is refused even beside a valid token',
  );
});

t.test('Gitea and Forgejo', async (t) => {
  const gitea = FORGES.get('gitea')!;
  const cfg = settings(`forges: { gitea: { webhookSecret: ${SECRET}, url: "https://gitea.example.com" } }`).gitea!;
  const hex = createHmac('sha256', SECRET).update(body).digest('hex');
  t.same(gitea.verify({ headers: { 'x-gitea-signature': hex }, body, now }, cfg), { ok: true });
  t.same(gitea.verify({ headers: { 'x-forgejo-signature': hex }, body, now }, cfg), { ok: true }, 'Forgejo header alone');
  t.same(gitea.verify({ headers: { 'x-forgejo-signature': hex, 'x-gitea-signature': hex }, body, now }, cfg), { ok: true });
  t.match(gitea.verify({ headers: { 'x-forgejo-signature': '0'.repeat(64), 'x-gitea-signature': hex }, body, now }, cfg), {
    ok: false,
    reason: /X-Forgejo-Signature/,
  });
  t.match(gitea.verify({ headers: { 'x-gitea-signature': `sha256=${hex}` }, body, now }, cfg), { ok: false }, 'Gitea signatures carry no prefix');
  t.equal(gitea.eventName({ 'x-forgejo-event': 'push' }), 'push');
  t.equal(gitea.deliveryId({ 'x-forgejo-delivery': 'f-1', 'x-gitea-delivery': 'g-1' }), 'f-1');
});
