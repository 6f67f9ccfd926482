/**
 * Validation and immutable fields (kube.md B7 §8). A deploy tool must recognise "field is
 * immutable" to recreate the object (as Flux does), so the immutable-field errors use the field
 * paths, reasons and wording of the real registry strategies; only the rendering of the
 * offending value differs (JSON here, Go's `%#v` there). Full OpenAPI validation is out of scope.
 */
import { forbiddenValue, invalidValue, requiredValue, unsupportedValue, type FieldError } from './errors.js';
import { matchesLabels, type LabelRequirement } from './selectors.js';
import { deepEqual, isObject, text, type JsonObject, type KubeObject, type TypeInfo } from './types.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Problems with an object name, per the naming rule of its type. */
export function validateName(name: string, type: TypeInfo): FieldError[] {
  if (type.group === 'rbac.authorization.k8s.io') {
    if (name === '.' || name === '..' || /[/%]/.test(name)) {
      return [invalidValue('metadata.name', name, `may not contain '/' or '%'`)];
    }
    return [];
  }
  if (type.kind === 'Namespace' && type.builtin) {
    if (name.length > 63 || !LABEL_1123.test(name)) return [invalidValue('metadata.name', name, LABEL_1123_MSG)];
    return [];
  }
  if (type.kind === 'Service' && type.builtin) {
    if (name.length > 63 || !LABEL_1035.test(name)) return [invalidValue('metadata.name', name, LABEL_1035_MSG)];
    return [];
  }
  if (name.length > 253 || !SUBDOMAIN.test(name)) return [invalidValue('metadata.name', name, SUBDOMAIN_MSG)];
  return [];
}

function validateLabels(labels: unknown): FieldError[] {
  if (!isObject(labels)) return [];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.indexOf('/');
    const name = slash < 0 ? key : key.slice(slash + 1);
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    if (name.length > 63 || !LABEL_NAME.test(name) || (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN.test(prefix)))) {
      errors.push(
        invalidValue(
          'metadata.labels',
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
      );
    }
    if (typeof value !== 'string') {
      errors.push(invalidValue('metadata.labels', value, 'label values must be strings'));
    } else if (value.length > 63) {
      errors.push(invalidValue('metadata.labels', value, 'must be no more than 63 characters'));
    } else if (!LABEL_VALUE.test(value)) {
      errors.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
    }
  }
  return errors;
}

function requirementsOf(selector: JsonObject): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  if (isObject(selector.matchLabels)) {
    for (const [k, v] of Object.entries(selector.matchLabels)) out.push({ key: k, operator: 'in', values: [String(v)] });
  }
  if (Array.isArray(selector.matchExpressions)) {
    for (const e of selector.matchExpressions) {
      if (!isObject(e)) continue;
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
      out.push({ key: String(e.key), operator: op, values });
    }
  }
  return out;
}

function validateContainers(podSpec: unknown, path: string): FieldError[] {
  const spec = isObject(podSpec) ? podSpec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) return [requiredValue(`${path}.containers`)];
  const errors: FieldError[] = [];
  containers.forEach((c, i) => {
    const container = isObject(c) ? c : {};
    if (!container.name) errors.push(requiredValue(`${path}.containers[${i}].name`));
    if (!container.image) errors.push(requiredValue(`${path}.containers[${i}].image`));
  });
  return errors;
}

