/**
 * Field paths, list semantics and FieldsV1: the vocabulary of server-side apply.
 *
 * A path is the list of FieldsV1 tokens from the object root (`f:spec`, `k:{"name":"web"}`,
 * `v:"x"`) joined by NUL, so a set of owned fields is a plain `Set<string>` and FieldsV1 is just
 * that set drawn as a tree. Which lists are associative (merged by key) or sets, and which maps
 * are atomic, comes from a small schema: name rules for built-in types (the list-map keys of
 * kube.md B7 §5.3), the CRD's `x-kubernetes-*` markers for custom resources.
 */
import { deepEqual, isObject, type JsonObject, type TypeInfo } from './types.js';

/** Separator of the tokens of a path. NUL never occurs in field names or JSON-encoded keys. */
export const SEP = '\u0000';

/** How a list is merged and owned. */
export type ListSpec = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: readonly string[]; defaults: Readonly<Record<string, unknown>> };

/** What the server knows about the shape of one position in an object. */
export interface SchemaNode {
  /** A map owned and replaced as one value (LabelSelector, Service selector). */
  readonly atomic: boolean;
  /** The node of field `name` of this map. */
  child(name: string): SchemaNode;
  /** The node of the items of this list. */
  item(): SchemaNode;
  /** The list semantics of this list, given its items (items without keys make it atomic). */
  listSpec(items: unknown[]): ListSpec;
}

const ATOMIC: ListSpec = Object.freeze({ type: 'atomic' });
const SET: ListSpec = Object.freeze({ type: 'set' });

// Associative lists of the built-in types, by field name (kube.md B7 §5.3).
const MAP_LIST_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  imagePullSecrets: ['name'],
  resourceClaims: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
};

// LabelSelector is `+structType=atomic`, Service and Pod selectors are `+mapType=atomic`.
const ATOMIC_MAPS: ReadonlySet<string> = new Set(['selector', 'podSelector', 'namespaceSelector', 'labelSelector', 'nodeSelector']);

const TCP: Readonly<Record<string, unknown>> = Object.freeze({ protocol: 'TCP' });

function mapSpec(items: unknown[], keys: readonly string[], defaults: Readonly<Record<string, unknown>>): ListSpec {
  const spec: ListSpec = { type: 'map', keys, defaults };
  const seen = new Set<string>();
  for (const item of items) {
    if (!isObject(item)) return ATOMIC;
    for (const k of keys) if (item[k] === undefined && defaults[k] === undefined) return ATOMIC;
    // Duplicate keys cannot be owned one by one; a real server refuses them, we own the list whole.
    const token = keyToken(item, spec);
    if (seen.has(token)) return ATOMIC;
    seen.add(token);
  }
  return spec;
}

function builtinNode(kind: string, path: string, name: string): SchemaNode {
  return {
    atomic: ATOMIC_MAPS.has(name),
    child: (child) => builtinNode(kind, path ? `${path}.${child}` : child, child),
    item: () => builtinNode(kind, `${path}[]`, name),
    listSpec(items) {
      if (name === 'finalizers' && path === 'metadata.finalizers') return SET;
      if (name === 'ports') {
        const first = items[0];
        if (isObject(first) && first.containerPort !== undefined) return mapSpec(items, ['containerPort', 'protocol'], TCP);
        if (kind === 'Service' && path === 'spec.ports') return mapSpec(items, ['port', 'protocol'], TCP);
        return ATOMIC;
      }
      const keys = MAP_LIST_KEYS[name];
      return keys ? mapSpec(items, keys, {}) : ATOMIC;
    },
  };
}

function crdSchemaNode(schema: JsonObject | undefined): SchemaNode {
  return {
    atomic: schema?.['x-kubernetes-map-type'] === 'atomic',
    child(name) {
      const props = isObject(schema?.properties) ? schema.properties : undefined;
      const prop = props?.[name];
      if (isObject(prop)) return crdSchemaNode(prop);
      const extra = schema?.additionalProperties;
      return crdSchemaNode(isObject(extra) ? extra : undefined);
    },
    item: () => crdSchemaNode(isObject(schema?.items) ? schema.items : undefined),
    listSpec(items) {
      const listType = schema?.['x-kubernetes-list-type'];
      if (listType === 'set') return SET;
      if (listType !== 'map') return ATOMIC;
      const keys = Array.isArray(schema?.['x-kubernetes-list-map-keys']) ? schema['x-kubernetes-list-map-keys'].map(String) : [];
      const itemProps = isObject(schema?.items) && isObject(schema.items.properties) ? schema.items.properties : {};
      const defaults: Record<string, unknown> = {};
      for (const k of keys) {
        const prop = itemProps[k];
        if (isObject(prop) && prop.default !== undefined) defaults[k] = prop.default;
      }
      return keys.length ? mapSpec(items, keys, defaults) : ATOMIC;
    },
  };
}

