// SOPS decryption against the real tools: every fixture is encrypted here, at test time, by the
// real sops (built from its Go module) for keys from the real age-keygen.
import t from 'tap';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parse } from 'yaml';
import { createKeyring, keyringFromEnv, parseIdentities } from '../../src/decrypt/keys.js';
import { decryptSops, SopsError, sopsFormatOf, looksEncrypted, type UsableIdentity } from '../../src/decrypt/sops.js';
import { removeLeftoverDirs, withPrivateDir } from '../../src/decrypt/workdir.js';
import { ageKeygen, gpgKey, realSopsSkip, sopsDecrypt, sopsEncrypt, type AgeKey } from '../support/real-sops.js';

const skip = realSopsSkip();

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  labels:
    tier: "10"
type: Opaque
stringData:
  password: hunter2-plain-value
  multi: |
    line one
    line two
  "9": nine
  "10": ten
  empty: ""
  flag: "yes"
data:
  token: c2VjcmV0LXRva2Vu
extra:
  port: 5432
  ratio: 1.5
  enabled: true
  list: [a, b, 3]
`;

async function usable(...keys: AgeKey[]): Promise<UsableIdentity[]> {
  const ring = createKeyring(keys.map((k, i) => ({ secret: k.identity, source: `key ${i}` })));
  const recipients = await ring.recipients();
  return ring.identities.map((identity, i) => ({ identity, recipient: recipients[i]! }));
}

async function failure(p: Promise<unknown>): Promise<SopsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SopsError)) throw new Error(`expected a SopsError, got ${String(err)}`);
  return err;
}

t.test('identities: age-keygen files, env, recipients; a bad line is named, never shown', { skip }, async (t) => {
  const a = await ageKeygen();
  const b = await ageKeygen();
  const dir = await mkdtemp(join(tmpdir(), 'landfall-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'keys.txt'), b.file);
  const ring = keyringFromEnv({ LANDFALL_AGE_KEY: a.identity, LANDFALL_AGE_KEY_FILE: join(dir, 'keys.txt') });
  t.same(await ring.recipients(), [a.recipient, b.recipient], 'the public recipients age-keygen printed');
  t.same(keyringFromEnv({}).identities, [], 'none without the variables');
  const bad = `${a.identity}\nnot-a-key-but-secret-looking-XYZ\n`;
  try {
    parseIdentities(bad, 'LANDFALL_AGE_KEY');
  } catch (err) {
    t.match((err as Error).message, /LANDFALL_AGE_KEY line 2 is not an age identity/);
    t.notMatch((err as Error).message, /XYZ|AGE-SECRET-KEY-1[0-9A-Z]{8}/);
  }
  t.throws(() => keyringFromEnv({ LANDFALL_AGE_KEY_FILE: join(dir, 'missing.txt') }), /cannot read it \(ENOENT\)/);
});

t.test('YAML: a Secret sops encrypted decrypts to what sops itself reads, types and key order kept', { skip }, async (t) => {
  const key = await ageKeygen();
  const enc = await sopsEncrypt(SECRET, { age: [key.recipient], name: 'secret.yaml' });
  t.ok(looksEncrypted(enc), 'recognised as SOPS');
  t.notMatch(enc, /hunter2/, 'sops encrypted the value');
  const out = await decryptSops(enc, 'yaml', await usable(key));
  t.same(parse(out), parse(await sopsDecrypt(enc, 'secret.yaml', key.identity)), 'the same document sops decrypts');
  t.same(parse(out), parse(SECRET), 'the original document');
  t.notMatch(out, /sops:|ENC\[/, 'no metadata or ciphertext left');
  t.match(out, /flag: "yes"/, 'a decrypted "yes" stays a string for YAML 1.1 readers');
});

t.test('YAML with --encrypted-regex and several documents; JSON; dotenv; binary', { skip }, async (t) => {
  const key = await ageKeygen();
  const ids = await usable(key);
  const multi = `${SECRET}---\napiVersion: v1\nkind: Secret\nmetadata: { name: second }\nstringData: { api: second-plain-value }\n`;
  const partial = await sopsEncrypt(multi, { age: [key.recipient], name: 'multi.yaml', args: ['--encrypted-regex', '^(data|stringData)$'] });
  t.match(partial, /name: db/, 'metadata stays readable');
  t.same(
    (await decryptSops(partial, 'yaml', ids)).split(/^---$/m).map((d) => parse(d)),
    multi.split(/^---$/m).map((d) => parse(d)),
  );

  const json = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'j' }, stringData: { key: 'json-plain-value', n: 7 } }, null, 2);
  const encJson = await sopsEncrypt(json, { age: [key.recipient], name: 'secret.json' });
  t.same(JSON.parse(await decryptSops(encJson, sopsFormatOf('secret.json'), ids)), JSON.parse(json));

  const env = 'USER=admin\nPASSWORD=env-plain-value\nURL=postgres://db:5432/app?x=1\n';
  const encEnv = await sopsEncrypt(env, { age: [key.recipient], name: 'app.env' });
  t.match(encEnv, /^sops_mac=/m);
  t.equal(await decryptSops(encEnv, sopsFormatOf('app.env'), ids), env, 'the .env as it was');

  const pem = '-----BEGIN CERTIFICATE-----\nMIIB-binary-plain-value\n-----END CERTIFICATE-----\n';
  const encBin = await sopsEncrypt(pem, { age: [key.recipient], name: 'tls.crt' });
  t.equal(await decryptSops(encBin, sopsFormatOf('tls.crt'), ids), pem, 'binary format: the file bytes');
});

t.test('integrity: a changed, moved, removed or added value fails the MAC or the value', { skip }, async (t) => {
  const key = await ageKeygen();
  const ids = await usable(key);
  const enc = await sopsEncrypt(SECRET, { age: [key.recipient], name: 'secret.yaml', args: ['--encrypted-regex', '^(stringData)$'] });
  const doc = parse(enc) as { stringData: Record<string, string>; data: Record<string, string>; metadata: { name: string } };

  const flipped = enc.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
  t.not(flipped, enc);
  const e1 = await failure(decryptSops(flipped, 'yaml', ids));
  t.equal(e1.code, 'SOPS_MAC_MISMATCH');
  t.match(e1.message, /stringData\.password does not decrypt/);

  const moved = enc
    .replace(`password: ${doc.stringData.password}`, `password: ${doc.stringData.multi}`)
    .replace(`multi: ${doc.stringData.multi}`, `multi: ${doc.stringData.password}`);
  t.not(moved, enc);
  t.equal((await failure(decryptSops(moved, 'yaml', ids))).code, 'SOPS_MAC_MISMATCH', 'values swapped between keys');

  const plainChanged = enc.replace('token: c2VjcmV0LXRva2Vu', 'token: b3RoZXI=');
  const e3 = await failure(decryptSops(plainChanged, 'yaml', ids));
  t.equal(e3.code, 'SOPS_MAC_MISMATCH', 'an unencrypted value changed');
  t.match(e3.message, /MAC mismatch/);

  const removed = enc.replace(/^ +multi: .*\n/m, '');
  t.not(removed, enc);
  t.equal((await failure(decryptSops(removed, 'yaml', ids))).code, 'SOPS_MAC_MISMATCH', 'a value removed');

  const added = enc.replace('type: Opaque', 'type: Opaque\nimmutable: true');
  t.equal((await failure(decryptSops(added, 'yaml', ids))).code, 'SOPS_MAC_MISMATCH', 'a value added');
});

t.test('keys: a missing identity is named by its recipient; several identities; unsupported key types', { skip }, async (t) => {
  const a = await ageKeygen();
  const b = await ageKeygen();
  const enc = await sopsEncrypt(SECRET, { age: [b.recipient], name: 'secret.yaml' });
  const missing = await failure(decryptSops(enc, 'yaml', await usable(a)));
  t.equal(missing.code, 'SOPS_NO_IDENTITY');
  t.match(missing.message, new RegExp(`no age identity for recipient ${b.recipient}`));
  t.notMatch(missing.message, /AGE-SECRET-KEY/);
  t.equal((await failure(decryptSops(enc, 'yaml', []))).code, 'SOPS_NO_IDENTITY', 'no identities at all');
  t.same(parse(await decryptSops(enc, 'yaml', await usable(a, b))), parse(SECRET), 'the second of two identities');

  const both = await sopsEncrypt(SECRET, { age: [a.recipient, b.recipient], name: 'secret.yaml' });
  t.same(parse(await decryptSops(both, 'yaml', await usable(b))), parse(SECRET), 'a file for two recipients, either identity');

  const gpg = await gpgKey();
  t.teardown(() => gpg.dispose());
  const pgpOnly = await sopsEncrypt(SECRET, { pgp: [gpg.fingerprint], gnupgHome: gpg.home, name: 'secret.yaml' });
  const unsupported = await failure(decryptSops(pgpOnly, 'yaml', await usable(a)));
  t.equal(unsupported.code, 'SOPS_UNSUPPORTED_KEY');
  t.match(unsupported.message, /encrypted only for pgp; Landfall decrypts age recipients only/);

  const mixed = await sopsEncrypt(SECRET, { age: [b.recipient], pgp: [gpg.fingerprint], gnupgHome: gpg.home, name: 'secret.yaml' });
  const e = await failure(decryptSops(mixed, 'yaml', await usable(a)));
  t.equal(e.code, 'SOPS_NO_IDENTITY');
  t.match(e.message, /also encrypted for pgp, which Landfall does not support/);
});

t.test('private working directories: 0700, removed in every outcome; leftovers of a dead process removed at start', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'landfall-decrypt-test-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  let seen = '';
  await withPrivateDir(root, async (dir) => {
    seen = dir;
    t.equal((await stat(dir)).mode & 0o777, 0o700, 'the directory is private');
    await writeFile(join(dir, 'plain'), 'x');
  });
  t.equal((await stat(root)).mode & 0o777, 0o700, 'and so is the root');
  t.ok(seen);
  t.same(await readdir(root), [], 'removed after success');
  await t.rejects(
    withPrivateDir(root, async () => Promise.reject(new Error('render failed'))),
    /render failed/,
  );
  t.same(await readdir(root), [], 'removed after a failure');

  // A process that has exited: its directory is a crash leftover. A live one keeps its own.
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  t.teardown(() => sleeper.kill());
  await mkdir(join(root, `${deadPid}-0a0b0c0d-abc`, 'repo'), { recursive: true });
  await mkdir(join(root, `${sleeper.pid}-0a0b0c0d-def`));
  await mkdir(join(root, `${process.pid}-0a0b0c0d-ghi`), { recursive: true });
  await mkdir(join(root, 'junk'));
  let mine = '';
  await withPrivateDir(root, async (dir) => {
    mine = dir;
    t.equal(await removeLeftoverDirs(root), 3, 'a dead pid, this pid before a restart, and junk');
  });
  t.ok(mine);
  t.same(await readdir(root), [`${sleeper.pid}-0a0b0c0d-def`], 'a live process keeps its own; ours was in use until it ended');
});

t.test('check-config lists the loaded identities by public recipient, never the private part', { skip }, async (t) => {
  const { describeIdentities } = await import('../../src/main.js');
  const { parseConfig } = await import('../../src/config/load.js');
  const key = await ageKeygen();
  const other = await ageKeygen();
  const config = parseConfig(
    `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: web, forge: github, repo: a/b, branch: main, namespace: web, decryption: { recipients: [${other.recipient}] } }\n`,
    {},
  );
  const text = await describeIdentities(config, { LANDFALL_AGE_KEY: key.identity });
  t.match(text, `age identities (1): ${key.recipient}`);
  t.match(text, `web: decryption.recipients without a loaded identity: ${other.recipient}`);
  t.notMatch(text, /AGE-SECRET-KEY/);
  t.match(await describeIdentities(config, {}), /age identities: none/);
});