function validateWorkload(spec: JsonObject, kind: string): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof spec.replicas === 'number' && spec.replicas < 0) {
    errors.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  const selector = spec.selector;
  const template = isObject(spec.template) ? spec.template : {};
  const labels = isObject(template.metadata) && isObject(template.metadata.labels) ? (template.metadata.labels as Record<string, string>) : {};
  if (!isObject(selector)) {
    errors.push(requiredValue('spec.selector'));
  } else {
    const reqs = requirementsOf(selector);
    if (reqs.length === 0) errors.push(invalidValue('spec.selector', selector, `empty selector is invalid for ${kind.toLowerCase()}`));
    else if (!matchesLabels(reqs, labels)) {
      errors.push(invalidValue('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    }
  }
  errors.push(...validateContainers(template.spec, 'spec.template.spec'));
  return errors;
}

function validateRestartPolicy(podSpec: unknown, path: string): FieldError[] {
  const policy = isObject(podSpec) ? podSpec.restartPolicy : undefined;
  if (policy === undefined) return [requiredValue(`${path}.restartPolicy`, 'valid values: "OnFailure", "Never"')];
  if (policy !== 'OnFailure' && policy !== 'Never') return [unsupportedValue(`${path}.restartPolicy`, policy, ['OnFailure', 'Never'])];
  return [];
}

function spec(obj: KubeObject | undefined): JsonObject {
  return obj && isObject(obj.spec) ? obj.spec : {};
}

function without(obj: JsonObject, keys: string[]): JsonObject {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

function validateCrd(obj: KubeObject): FieldError[] {
  const s = spec(obj);
  const names = isObject(s.names) ? s.names : {};
  const errors: FieldError[] = [];
  const group = typeof s.group === 'string' ? s.group : '';
  if (!group) errors.push(requiredValue('spec.group'));
  else if (!group.includes('.')) errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (!names.plural) errors.push(requiredValue('spec.names.plural'));
  if (!names.kind) errors.push(requiredValue('spec.names.kind'));
  const expected = `${text(names.plural ?? '')}.${group}`;
  if (obj.metadata?.name !== expected) errors.push(invalidValue('metadata.name', obj.metadata?.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') errors.push(unsupportedValue('spec.scope', s.scope ?? '', ['Cluster', 'Namespaced']));
  const versions = Array.isArray(s.versions) ? s.versions.filter(isObject) : [];
  if (versions.length === 0) errors.push(requiredValue('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage === true).length !== 1) {
    errors.push(
      invalidValue(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  return errors;
}

/** Validates an object about to be stored; `old` is the stored object on updates. */
export function validate(obj: KubeObject, type: TypeInfo, old: KubeObject | undefined): FieldError[] {
  const errors = validateLabels(obj.metadata?.labels);
  const s = spec(obj);
  const o = spec(old);
  const key = type.builtin ? `${type.group}/${type.kind}` : 'custom';
  switch (key) {
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/DaemonSet':
      errors.push(...validateWorkload(s, type.kind));
      if (old && !deepEqual(s.selector, o.selector)) errors.push(invalidValue('spec.selector', s.selector, 'field is immutable'));
      break;
    case 'apps/StatefulSet': {
      errors.push(...validateWorkload(s, type.kind));
      const mutable = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit'];
      if (old && !deepEqual(without(s, mutable), without(o, mutable))) {
        errors.push(
          forbiddenValue(
            'spec',
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        );
      }
      break;
    }
    case 'batch/Job': {
      const template = isObject(s.template) ? s.template : {};
      errors.push(...validateContainers(template.spec, 'spec.template.spec'));
      errors.push(...validateRestartPolicy(template.spec, 'spec.template.spec'));
      if (old && !deepEqual(s.selector, o.selector)) errors.push(invalidValue('spec.selector', s.selector, 'field is immutable'));
      if (old && !deepEqual(s.template, o.template)) errors.push(invalidValue('spec.template', s.template, 'field is immutable'));
      break;
    }
    case 'batch/CronJob': {
      if (!s.schedule) errors.push(requiredValue('spec.schedule'));
      const jobTemplate = isObject(s.jobTemplate) ? s.jobTemplate : {};
      const jobSpec = isObject(jobTemplate.spec) ? jobTemplate.spec : {};
      const template = isObject(jobSpec.template) ? jobSpec.template : {};
      errors.push(...validateContainers(template.spec, 'spec.jobTemplate.spec.template.spec'));
      errors.push(...validateRestartPolicy(template.spec, 'spec.jobTemplate.spec.template.spec'));
      break;
    }
    case '/Service': {
      const headless = s.clusterIP === 'None';
      const ports = Array.isArray(s.ports) ? s.ports : [];
      if (ports.length === 0 && !headless && s.type !== 'ExternalName') errors.push(requiredValue('spec.ports'));
      ports.forEach((p, i) => {
        const port = isObject(p) ? p.port : undefined;
        if (typeof port !== 'number' || port < 1 || port > 65535) {
          errors.push(invalidValue(`spec.ports[${i}].port`, port ?? 0, 'must be between 1 and 65535, inclusive'));
        }
      });
      const oldIPs = Array.isArray(o.clusterIPs) ? o.clusterIPs : [];
      const newIPs = Array.isArray(s.clusterIPs) ? s.clusterIPs : [];
      if (old && oldIPs.length > 0 && newIPs[0] !== oldIPs[0] && s.type !== 'ExternalName' && o.type !== 'ExternalName') {
        errors.push(invalidValue('spec.clusterIPs[0]', newIPs, 'may not change once set'));
      }
      break;
    }
    case '/PersistentVolumeClaim': {
      const strip = (x: JsonObject): JsonObject => {
        const out = without(x, ['volumeAttributesClassName', 'volumeName']);
        if (isObject(out.resources)) out.resources = without(out.resources, ['requests']);
        return out;
      };
      if (old && !deepEqual(strip(s), strip(o))) {
        errors.push(forbiddenValue('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      }
      break;
    }
    case '/ConfigMap':
    case '/Secret': {
      if (old && old.immutable === true) {
        if (!deepEqual(obj.data, old.data)) errors.push(forbiddenValue('data', 'field is immutable when `immutable` is set'));
        if (!deepEqual(obj.binaryData, old.binaryData) && type.kind === 'ConfigMap') {
          errors.push(forbiddenValue('binaryData', 'field is immutable when `immutable` is set'));
        }
        if (obj.immutable !== true) errors.push(forbiddenValue('immutable', 'field is immutable when `immutable` is set'));
      }
      if (type.kind === 'Secret' && old && obj.type !== old.type) errors.push(invalidValue('type', obj.type, 'field is immutable'));
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      errors.push(...validateCrd(obj));
      if (old && s.scope !== o.scope) errors.push(invalidValue('spec.scope', s.scope, 'field is immutable'));
      if (old && s.group !== o.group) errors.push(invalidValue('spec.group', s.group, 'field is immutable'));
      break;
    }
    default:
      break;
  }
  return errors;
}
