{{/* Name of the chart, overridable. */}}
{{- define "landfall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects. */}}
{{- define "landfall.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "landfall.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "landfall.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "landfall.labels" -}}
app.kubernetes.io/name: {{ include "landfall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels for one component (web, worker, redis). */}}
{{- define "landfall.selector" -}}
app.kubernetes.io/name: {{ include "landfall.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "landfall.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "landfall.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "landfall.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Redis URL: external, or the bundled StatefulSet's Service. */}}
{{- define "landfall.redisUrl" -}}
{{- if .Values.redis.url -}}
{{- .Values.redis.url -}}
{{- else -}}
{{- printf "redis://%s-redis:6379" (include "landfall.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Namespaces the configured apps may deploy to: each app's namespace and allowedNamespaces. */}}
{{- define "landfall.appNamespaces" -}}
{{- $namespaces := list -}}
{{- range (.Values.config.apps | default list) -}}
{{- $namespaces = append $namespaces .namespace -}}
{{- range (.allowedNamespaces | default list) -}}
{{- $namespaces = append $namespaces . -}}
{{- end -}}
{{- end -}}
{{- $namespaces | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* Whether any app may change cluster-scoped objects, or create its namespace. */}}
{{- define "landfall.needsClusterScoped" -}}
{{- $needed := false -}}
{{- range (.Values.config.apps | default list) -}}
{{- if .allowClusterScoped -}}{{- $needed = true -}}{{- end -}}
{{- end -}}
{{- $needed -}}
{{- end -}}

{{- define "landfall.needsNamespaceCreate" -}}
{{- $needed := false -}}
{{- range (.Values.config.apps | default list) -}}
{{- if .createNamespace -}}{{- $needed = true -}}{{- end -}}
{{- end -}}
{{- $needed -}}
{{- end -}}

{{/* Whether an app has pull-request previews: Landfall then owns namespaces of its own (README "Previews"). */}}
{{- define "landfall.needsPreviews" -}}
{{- $needed := false -}}
{{- range (.Values.config.apps | default list) -}}
{{- if .previews -}}{{- $needed = true -}}{{- end -}}
{{- end -}}
{{- $needed -}}
{{- end -}}

{{/* The pod spec parts web and worker share. */}}
{{- define "landfall.podCommon" -}}
serviceAccountName: {{ include "landfall.serviceAccountName" . }}
automountServiceAccountToken: true
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Environment for the Landfall containers. */}}
{{- define "landfall.env" -}}
- name: LANDFALL_CONFIG
  value: /etc/landfall/landfall.yaml
- name: LANDFALL_REDIS__URL
  value: {{ include "landfall.redisUrl" . | quote }}
- name: LANDFALL_SERVER__HOST
  value: "0.0.0.0"
- name: LANDFALL_SERVER__PORT
  value: {{ .Values.ports.http | quote }}
- name: LANDFALL_SERVER__HOOKS_PORT
  value: {{ .Values.ports.hooks | quote }}
- name: LANDFALL_SERVER__METRICS_PORT
  value: {{ .Values.ports.metrics | quote }}
- name: LANDFALL_WORKER__PROBE_PORT
  value: {{ .Values.ports.workerProbe | quote }}
- name: LANDFALL_SERVER__AUTH__ANONYMOUS
  value: {{ .Values.auth.anonymous | quote }}
{{- end -}}

{{/* Sign-in settings: the web role only (workers never see the client or session secret). */}}
{{- define "landfall.signInEnv" -}}
{{- with .Values.auth.signIn }}
{{- if .enabled }}
- name: LANDFALL_SERVER__AUTH__SIGN_IN__PROVIDER
  value: {{ .provider | quote }}
{{- if .url }}
- name: LANDFALL_SERVER__AUTH__SIGN_IN__URL
  value: {{ .url | quote }}
{{- end }}
{{- if .issuer }}
- name: LANDFALL_SERVER__AUTH__SIGN_IN__ISSUER
  value: {{ .issuer | quote }}
{{- end }}
{{- range $key, $name := dict "clientId" "CLIENT_ID" "clientSecret" "CLIENT_SECRET" "sessionSecret" "SESSION_SECRET" }}
- name: LANDFALL_SERVER__AUTH__SIGN_IN__{{ $name }}
  valueFrom:
    secretKeyRef: { name: {{ required "auth.signIn.existingSecret is required with auth.signIn.enabled" $.Values.auth.signIn.existingSecret }}, key: {{ $key }} }
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "landfall.envFrom" -}}
{{- if .Values.existingSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.existingSecret }}
{{- end }}
{{- end -}}

{{/* Ports and probes; probes ask the port named http (the worker's is its probe port). */}}
{{- define "landfall.probes" -}}
ports:
  {{- if eq .role "worker" }}
  - name: http
    containerPort: {{ .root.Values.ports.workerProbe }}
    protocol: TCP
  {{- else }}
  - name: http
    containerPort: {{ .root.Values.ports.http }}
    protocol: TCP
  - name: hooks
    containerPort: {{ .root.Values.ports.hooks }}
    protocol: TCP
  - name: metrics
    containerPort: {{ .root.Values.ports.metrics }}
    protocol: TCP
  {{- end }}
livenessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: http }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 2
  failureThreshold: 30
{{- end -}}
