/**
 * The server-side apply engine and field ownership (kube.md A1, B7 §5).
 *
 * Every object carries a list of managers, each owning a set of field paths. An apply merges
 * the configuration into the live object, refuses (409) to change a value another manager owns
 * unless forced, removes fields the applier owned before and no longer applies, and replaces
 * the applier's set with what it applied. Any other write (create, replace, merge patch, status
 * update) takes ownership of what it changed and never conflicts.
 */
import { applyConflict, type ApplyConflict } from './errors.js';
import { deleteAt, flatten, fromFieldsV1, keyToken, locate, parentPath, renderPath, SEP, toFieldsV1, walkConfig, type SchemaNode } from './fields.js';
import { clone, deepEqual, isObject, type JsonObject } from './types.js';

/** One managedFields entry, with its fields as a set of paths. */
export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: ReadonlySet<string>;
  /** The FieldsV1 drawing, made once: entries are never mutated, only replaced. */
  rendered?: JsonObject;
}

function sameIdentity(e: ManagedEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && e.subresource === subresource;
}

/** How `printManager` names a manager in conflict messages. */
export function describeManager(e: ManagedEntry): string {
  let name = JSON.stringify(e.manager);
  if (e.subresource) name += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === 'Update' ? `${name} using ${e.apiVersion}` : name;
}

