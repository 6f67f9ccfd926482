/**
 * The real `sops` (built from its Go module by `scripts/real/build.sh sops`) and `age-keygen`
 * (Debian's `age` package) for tests: fixtures are encrypted at test time, never hand-made.
 *
 *   const skip = realSopsSkip();                       // at module load: a reason, or false
 *   t.test('...', { skip }, async (t) => { const key = await ageKeygen(); ... });
 *
 * Without them the tests skip with one reason, unless `LANDFALL_REQUIRE_REAL=1` (CI), where
 * that is a failure.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './process.js';

const exec = promisify(execFile);

/** The sops binary the build script made for the pinned wrapper, or undefined. */
export function sopsBinary(): string | undefined {
  try {
    const dir = execFileSync(join(ROOT, 'scripts/real/build.sh'), ['dir', 'sops'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const bin = join(dir, 'bin/sops');
    return existsSync(join(dir, '.complete')) && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}

/**
 * False when sops and age-keygen are there; else why the tests skip. Throws when
 * `LANDFALL_REQUIRE_REAL=1` and they are not, so CI fails instead of skipping.
 */
export function realSopsSkip(): string | false {
  let reason: string | undefined;
  if (!sopsBinary()) reason = 'no real sops: run `scripts/real/build.sh sops` (needs Go)';
  else if (!onPath('age-keygen')) reason = 'no age-keygen: install the age package (apt-get install age)';
  if (!reason) return false;
  if (process.env.LANDFALL_REQUIRE_REAL === '1') throw new Error(`LANDFALL_REQUIRE_REAL=1 but ${reason}`);
  return reason;
}

/** An age key pair from `age-keygen`. */
export interface AgeKey {
  /** `AGE-SECRET-KEY-1...` */
  identity: string;
  /** `age1...` */
  recipient: string;
  /** age-keygen's whole output (comments and the identity), as a key file holds it. */
  file: string;
}

/** A new key pair from the real age-keygen. */
export async function ageKeygen(): Promise<AgeKey> {
  const { stdout } = await exec('age-keygen', [], { encoding: 'utf8' });
  const identity = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(stdout)?.[0];
  const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(stdout)?.[1];
  if (!identity || !recipient) throw new Error('age-keygen printed no key');
  return { identity, recipient, file: stdout };
}

/** Options for {@link sopsEncrypt}. */
export interface EncryptOptions {
  /** age recipients the data key is wrapped for. */
  age?: string[];
  /** PGP fingerprints (with `gnupgHome`), for the unsupported-key case. */
  pgp?: string[];
  gnupgHome?: string;
  /** The file name sops sees, which decides the format (`secret.yaml`, `app.env`, `tls.crt`). */
  name: string;
  /** Extra sops arguments (`--encrypted-regex`, `--unencrypted-suffix`, ...). */
  args?: string[];
}

/** Encrypts `plaintext` with the real sops, in a scratch directory with no .sops.yaml. */
export async function sopsEncrypt(plaintext: string, options: EncryptOptions): Promise<string> {
  const bin = sopsBinary();
  if (!bin) throw new Error('sops is not built');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-sops-fixture-'));
  try {
    const file = join(dir, options.name);
    await writeFile(file, plaintext);
    const args = [
      '--encrypt',
      ...(options.age?.length ? ['--age', options.age.join(',')] : []),
      ...(options.pgp?.length ? ['--pgp', options.pgp.join(',')] : []),
      ...(options.args ?? []),
      '--in-place',
      file,
    ];
    await exec(bin, args, {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ...(options.gnupgHome ? { GNUPGHOME: options.gnupgHome } : {}) },
    });
    return await readFile(file, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Decrypts with the real sops (to check a fixture round-trips the way sops itself reads it). */
export async function sopsDecrypt(ciphertext: string, name: string, identity: string): Promise<string> {
  const bin = sopsBinary();
  if (!bin) throw new Error('sops is not built');
  const dir = await mkdtemp(join(tmpdir(), 'landfall-sops-fixture-'));
  try {
    const file = join(dir, name);
    await writeFile(file, ciphertext);
    const { stdout } = await exec(bin, ['--decrypt', file], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY: identity } });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A throwaway GnuPG home with one key; returns its fingerprint (for a PGP-only fixture). */
export async function gpgKey(): Promise<{ home: string; fingerprint: string; dispose(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'landfall-gpg-'));
  const env = { PATH: process.env.PATH, GNUPGHOME: home };
  await exec('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'landfall-test@example.invalid', 'default', 'default', 'never'], { env });
  const { stdout } = await exec('gpg', ['--batch', '--with-colons', '--list-keys'], { env });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error('gpg made no key');
  return {
    home,
    fingerprint,
    async dispose() {
      await exec('gpgconf', ['--kill', 'all'], { env }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}
