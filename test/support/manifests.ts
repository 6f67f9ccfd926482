// Manifests the correctness tests share, on the test server and on the real control plane.

/** A Deployment whose container mounts one ConfigMap volume twice, with different subPaths. */
export function twoMounts(second = 'b.conf'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx:1.25
          volumeMounts:
            - { name: config, mountPath: /etc/app/a.conf, subPath: a.conf }
            - { name: config, mountPath: /etc/app/b.conf, subPath: ${second} }
      volumes:
        - name: config
          configMap: { name: app-config }
`;
}

/** A namespaced CRD of kind Widget (`spec.size`, an integer) in `group`, served as v1. */
export function widgetCrd(name: string, group: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${name} }
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer }
`;
}

/** A Deployment whose selector and pod labels are `app: <selector>`, optionally annotated. */
export function selectorDeployment(selector: string, annotations = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web${annotations ? `, annotations: { ${annotations} }` : ''} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${selector} } }
  template:
    metadata: { labels: { app: ${selector} } }
    spec: { containers: [ { name: web, image: nginx:1.25 } ] }
`;
}

/** A Job running `image`. */
export function job(name: string, image: string, extra = ''): string {
  return `apiVersion: batch/v1
kind: Job
metadata: { name: ${name} }
spec:${extra}
  backoffLimit: 0
  template:
    spec: { restartPolicy: Never, containers: [ { name: main, image: ${image} } ] }
`;
}

/** A HorizontalPodAutoscaler scaling Deployment `target` between `min` and `max` replicas on CPU. */
export function autoscaler(target: string, min: number, max: number): string {
  return `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ${target} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ${target} }
  minReplicas: ${min}
  maxReplicas: ${max}
  metrics: [ { type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } } } ]
`;
}

/** The Widget CRD serving v1 and/or v2 (v2 stores when served). */
export function widgetCrdVersions(name: string, group: string, v1: boolean, v2: boolean): string {
  const schema = 'schema: { openAPIV3Schema: { type: object, properties: { spec: { type: object, properties: { size: { type: integer } } } } } }';
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${name} }
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - { name: v1, served: ${v1}, storage: ${!v2}, ${schema} }
    - { name: v2, served: ${v2}, storage: ${v2}, ${schema} }
`;
}
