/**
 * The non-apply patch formats: JSON merge patch (RFC 7386), strategic merge patch (merge patch
 * whose associative lists merge by key, with the common `$patch` directives) and JSON patch
 * (RFC 6902). All work on plain JSON and return a new document.
 */
import { ApiError, badRequest, failure } from './errors.js';
import { keyToken, type SchemaNode } from './fields.js';
import { clone, deepEqual, isObject, type JsonObject } from './types.js';

/** RFC 7386: objects merge recursively, `null` deletes, anything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Strategic merge patch, simplified: like a merge patch, except that associative lists
 * (containers by name, ports by port+protocol…) merge item by item, set lists (finalizers)
 * union, `$patch: delete|replace` and `$deleteFromPrimitiveList/<field>` are honoured, and the
 * ordering directives (`$setElementOrder`, `$retainKeys`) are ignored.
 */
export function strategicMergePatch(target: unknown, patch: unknown, node: SchemaNode): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = Array.isArray(value) ? value : [];
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((v) => !drop.some((d) => deepEqual(d, v)));
      continue;
    }
    if (key.startsWith('$')) continue;
    if (value === null || (isObject(value) && value.$patch === 'delete')) {
      delete out[key];
      continue;
    }
    const child = node.child(key);
    if (isObject(value)) out[key] = strategicMergePatch(out[key], value, child);
    else if (Array.isArray(value)) out[key] = patchList(out[key], value, child);
    else out[key] = value;
  }
  return out;
}

function withoutDirectives(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (!k.startsWith('$')) out[k] = clone(v);
  return out;
}

function patchList(live: unknown, patch: unknown[], node: SchemaNode): unknown[] {
  const spec = patch.length ? node.listSpec(patch.map((item) => (isObject(item) ? withoutDirectives(item) : item))) : { type: 'atomic' as const };
  if (!Array.isArray(live) || spec.type === 'atomic') return patch.map((item) => (isObject(item) ? withoutDirectives(item) : clone(item)));
  if (spec.type === 'set') {
    const out = [...live];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
    return out;
  }
  const out = [...live];
  for (const item of patch as JsonObject[]) {
    const token = keyToken(item, spec);
    const i = out.findIndex((x) => isObject(x) && keyToken(x, spec) === token);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i < 0) out.push(withoutDirectives(item));
    else out[i] = strategicMergePatch(out[i], item, node.item());
  }
  return out;
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw badRequest(`invalid JSON pointer: ${JSON.stringify(path)}`);
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function unprocessable(message: string): ApiError {
  return new ApiError(failure(422, 'Invalid', message, {}));
}

function resolveParent(doc: unknown, tokens: string[], op: string): { parent: unknown; last: string } {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (isObject(node)) node = node[t];
    else node = undefined;
    if (node === undefined) throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
  }
  return { parent: node, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, tokens: string[]): unknown {
  let node = doc;
  for (const t of tokens) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (isObject(node)) node = node[t];
    else return undefined;
  }
  return node;
}

function addAt(doc: unknown, tokens: string[], value: unknown, op: string): unknown {
  if (tokens.length === 0) return clone(value);
  const { parent, last } = resolveParent(doc, tokens, op);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw unprocessable(`${op} operation does not apply: index out of range: ${last}`);
    parent.splice(index, 0, clone(value));
  } else if (isObject(parent)) {
    parent[last] = clone(value);
  } else {
    throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
  }
  return doc;
}

function removeAt(doc: unknown, tokens: string[], op: string): unknown {
  const { parent, last } = resolveParent(doc, tokens, op);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    parent.splice(index, 1);
  } else if (isObject(parent) && last in parent) {
    delete parent[last];
  } else {
    throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
  }
  return doc;
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy, test. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw)) throw badRequest('invalid JSON patch operation');
    const op = String(raw.op);
    const path = pointer(raw.path);
    switch (op) {
      case 'add':
        doc = addAt(doc, path, raw.value, op);
        break;
      case 'remove':
        doc = removeAt(doc, path, op);
        break;
      case 'replace':
        if (getAt(doc, path) === undefined) throw unprocessable(`replace operation does not apply: doc is missing key: /${path.join('/')}`);
        doc = addAt(removeAt(doc, path, op), path, raw.value, op);
        break;
      case 'move':
      case 'copy': {
        const from = pointer(raw.from);
        const value = getAt(doc, from);
        if (value === undefined) throw unprocessable(`${op} operation does not apply: doc is missing from path: /${from.join('/')}`);
        if (op === 'move') doc = removeAt(doc, from, op);
        doc = addAt(doc, path, value, op);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), raw.value)) throw unprocessable(`testing value /${path.join('/')} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/** Removes `null` values everywhere: typed decoding in the API server drops them. */
export function stripNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripNulls(v)) as T;
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = stripNulls(v);
  return out as T;
}
