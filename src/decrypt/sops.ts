/**
 * SOPS files encrypted for age recipients, decrypted in memory. The format, as documented by
 * SOPS (https://getsops.io) and checked against the real `sops` by the tests:
 *
 * - every value is replaced by `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<type>]`,
 *   AES-256-GCM under one data key, with the value's path (`data:password:`) as additional data;
 * - the data key is kept in the `sops` metadata, wrapped for each recipient (`sops.age[].enc`,
 *   an armored age file holding the 32 key bytes);
 * - `sops.mac` is the SHA-512 of every value in document order (upper-case hex), encrypted under
 *   the data key with `sops.lastmodified` as additional data: a value changed, added or removed
 *   after encryption breaks it.
 *
 * YAML and JSON keep the metadata in a top-level `sops` key, dotenv files in `sops_*` lines
 * (nested keys flattened with `__map_` and `__list_<n>`); any other file is SOPS's binary
 * format, a JSON document with the file's bytes in `data`.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { armor, Decrypter } from 'age-encryption';
import { parseAllDocuments, stringify, type DocumentOptions, type SchemaOptions, type ToStringOptions } from 'yaml';
import { errorMessage, isRecord } from '../unknown.js';
import type { AgeIdentity } from './keys.js';

/** YAML 1.1 output (strings like "yes" quoted) with Maps as plain mappings, never `!!omap`. */
const YAML_OUT: DocumentOptions & SchemaOptions & ToStringOptions = {
  version: '1.1',
  lineWidth: 0,
  customTags: (tags) => tags.filter((t) => (typeof t === 'string' ? t : t.tag) !== 'tag:yaml.org,2002:omap'),
};

/** How a file is stored, from its name as SOPS decides it. */
export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'binary';

/** Why a file could not be decrypted; never holds a value or a key. */
export type SopsErrorCode = 'SOPS_INVALID' | 'SOPS_MAC_MISMATCH' | 'SOPS_NO_IDENTITY' | 'SOPS_UNSUPPORTED_KEY';

/** A file SOPS encrypted that Landfall cannot or must not decrypt. */
export class SopsError extends Error {
  constructor(
    readonly code: SopsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SopsError';
  }
}

/** An identity usable for a file, with its public recipient. */
export interface UsableIdentity {
  identity: AgeIdentity;
  recipient: string;
}

/** SOPS's key types besides age, which Landfall does not decrypt. */
const OTHER_KEY_TYPES = ['pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'huawei_kms'];

const ENC = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]$/;

/** The format SOPS gives a file of this name. */
export function sopsFormatOf(file: string): SopsFormat {
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  if (/\.json$/i.test(file)) return 'json';
  if (/\.env$/i.test(file)) return 'dotenv';
  return 'binary';
}

/**
 * Whether text looks SOPS-encrypted: it holds an encrypted value and SOPS metadata. Cheap, so
 * every candidate file can be checked; {@link decryptSops} decides for certain.
 */
export function looksEncrypted(text: string): boolean {
  return text.includes('ENC[AES256_GCM,') && /(^|\n|["{,]\s*)"?sops"?\s*:|^sops_mac=/m.test(text);
}

/** The `sops` metadata as read: every field checked where it is used. */
type Metadata = Record<string, unknown>;

/** A metadata value in words for an error message. */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null || value === undefined) return String(value);
  return JSON.stringify(value) ?? typeof value;
}

/**
 * Decrypts a SOPS file with the first identity that unwraps its data key, verifies its MAC, and
 * returns the plaintext in the same format (YAML written as YAML 1.1 scalars would be read, so a
 * decrypted "yes" stays a string for kubectl and Helm). Throws {@link SopsError}.
 */
export async function decryptSops(text: string, format: SopsFormat, identities: readonly UsableIdentity[]): Promise<string> {
  const file = readFile(text, format);
  const key = await dataKey(file.metadata, identities);
  const hash = createHash('sha512');
  const macOnlyEncrypted = file.metadata.mac_only_encrypted === true || file.metadata.mac_only_encrypted === 'true';
  const branches = file.branches.map((branch) => walk(branch, [], key, hash, macOnlyEncrypted));
  verifyMac(file.metadata, key, hash.digest('hex').toUpperCase());
  return file.write(branches);
}

interface ParsedFile {
  metadata: Metadata;
  branches: Map<string, unknown>[];
  write(branches: unknown[]): string;
}

