{{/* Names and labels shared by every object. */}}
{{- define "cs.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cs.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one role: (dict "ctx" $ "role" "gateway") */}}
{{- define "cs.selector" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "cs.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Settings for every container: the ConfigMap, then the operator's Secret (it wins). */}}
{{- define "cs.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "cs.fullname" . }}
{{- if .Values.existingSecret }}
  - secretRef:
      name: {{ .Values.existingSecret }}
{{- end }}
{{- end -}}

{{- define "cs.podSpec" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Probes on routes every HTTP role serves (gateway/routes/ops.ts, gateway/routes/binance.ts). */}}
{{- define "cs.probes" -}}
startupProbe:
  httpGet: { path: {{ .Values.probes.livenessPath }}, port: http }
  periodSeconds: 5
  failureThreshold: {{ .Values.probes.startupFailureThreshold }}
livenessProbe:
  httpGet: { path: {{ .Values.probes.livenessPath }}, port: http }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
readinessProbe:
  httpGet: { path: {{ .Values.probes.readinessPath }}, port: http }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Writable scratch space: the root filesystem is read-only. */}}
{{- define "cs.tmpMounts" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Is the Prometheus operator's API to be used? */}}
{{- define "cs.operator" -}}
{{- $o := toString .Values.monitoring.operator -}}
{{- if or (eq $o "true") (and (eq $o "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
true
{{- end -}}
{{- end -}}
