{{/* A stateless role: (dict "ctx" $ "role" "gateway" "values" .Values.gateway) */}}
{{- define "cs.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "cs.fullname" $ctx }}-{{ .role }}
  labels:
    {{- include "cs.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  {{- if not (and (eq .role "gateway") .values.autoscaling.enabled) }}
  replicas: {{ .values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "cs.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "cs.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ .role }}
      annotations:
        checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    spec:
      {{- include "cs.podSpec" . | trim | nindent 6 }}
      terminationGracePeriodSeconds: 60
      containers:
        - name: {{ .role }}
          image: {{ include "cs.image" $ctx }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args: [{{ .role | quote }}]
          {{- include "cs.envFrom" $ctx | nindent 10 }}
          {{- if .http }}
          ports:
            - name: http
              containerPort: {{ $ctx.Values.httpPort }}
          {{- include "cs.probes" $ctx | nindent 10 }}
          {{- end }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "cs.tmpMounts" $ctx | nindent 12 }}
            - name: data
              mountPath: /data
      volumes:
        - name: tmp
          emptyDir: {}
        - name: data
          emptyDir: {}
{{- end -}}

{{/* The Service of a role with an HTTP port; the ServiceMonitor selects the non-headless ones. */}}
{{- define "cs.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cs.fullname" .ctx }}-{{ .role }}{{ if .headless }}-headless{{ end }}
  labels:
    {{- include "cs.labels" .ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
    {{- if not .headless }}
    crypto-streams/metrics: "true"
    {{- end }}
spec:
  type: {{ .type | default "ClusterIP" }}
  {{- if .headless }}
  clusterIP: None
  {{- end }}
  selector:
    {{- include "cs.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .port | default .ctx.Values.httpPort }}
      targetPort: http
{{- end -}}

{{- define "cs.pdb" -}}
{{- if .values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "cs.fullname" .ctx }}-{{ .role }}
  labels:
    {{- include "cs.labels" .ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  {{- if hasKey .values.podDisruptionBudget "minAvailable" }}
  minAvailable: {{ .values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "cs.selector" . | nindent 6 }}
{{- end }}
{{- end -}}