/** The schema root of a type: name rules for built-ins, the CRD schema for custom resources. */
export function rootSchema(type: TypeInfo): SchemaNode {
  if (type.builtin) return builtinNode(type.kind, '', '');
  const crdRoot = crdSchemaNode(type.schema);
  return {
    atomic: false,
    // ObjectMeta follows the built-in rules whatever the CRD schema says about it.
    child: (name) => (name === 'metadata' ? builtinNode(type.kind, 'metadata', 'metadata') : crdRoot.child(name)),
    item: () => crdRoot.item(),
    listSpec: (items) => crdRoot.listSpec(items),
  };
}

/** The `k:` token of an associative-list item: its key fields (defaults filled), keys sorted. */
export function keyToken(item: JsonObject, spec: { keys: readonly string[]; defaults: Readonly<Record<string, unknown>> }): string {
  const key: JsonObject = {};
  for (const k of [...spec.keys].sort()) key[k] = item[k] ?? spec.defaults[k];
  return `k:${JSON.stringify(key)}`;
}

/** The `v:` token of a set item. */
export function valueToken(value: unknown): string {
  return `v:${JSON.stringify(value)}`;
}

/** The leaves and inner nodes of an object, by path. */
export interface Flat {
  /** Scalars, atomic lists, atomic or empty maps, set items: path → value. */
  leaves: Map<string, unknown>;
  /** Non-empty granular maps (owned with `"."` when a manager created them). */
  maps: Set<string>;
  /** Items of associative lists (owned with `"."`). */
  items: Set<string>;
}

function join(prefix: string, token: string): string {
  return prefix ? prefix + SEP + token : token;
}

function walkMap(obj: JsonObject, node: SchemaNode, prefix: string, out: Flat): void {
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    // Nulls never reach storage (they are stripped on the way in); in an apply configuration
    // they ask for removal and are owned by nobody.
    if (value === undefined || value === null) continue;
    walkValue(value, node.child(key), join(prefix, `f:${key}`), out);
  }
}

function walkValue(value: unknown, node: SchemaNode, path: string, out: Flat): void {
  if (isObject(value)) {
    if (node.atomic || Object.keys(value).length === 0) {
      out.leaves.set(path, value);
      return;
    }
    out.maps.add(path);
    walkMap(value, node, path, out);
    return;
  }
  if (Array.isArray(value)) {
    const spec = value.length ? node.listSpec(value) : ATOMIC;
    if (spec.type === 'atomic') {
      out.leaves.set(path, value);
      return;
    }
    if (spec.type === 'set') {
      for (const item of value) out.leaves.set(join(path, valueToken(item)), item);
      return;
    }
    const itemNode = node.item();
    for (const item of value as JsonObject[]) {
      const itemPath = join(path, keyToken(item, spec));
      out.items.add(itemPath);
      walkMap(item, itemNode, itemPath, out);
    }
    return;
  }
  out.leaves.set(path, value);
}

/** Flattens an object into its leaves and nodes under a schema. */
export function flatten(obj: JsonObject, root: SchemaNode): Flat {
  const out: Flat = { leaves: new Map(), maps: new Set(), items: new Set() };
  walkMap(obj, root, '', out);
  return out;
}

/** What an apply configuration owns, and which of its values differ from the live object. */
export interface ConfigWalk {
  /** Leaves and associative-list items of the configuration: the applier's new field set. */
  applied: Set<string>;
  /** Leaves whose configured value differs from (or is missing in) the live object. */
  changed: string[];
}

/**
 * Walks an apply configuration and the live object side by side. Same answer as flattening
 * both and comparing, but it only visits what the configuration touches: on the apply hot path
 * the live object (defaults, other managers' fields) is often much bigger than the config.
 */
export function walkConfig(config: JsonObject, live: JsonObject | undefined, root: SchemaNode): ConfigWalk {
  const out: ConfigWalk = { applied: new Set(), changed: [] };
  walkConfigMap(config, live, root, '', out);
  return out;
}

function walkConfigMap(config: JsonObject, live: unknown, node: SchemaNode, prefix: string, out: ConfigWalk): void {
  const liveMap = isObject(live) ? live : undefined;
  for (const key of Object.keys(config)) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    walkConfigValue(value, liveMap?.[key], node.child(key), join(prefix, `f:${key}`), out);
  }
}

function configLeaf(path: string, value: unknown, live: unknown, out: ConfigWalk): void {
  out.applied.add(path);
  if (live === undefined || !deepEqual(live, value)) out.changed.push(path);
}

