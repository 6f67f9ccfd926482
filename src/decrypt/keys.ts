import { readFileSync } from 'node:fs';
import { identityToRecipient } from 'age-encryption';
import { errorCode, errorMessage } from '../unknown.js';

/** One age identity (a private key) and the public recipient it decrypts for. */
export interface AgeIdentity {
  /** `AGE-SECRET-KEY-1...`: never logged, printed or stored. */
  readonly secret: string;
  /** Where it came from, for messages: `LANDFALL_AGE_KEY line 2`. */
  readonly source: string;
}

/** The identities the worker holds, with their public recipients worked out once. */
export interface AgeKeyring {
  readonly identities: readonly AgeIdentity[];
  /** The public recipient of each identity, in order (`age1...`). */
  recipients(): Promise<string[]>;
}

/** A configuration problem with the identities; the message never holds a key. */
export class AgeKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgeKeyError';
  }
}

const IDENTITY = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;

/**
 * Reads identities in age's own file format (what `age-keygen` writes): one per line, `#`
 * comments and blank lines ignored. `source` names the text in errors; a bad line is named by
 * its number, never shown.
 */
export function parseIdentities(text: string, source: string): AgeIdentity[] {
  const out: AgeIdentity[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (!IDENTITY.test(line)) throw new AgeKeyError(`${source} line ${i + 1} is not an age identity (AGE-SECRET-KEY-1...); only age keys are supported`);
    out.push({ secret: line, source: `${source} line ${i + 1}` });
  });
  return out;
}

/**
 * The identities from the environment: `LANDFALL_AGE_KEY` (identities themselves, one a line,
 * like `SOPS_AGE_KEY`) and `LANDFALL_AGE_KEY_FILE` (a file of them, e.g. a mounted Secret),
 * both allowed at once. Throws {@link AgeKeyError} for a file that cannot be read or a line
 * that is not an identity, so a worker with a broken key does not start.
 */
export function keyringFromEnv(env: NodeJS.ProcessEnv = process.env): AgeKeyring {
  const identities: AgeIdentity[] = [];
  if (env.LANDFALL_AGE_KEY) identities.push(...parseIdentities(env.LANDFALL_AGE_KEY, 'LANDFALL_AGE_KEY'));
  const file = env.LANDFALL_AGE_KEY_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AgeKeyError(`LANDFALL_AGE_KEY_FILE ${file}: cannot read it (${errorCode(err) ?? errorMessage(err)})`);
    }
    identities.push(...parseIdentities(text, file));
  }
  return createKeyring(identities);
}

/** A keyring over the given identities (duplicates dropped). */
export function createKeyring(identities: readonly AgeIdentity[]): AgeKeyring {
  const unique = identities.filter((id, i) => identities.findIndex((o) => o.secret === id.secret) === i);
  let recipients: Promise<string[]> | undefined;
  return {
    identities: unique,
    recipients() {
      recipients ??= Promise.all(
        unique.map((id) =>
          identityToRecipient(id.secret).catch(() => {
            throw new AgeKeyError(`${id.source} is not a valid age identity`);
          }),
        ),
      );
      return recipients;
    },
  };
}

/** The identities an app may use: all of them, or those whose recipient `allowed` lists. */
export async function identitiesFor(keyring: AgeKeyring, allowed: readonly string[] | undefined): Promise<{ identity: AgeIdentity; recipient: string }[]> {
  const recipients = await keyring.recipients();
  const all = keyring.identities.map((identity, i) => ({ identity, recipient: recipients[i] ?? '' }));
  return allowed ? all.filter((e) => allowed.includes(e.recipient)) : all;
}
