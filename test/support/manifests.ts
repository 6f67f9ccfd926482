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