function readFile(text: string, format: SopsFormat): ParsedFile {
  switch (format) {
    case 'yaml': {
      const docs = parseAllDocuments(text);
      const list = Array.isArray(docs) ? docs : [docs];
      const values = list.map((doc) => {
        if (doc.errors.length > 0) throw new SopsError('SOPS_INVALID', `not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
        // Maps keep the file's key order, which the MAC depends on ("10" before "9" included).
        const value: unknown = doc.toJS({ maxAliasCount: 100, mapAsMap: true });
        return value;
      });
      const { metadata, branches } = splitMetadata(values);
      return { metadata, branches, write: (out) => out.map((doc) => stringify(doc, YAML_OUT)).join('---\n') };
    }
    case 'json':
    case 'binary': {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new SopsError('SOPS_INVALID', `not valid JSON: ${errorMessage(err)}`);
      }
      const { metadata, branches } = splitMetadata([value]);
      if (format === 'json') return { metadata, branches, write: (out) => `${JSON.stringify(plain(out[0]), null, 2)}\n` };
      return {
        metadata,
        branches,
        write: (out) => {
          const first = out[0];
          const data: unknown = first instanceof Map ? first.get('data') : undefined;
          if (typeof data !== 'string') throw new SopsError('SOPS_INVALID', 'a SOPS binary file must hold its content in "data"');
          return data;
        },
      };
    }
    case 'dotenv':
      return readDotenv(text);
  }
}

/** A value with its Maps turned into objects (for the metadata). */
function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

function splitMetadata(values: unknown[]): { metadata: Metadata; branches: Map<string, unknown>[] } {
  let metadata: Metadata | undefined;
  const branches = values.map((value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new SopsError('SOPS_INVALID', 'a SOPS document must be a mapping');
    const entries: (readonly [string, unknown])[] =
      value instanceof Map ? [...value.entries()].map(([k, v]: [unknown, unknown]) => [String(k), v] as const) : Object.entries(value);
    const sops = entries.find(([k]) => k === 'sops')?.[1];
    if (!metadata) {
      const meta = plain(sops);
      if (isRecord(meta)) metadata = meta;
    }
    return new Map(entries.filter(([k]) => k !== 'sops'));
  });
  if (!metadata) throw new SopsError('SOPS_INVALID', 'no "sops" metadata');
  return { metadata, branches };
}

/** dotenv: `KEY=value` lines, `\n` escaped, metadata flattened into `sops_*` keys. */
function readDotenv(text: string): ParsedFile {
  const branch = new Map<string, unknown>();
  const flat: [string, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new SopsError('SOPS_INVALID', 'a dotenv line is not KEY=value');
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1).replace(/\\n/g, '\n');
    if (key.startsWith('sops_')) flat.push([key.slice('sops_'.length), value]);
    else branch.set(key, value);
  }
  if (flat.length === 0) throw new SopsError('SOPS_INVALID', 'no sops_* metadata');
  const metadata: Record<string, unknown> = {};
  for (const [path, value] of flat) setFlattened(metadata, path, value);
  return {
    metadata,
    branches: [branch],
    write: (out) =>
      [...(out[0] instanceof Map ? out[0].entries() : [])].map(([k, v]: [unknown, unknown]) => `${show(k)}=${show(v).replace(/\n/g, '\\n')}\n`).join(''),
  };
}

/** Sets `age__list_0__map_recipient` in a nested object as SOPS flattened it. */
function setFlattened(target: Record<string, unknown>, path: string, value: string): void {
  const parts = path.split(/__(?=list_\d+|map_)/);
  let node: Record<string, unknown> | unknown[] = target;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const list = /^list_(\d+)$/.exec(part);
    const key: string | number = list ? Number(list[1]) : part.replace(/^map_/, '');
    const nextIsList = !last && /^list_\d+$/.test(parts[i + 1] ?? '');
    const holder = node;
    const read = (): unknown => (Array.isArray(holder) ? holder[Number(key)] : holder[String(key)]);
    const write = (v: unknown): void => {
      if (Array.isArray(holder)) holder[Number(key)] = v;
      else holder[String(key)] = v;
    };
    if (last) write(value);
    else if (read() === undefined || read() === null) write(nextIsList ? [] : {});
    const next = read();
    if (!last && !isRecord(next) && !Array.isArray(next)) throw new SopsError('SOPS_INVALID', 'the sops_* metadata sets a key twice');
    if (isRecord(next) || Array.isArray(next)) node = next;
  });
}

/** The data key, unwrapped by the first identity whose recipient the file lists. */
async function dataKey(metadata: Metadata, identities: readonly UsableIdentity[]): Promise<Buffer> {
  const others = OTHER_KEY_TYPES.filter((type) => {
    const value = metadata[type];
    return Array.isArray(value) && value.length > 0;
  });
  if (Array.isArray(metadata.key_groups) && metadata.key_groups.length > 0) {
    throw new SopsError(
      'SOPS_UNSUPPORTED_KEY',
      'the file uses key_groups (Shamir secret sharing), which Landfall does not support; encrypt it for age recipients without key groups',
    );
  }
  const age: unknown[] = Array.isArray(metadata.age) ? metadata.age : [];
  const entries = age.filter(isRecord).filter((e) => typeof e.enc === 'string');
  if (entries.length === 0) {
    const what = others.length > 0 ? `only for ${others.join(', ')}` : 'for no key Landfall knows';
    throw new SopsError('SOPS_UNSUPPORTED_KEY', `the file is encrypted ${what}; Landfall decrypts age recipients only (add an age recipient: sops updatekeys)`);
  }
  const listed = entries.map((e) => show(e.recipient ?? '(no recipient)'));
  // Identities whose recipient the file names first; then the rest, for recipients SOPS wrote differently.
  const ordered = [...identities.filter((i) => listed.includes(i.recipient)), ...identities.filter((i) => !listed.includes(i.recipient))];
  for (const { identity, recipient } of ordered) {
    for (const entry of entries) {
      if (listed.includes(recipient) && entry.recipient !== recipient) continue;
      let wrapped: Uint8Array;
      try {
        wrapped = armor.decode(show(entry.enc));
      } catch {
        throw new SopsError('SOPS_INVALID', `the data key for ${show(entry.recipient)} is not an armored age file`);
      }
      const decrypter = new Decrypter();
      decrypter.addIdentity(identity.secret);
      const key = await decrypter.decrypt(wrapped).catch(() => undefined);
      if (key) {
        if (key.length !== 32) throw new SopsError('SOPS_INVALID', 'the data key is not 32 bytes');
        return Buffer.from(key);
      }
    }
  }
  const also = others.length > 0 ? ` (it is also encrypted for ${others.join(', ')}, which Landfall does not support)` : '';
  throw new SopsError(
    'SOPS_NO_IDENTITY',
    `no age identity for recipient${listed.length === 1 ? '' : 's'} ${listed.join(', ')}${also}; give Landfall the identity (LANDFALL_AGE_KEY or LANDFALL_AGE_KEY_FILE) or check the app's decryption.recipients`,
  );
}

/** Decrypts one `ENC[...]` value; the error names the path, never the value. */
function decryptValue(value: string, key: Buffer, aad: string, where: string): { bytes: Buffer; type: string } {
  const m = ENC.exec(value);
  if (!m) throw new SopsError('SOPS_INVALID', `${where}: not a SOPS AES256_GCM value`);
  // The pattern's groups are not optional: every one is set when it matches.
  const [, data = '', iv = '', tag = '', type = ''] = m;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return { bytes: Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]), type };
  } catch {
    throw new SopsError('SOPS_MAC_MISMATCH', `${where} does not decrypt: the file was changed after it was encrypted (or a value was moved)`);
  }
}

function typed(bytes: Buffer, type: string, where: string): unknown {
  const text = bytes.toString('utf8');
  switch (type) {
    case 'str':
    case 'bytes':
    case 'comment':
      return text;
    case 'int':
    case 'float': {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new SopsError('SOPS_INVALID', `${where}: a ${type} value is not a number`);
      return n;
    }
    case 'bool':
      return text.toLowerCase() === 'true';
    default:
      throw new SopsError('SOPS_INVALID', `${where}: unknown value type "${type}"`);
  }
}

/** SOPS's bytes of a value left in the clear (for the MAC). */
function plainBytes(value: unknown): Buffer {
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  if (value === null || value === undefined) return Buffer.alloc(0);
  // Only scalars reach here: walk() descends into arrays, Maps and objects.
  return Buffer.from(show(value), 'utf8');
}

/** Decrypts every value below `node` (keys joined by ":" as additional data), hashing them in order. */
function walk(node: unknown, path: string[], key: Buffer, hash: ReturnType<typeof createHash>, macOnlyEncrypted: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => walk(item, path, key, hash, macOnlyEncrypted));
  if (node instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of node) out.set(k, walk(v, [...path, String(k)], key, hash, macOnlyEncrypted));
    return out;
  }
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k], key, hash, macOnlyEncrypted);
    return out;
  }
  const where = path.join('.') || '(root)';
  if (typeof node === 'string' && node.startsWith('ENC[AES256_GCM,')) {
    const { bytes, type } = decryptValue(node, key, `${path.join(':')}:`, where);
    if (type !== 'comment') hash.update(bytes);
    return typed(bytes, type, where);
  }
  if (!macOnlyEncrypted) hash.update(plainBytes(node));
  return node;
}

function verifyMac(metadata: Metadata, key: Buffer, computed: string): void {
  if (typeof metadata.mac !== 'string' || typeof metadata.lastmodified !== 'string') {
    throw new SopsError('SOPS_INVALID', 'the metadata has no mac or lastmodified');
  }
  const { bytes } = decryptValue(metadata.mac, key, metadata.lastmodified, 'sops.mac');
  const expected = Buffer.from(bytes.toString('utf8'));
  const actual = Buffer.from(computed);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new SopsError('SOPS_MAC_MISMATCH', 'MAC mismatch: the file was changed after it was encrypted');
  }
}
