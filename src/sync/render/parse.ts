import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../kube/refs.js';
import { SyncError } from '../errors.js';
import type { RenderedObject } from './types.js';
import { errorMessage } from '../../unknown.js';

/** Aliases a manifest may expand; a "billion laughs" document needs thousands. */
const MAX_ALIASES = 100;

/**
 * Splits YAML text into objects: multi-document, empty documents skipped, `List` kinds expanded.
 * Parses as YAML 1.1, like kubectl, so `0644` is octal and `yes` a boolean, as users expect.
 * `label` names the file in errors (`deploy/web.yaml`); each object's source adds `#<document>`.
 */
export function parseManifests(text: string, label: string, sink: RenderedObject[], limit: number): void {
  const documents = parseAllDocuments(text, { version: '1.1', prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((doc, index) => {
    const where = `${label}#${index + 1}`;
    if (doc.errors.length > 0) {
      throw new SyncError('YAML_INVALID', `${where}: ${doc.errors[0]?.message.split('\n')[0]}`, false, { file: where });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      throw new SyncError('YAML_INVALID', `${where}: ${errorMessage(err)} (alias expansion is limited to ${MAX_ALIASES})`, false, { file: where });
    }
    addObject(value, where, sink, limit);
  });
}

/** Adds one parsed document (possibly a List) to the sink. */
export function addObject(value: unknown, where: string, sink: RenderedObject[], limit: number): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SyncError(
      'MANIFEST_INVALID',
      `${where}: a document must be a Kubernetes object (a mapping), not ${Array.isArray(value) ? 'a list' : typeof value}`,
      false,
      { file: where },
    );
  }
  // Cast: isRecord was checked by the caller's branch just above.
  const obj = value as Record<string, unknown>;
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => addObject(item, `${where}.items[${i}]`, sink, limit));
    return;
  }
  if (sink.length >= limit) {
    throw new SyncError('TOO_MANY_OBJECTS', `more than ${limit} objects rendered (at ${where}); raise worker.maxObjects if this is intended`, false, {
      file: where,
    });
  }
  // Cast: apiVersion, kind and metadata were checked just above; the rest of a manifest is open by design.
  sink.push({ obj: obj as unknown as KubeObject, source: where });
}