function walkConfigValue(value: unknown, live: unknown, node: SchemaNode, path: string, out: ConfigWalk): void {
  if (isObject(value)) {
    if (node.atomic || Object.keys(value).length === 0) configLeaf(path, value, live, out);
    else walkConfigMap(value, live, node, path, out);
    return;
  }
  if (!Array.isArray(value)) {
    configLeaf(path, value, live, out);
    return;
  }
  const spec = value.length ? node.listSpec(value) : ATOMIC;
  if (spec.type === 'atomic') {
    configLeaf(path, value, live, out);
    return;
  }
  const liveList = Array.isArray(live) ? live : [];
  if (spec.type === 'set') {
    for (const item of value) {
      const itemPath = join(path, valueToken(item));
      out.applied.add(itemPath);
      if (!liveList.some((x) => deepEqual(x, item))) out.changed.push(itemPath);
    }
    return;
  }
  const liveItems = new Map<string, unknown>();
  for (const item of liveList) if (isObject(item)) liveItems.set(keyToken(item, spec), item);
  const itemNode = node.item();
  for (const item of value as JsonObject[]) {
    const token = keyToken(item, spec);
    const itemPath = join(path, token);
    out.applied.add(itemPath);
    walkConfigMap(item, liveItems.get(token), itemNode, itemPath, out);
  }
}

/** Renders a path the way structured-merge-diff prints it: `.spec.template.spec.containers[name="web"].image`. */
export function renderPath(path: string): string {
  let out = '';
  for (const token of path.split(SEP)) {
    const body = token.slice(2);
    if (token.startsWith('f:')) out += `.${body}`;
    else if (token.startsWith('k:')) {
      const key = JSON.parse(body) as JsonObject;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (token.startsWith('v:')) out += `[=${body}]`;
    else out += `[${body}]`;
  }
  return out;
}

/** Draws a set of paths as a FieldsV1 tree: `{}` leaves, `"."` on owned nodes that have children. */
export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  const owned = new WeakSet<object>();
  // Sorting puts every path before its descendants (NUL sorts first), so an owned node gets its
  // "." before any child and the tree comes out in FieldsV1's sorted order.
  for (const path of [...paths].sort()) {
    let node = root;
    for (const token of path.split(SEP)) {
      let next = node[token] as JsonObject | undefined;
      if (!next) {
        if (owned.has(node) && !('.' in node)) node['.'] = {};
        next = {};
        node[token] = next;
      }
      node = next;
    }
    owned.add(node);
    if (Object.keys(node).length > 0 && !('.' in node)) node['.'] = {};
  }
  return root;
}

/** Reads a FieldsV1 tree back into a set of paths (for managedFields a client writes itself). */
export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>();
  function walk(node: JsonObject, prefix: string): void {
    for (const [token, child] of Object.entries(node)) {
      if (token === '.') {
        if (prefix) out.add(prefix);
        continue;
      }
      const path = join(prefix, token);
      if (isObject(child) && Object.keys(child).length > 0) walk(child, path);
      else out.add(path);
    }
  }
  if (isObject(tree)) walk(tree, '');
  return out;
}

/** Where a path's last token lives: its container, the key or index in it, the schema there. */
export interface Location {
  container: JsonObject | unknown[];
  key: string | number;
  value: unknown;
}

/** Finds the value at a path, or undefined when any step is missing. */
export function locate(obj: JsonObject, path: string, root: SchemaNode): Location | undefined {
  let container: JsonObject | unknown[] = obj;
  let node = root;
  let key: string | number = '';
  let value: unknown = obj;
  for (const token of path.split(SEP)) {
    if (token.startsWith('f:')) {
      if (!isObject(value)) return undefined;
      container = value;
      key = token.slice(2);
      node = node.child(key);
      value = value[key];
    } else if (token.startsWith('k:') || token.startsWith('v:')) {
      if (!Array.isArray(value)) return undefined;
      const list = value;
      const spec = node.listSpec(list);
      let index: number;
      if (spec.type === 'map') index = list.findIndex((item) => isObject(item) && keyToken(item, spec) === token);
      else index = list.findIndex((item) => valueToken(item) === token);
      if (index < 0) return undefined;
      container = list;
      key = index;
      node = node.item();
      value = list[index];
    } else {
      return undefined;
    }
    if (value === undefined) return undefined;
  }
  return { container, key, value };
}

/** Deletes the value at a path; true when something was removed. */
export function deleteAt(obj: JsonObject, path: string, root: SchemaNode): boolean {
  const loc = locate(obj, path, root);
  if (!loc) return false;
  if (Array.isArray(loc.container)) loc.container.splice(loc.key as number, 1);
  else delete loc.container[loc.key as string];
  return true;
}

/** The parent path (undefined at the top). */
export function parentPath(path: string): string | undefined {
  const i = path.lastIndexOf(SEP);
  return i < 0 ? undefined : path.slice(0, i);
}