/** managedFields as the API returns them. */
export function renderManagedFields(entries: readonly ManagedEntry[]): JsonObject[] {
  return entries.map((e) => {
    e.rendered ??= toFieldsV1(e.fields);
    const out: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: e.rendered,
    };
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** Reads managedFields written by a client (a JSON patch cleaning up managers, say). */
export function parseManagedFields(value: unknown, now: string): ManagedEntry[] {
  if (!Array.isArray(value)) return [];
  const out: ManagedEntry[] = [];
  for (const raw of value) {
    if (!isObject(raw) || typeof raw.manager !== 'string') continue;
    const fields = fromFieldsV1(raw.fieldsV1);
    if (fields.size === 0) continue;
    const entry: ManagedEntry = {
      manager: raw.manager,
      operation: raw.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof raw.apiVersion === 'string' ? raw.apiVersion : '',
      time: typeof raw.time === 'string' ? raw.time : now,
      fields,
    };
    if (typeof raw.subresource === 'string' && raw.subresource) entry.subresource = raw.subresource;
    out.push(entry);
  }
  return out;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Equal managers, ignoring timestamps (a no-op write must not count as a change). */
export function sameManaged(a: readonly ManagedEntry[], b: readonly ManagedEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as ManagedEntry;
    const y = b[i] as ManagedEntry;
    if (x === y) continue;
    if (x.manager !== y.manager || x.operation !== y.operation || x.apiVersion !== y.apiVersion || x.subresource !== y.subresource) return false;
    if (!sameSet(x.fields, y.fields)) return false;
  }
  return true;
}

/** Whether client-supplied managedFields differ from the current ones (timestamps ignored). */
export function managedFieldsChanged(supplied: unknown, current: readonly ManagedEntry[]): boolean {
  if (supplied === undefined) return false;
  const strip = (list: unknown): unknown => (Array.isArray(list) ? list.map((e) => (isObject(e) ? { ...e, time: undefined } : e)) : list);
  return !deepEqual(strip(supplied), strip(renderManagedFields(current)));
}

/** Merges an apply configuration into an object, in place (maps deep, associative lists by key). */
export function mergeInto(target: JsonObject, config: JsonObject, node: SchemaNode): void {
  for (const key of Object.keys(config)) {
    const value = config[key];
    if (value === undefined) continue;
    // An explicit null asks for the field to be unset; it is not owned by anyone.
    if (value === null) {
      delete target[key];
      continue;
    }
    target[key] = mergeValue(target[key], value, node.child(key));
  }
}

function mergeValue(live: unknown, value: unknown, node: SchemaNode): unknown {
  if (isObject(value)) {
    if (isObject(live) && !node.atomic) {
      mergeInto(live, value, node);
      return live;
    }
    const fresh: JsonObject = {};
    mergeInto(fresh, value, node);
    return fresh;
  }
  if (!Array.isArray(value)) return value;
  const spec = value.length ? node.listSpec(value) : ({ type: 'atomic' } as const);
  if (!Array.isArray(live) || spec.type === 'atomic') return clone(value);
  if (spec.type === 'set') {
    const out = [...live];
    for (const v of value) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  const liveSpec = node.listSpec(live);
  if (liveSpec.type !== 'map') return clone(value);
  // Associative list: keep the live order, merge matching items, append new ones.
  const out = [...live];
  const index = new Map<string, number>();
  out.forEach((item, i) => index.set(keyToken(item as JsonObject, spec), i));
  for (const item of value as JsonObject[]) {
    const i = index.get(keyToken(item, spec));
    if (i === undefined) {
      const fresh: JsonObject = {};
      mergeInto(fresh, item, node.item());
      out.push(fresh);
    } else {
      out[i] = mergeValue(out[i], item, node.item());
    }
  }
  return out;
}

/** Input of one server-side apply. */
export interface ApplyArgs {
  /** The live object (undefined on create); not modified. */
  live: JsonObject | undefined;
  managed: readonly ManagedEntry[];
  /** The configuration, already stripped of identity metadata (and of status or non-status). */
  config: JsonObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
  force: boolean;
  root: SchemaNode;
  now: string;
}

/** The object and managers after an apply, before defaulting and validation. */
export interface ApplyResult {
  object: JsonObject;
  managed: ManagedEntry[];
}

/**
 * Server-side apply (kube.md B7 §5 steps 3–7). Throws the 409 Conflict ApiError when the
 * configuration changes a value another manager owns and `force` is false.
 */
export function serverSideApply(args: ApplyArgs): ApplyResult {
  const { live, config, root, manager, subresource } = args;
  // Conflicts are about fields whose value this apply changes and that another manager owns.
  const { applied, changed } = walkConfig(config, live, root);
  const next: JsonObject = live ? clone(live) : {};
  mergeInto(next, config, root);
  let managed = [...args.managed];
  const mine = managed.find((e) => sameIdentity(e, manager, 'Apply', subresource));
  if (changed.length > 0) {
    const conflicts: ApplyConflict[] = [];
    const stripped = new Map<ManagedEntry, Set<string>>();
    for (const entry of managed) {
      if (entry === mine) continue;
      for (const path of changed) {
        if (!entry.fields.has(path)) continue;
        conflicts.push({ manager: describeManager(entry), field: renderPath(path) });
        let set = stripped.get(entry);
        if (!set) stripped.set(entry, (set = new Set()));
        set.add(path);
      }
    }
    if (conflicts.length > 0 && !args.force) {
      conflicts.sort((a, b) => (a.manager === b.manager ? a.field.localeCompare(b.field) : a.manager.localeCompare(b.manager)));
      throw applyConflict(conflicts);
    }
    // Forced: ownership of the conflicting fields moves to the applier.
    managed = managed.map((entry) => {
      const lost = stripped.get(entry);
      if (!lost) return entry;
      return { ...withoutRendered(entry), fields: new Set([...entry.fields].filter((p) => !lost.has(p))) };
    });
  }

  // Removal: fields this manager applied before, omits now, and nobody else owns.
  if (mine) {
    const othersOwn = new Set<string>();
    for (const entry of managed) if (entry !== mine) for (const p of entry.fields) othersOwn.add(p);
    // Shallow paths first: a removed list item goes as a whole before its fields are visited
    // (an item stripped of its key fields could no longer be found by key).
    const removed = [...mine.fields].filter((p) => !applied.has(p) && !othersOwn.has(p)).sort((a, b) => depth(a) - depth(b));
    for (const path of removed) {
      if (ownsDescendant(othersOwn, path) || isKeyOfItem(path)) continue;
      if (!deleteAt(next, path, root)) continue;
      pruneEmptyAncestors(next, path, root, othersOwn, applied);
    }
  }

  // Same fields as last time: keep the set and its FieldsV1 drawing (only the time moves).
  const unchanged = mine !== undefined && sameSet(mine.fields, applied);
  const entry: ManagedEntry = { manager, operation: 'Apply', apiVersion: args.apiVersion, time: args.now, fields: unchanged ? mine.fields : applied };
  if (unchanged && mine.rendered) entry.rendered = mine.rendered;
  if (subresource) entry.subresource = subresource;
  if (mine) managed = managed.map((e) => (e === mine ? entry : e));
  else managed.push(entry);
  return { object: next, managed: managed.filter((e) => e.fields.size > 0) };
}

function withoutRendered(entry: ManagedEntry): ManagedEntry {
  const { rendered: _rendered, ...rest } = entry;
  return rest;
}

function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0) n++;
  return n;
}

// A key field of a list item that stays (someone else still owns part of it) must stay too.
function isKeyOfItem(path: string): boolean {
  const parent = parentPath(path);
  if (parent === undefined) return false;
  const itemToken = parent.slice(parent.lastIndexOf(SEP) + 1);
  if (!itemToken.startsWith('k:')) return false;
  const field = path.slice(path.lastIndexOf(SEP) + 1);
  if (!field.startsWith('f:')) return false;
  const key = JSON.parse(itemToken.slice(2)) as JsonObject;
  return Object.prototype.hasOwnProperty.call(key, field.slice(2));
}

function ownsDescendant(owned: ReadonlySet<string>, path: string): boolean {
  const prefix = path + SEP;
  for (const p of owned) if (p.startsWith(prefix)) return true;
  return false;
}

// A map or list emptied by a removal goes too, unless someone owns it (e.g. `labels: {}`
// applied on purpose). Top-level fields (metadata, spec) stay.
function pruneEmptyAncestors(obj: JsonObject, path: string, root: SchemaNode, othersOwn: ReadonlySet<string>, applied: ReadonlySet<string>): void {
  let parent = parentPath(path);
  while (parent !== undefined && parent.includes(SEP)) {
    if (othersOwn.has(parent) || applied.has(parent)) return;
    const loc = locate(obj, parent, root);
    if (!loc) return;
    const empty = Array.isArray(loc.value) ? loc.value.length === 0 : isObject(loc.value) && Object.keys(loc.value).length === 0;
    if (!empty) return;
    deleteAt(obj, parent, root);
    parent = parentPath(parent);
  }
}

/** Input of ownership tracking for a non-apply write. */
export interface UpdateArgs {
  /** The object before the write, as ownership sees it (identity metadata stripped). */
  before: JsonObject | undefined;
  /** The object after the write, stripped the same way. */
  after: JsonObject;
  managed: readonly ManagedEntry[];
  manager: string;
  apiVersion: string;
  subresource?: string;
  root: SchemaNode;
  now: string;
}

/**
 * Ownership after a create, replace, patch or status write (operation Update): the writer takes
 * every field it changed (and maps or list items it created), other managers lose them, and
 * fields it removed are owned by nobody.
 */
export function trackUpdate(args: UpdateArgs): ManagedEntry[] {
  const before = args.before ? flatten(args.before, args.root) : { leaves: new Map<string, unknown>(), maps: new Set<string>(), items: new Set<string>() };
  const after = flatten(args.after, args.root);
  const taken = new Set<string>();
  for (const [path, value] of after.leaves) {
    if (!before.leaves.has(path) || !deepEqual(before.leaves.get(path), value)) taken.add(path);
  }
  // Created maps and items are owned as nodes ("."); top-level fields never are.
  for (const path of after.maps) if (path.includes(SEP) && !before.maps.has(path)) taken.add(path);
  for (const path of after.items) if (!before.items.has(path)) taken.add(path);
  const removed = new Set<string>();
  for (const path of before.leaves.keys()) if (!after.leaves.has(path) && !after.maps.has(path)) removed.add(path);
  for (const path of before.maps) if (!after.maps.has(path) && !after.leaves.has(path)) removed.add(path);
  for (const path of before.items) if (!after.items.has(path)) removed.add(path);
  if (taken.size === 0 && removed.size === 0) return [...args.managed];

  const out: ManagedEntry[] = [];
  let mine: ManagedEntry | undefined;
  for (const entry of args.managed) {
    if (sameIdentity(entry, args.manager, 'Update', args.subresource)) {
      mine = entry;
      out.push(entry);
      continue;
    }
    let touched = false;
    for (const p of entry.fields) {
      if (taken.has(p) || removed.has(p)) {
        touched = true;
        break;
      }
    }
    if (!touched) {
      out.push(entry);
      continue;
    }
    const fields = new Set([...entry.fields].filter((p) => !taken.has(p) && !removed.has(p)));
    out.push({ ...withoutRendered(entry), fields });
  }
  const fields = new Set<string>(mine ? mine.fields : []);
  for (const p of taken) fields.add(p);
  for (const p of removed) fields.delete(p);
  const prev: ManagedEntry | undefined = mine;
  const kept = prev !== undefined && sameSet(prev.fields, fields) ? prev : undefined;
  const entry: ManagedEntry = { manager: args.manager, operation: 'Update', apiVersion: args.apiVersion, time: args.now, fields: kept ? kept.fields : fields };
  if (kept?.rendered) entry.rendered = kept.rendered;
  if (args.subresource) entry.subresource = args.subresource;
  const result = mine ? out.map((e) => (e === mine ? entry : e)) : [...out, entry];
  return result.filter((e) => e.fields.size > 0);
}
