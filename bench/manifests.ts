/**
 * Generated apps for the benchmarks: a realistic mix of kinds (per ten objects six ConfigMaps,
 * two Deployments, two Services), split into files of at most 50 documents, as repositories
 * tend to hold them.
 */

/** Options of {@link appFiles}. */
export interface AppFilesOptions {
  /** A value written into every ConfigMap and Deployment template, so a commit can change them all. */
  revision?: string;
  /** A value written into the first ConfigMap (`cm-0`) and Deployment (`deploy-0`) only: a typical small change. */
  change?: string;
}

function configMap(name: string, data: Record<string, string>): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels: { app.kubernetes.io/part-of: bench }
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
`;
}

function deployment(name: string, change: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: { app.kubernetes.io/part-of: bench }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
      annotations: { bench/change: ${JSON.stringify(change)} }
    spec:
      containers:
        - name: app
          image: registry.example.com/bench/${name}:1.0.0
          ports: [ { containerPort: 8080 } ]
          env: [ { name: MODE, value: production } ]
          resources: { requests: { cpu: 50m, memory: 64Mi }, limits: { memory: 128Mi } }
`;
}

function service(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels: { app.kubernetes.io/part-of: bench }
spec:
  selector: { app: ${name} }
  ports: [ { name: http, port: 80, targetPort: 8080 } ]
`;
}

/** The kind of the i-th object of a generated app. */
function kindAt(i: number): 'ConfigMap' | 'Deployment' | 'Service' {
  const slot = i % 10;
  return slot < 6 ? 'ConfigMap' : slot < 8 ? 'Deployment' : 'Service';
}

/** `count` objects as files under `dir/` (`objects-000.yaml`, …), keyed by path. */
export function appFiles(dir: string, count: number, options: AppFilesOptions = {}): Record<string, string> {
  const revision = options.revision ?? '0';
  const docs: string[] = [];
  const counters = { ConfigMap: 0, Deployment: 0, Service: 0 };
  for (let i = 0; i < count; i++) {
    const kind = kindAt(i);
    const n = counters[kind]++;
    if (kind === 'ConfigMap') {
      const data: Record<string, string> = { revision, 'settings.yaml': `level: info\nfeature-${n}: enabled\n` };
      if (n === 0 && options.change !== undefined) data.change = options.change;
      docs.push(configMap(`cm-${n}`, data));
    } else if (kind === 'Deployment') {
      docs.push(deployment(`deploy-${n}`, n === 0 && options.change !== undefined ? options.change : revision));
    } else {
      docs.push(service(`svc-${n}`));
    }
  }
  const files: Record<string, string> = {};
  for (let f = 0; f * 50 < docs.length; f++) files[`${dir}/objects-${String(f).padStart(3, '0')}.yaml`] = docs.slice(f * 50, f * 50 + 50).join('---\n');
  return files;
}
