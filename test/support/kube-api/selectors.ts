/**
 * Label and field selectors of list requests (kube.md B7 §6), with the grammar of apimachinery's
 * `labels.Parse`: comma = AND; `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
 * and the numeric `k>n`, `k<n`. `!=` and `notin` match objects without the label, as on a real
 * server. A malformed selector is a 400, never silently "match all".
 */
import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';

/** One parsed label requirement. */
export interface LabelRequirement {
  key: string;
  operator: 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';
  values: string[];
}

/** One parsed field requirement (`metadata.name` or `metadata.namespace`). */
export interface FieldRequirement {
  field: 'metadata.name' | 'metadata.namespace';
  equal: boolean;
  value: string;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const ok = name.length > 0 && name.length <= 63 && NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && PREFIX.test(prefix)));
  if (!ok)
    throw badRequest(
      `unable to parse requirement: key: Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !VALUE.test(value)) {
    throw badRequest(
      `unable to parse requirement: values[0][value]: Invalid value: ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
  return value;
}

// Splits on commas that are not inside a parenthesised value set.
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw badRequest(`unable to parse requirement: found ')', expected: ',' or end of string`);
  }
  if (depth !== 0) throw badRequest(`unable to parse requirement: found '', expected: ')'`);
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim());
}

function parseTerm(term: string): LabelRequirement {
  if (term === '') throw badRequest(`unable to parse requirement: found '', expected: identifier`);
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim()), operator: '!', values: [] };
  const set = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? '').split(',').map((v) => checkValue(v.trim()));
    return { key: checkKey(set[1] ?? ''), operator: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const op = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(term);
  if (op) {
    const key = checkKey(op[1] ?? '');
    const value = (op[3] ?? '').trim();
    switch (op[2]) {
      case '!=':
        return { key, operator: 'notin', values: [checkValue(value)] };
      case '>':
      case '<':
        if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        return { key, operator: op[2] === '>' ? 'gt' : 'lt', values: [value] };
      default:
        return { key, operator: 'in', values: [checkValue(value)] };
    }
  }
  if (/\s/.test(term)) throw badRequest(`unable to parse requirement: found '${term.split(/\s+/)[1] ?? ''}', expected: in, notin, =, ==, !=, gt, lt`);
  return { key: checkKey(term), operator: 'exists', values: [] };
}

/** Parses a label selector; empty → no requirements (matches everything). */
export function parseLabelSelector(selector: string | null | undefined): LabelRequirement[] {
  if (!selector || selector.trim() === '') return [];
  return splitTerms(selector).map(parseTerm);
}

/** Whether labels satisfy every requirement. */
export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of requirements) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    switch (r.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(value as string)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(value as string)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const n = Number(value);
        const bound = Number(r.values[0]);
        if (r.operator === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** Parses a field selector; only `metadata.name` and `metadata.namespace` are supported. */
export function parseFieldSelector(selector: string | null | undefined): FieldRequirement[] {
  if (!selector || selector.trim() === '') return [];
  return selector.split(',').map((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1];
    if (field !== 'metadata.name' && field !== 'metadata.namespace') throw badRequest(`field label not supported: ${field}`);
    return { field, equal: m[2] !== '!=', value: m[3] ?? '' };
  });
}

/** Whether an object satisfies every field requirement. */
export function matchesFields(requirements: FieldRequirement[], obj: KubeObject): boolean {
  for (const r of requirements) {
    const actual = (r.field === 'metadata.name' ? obj.metadata?.name : obj.metadata?.namespace) ?? '';
    if ((actual === r.value) !== r.equal) return false;
  }
  return true;
}
