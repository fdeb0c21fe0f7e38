{{/* The release's base name, at most 40 characters so that suffixed names stay within 63. */}}
{{- define "factory.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "factory.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: control-plane, worker or database. */}}
{{- define "factory.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "factory.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "factory.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "factory.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{- define "factory.databaseUrl" -}}
{{- if .Values.database.bundled -}}
jdbc:postgresql://{{ include "factory.fullname" . }}-database:5432/factory
{{- else -}}
{{ required "database.url is required when database.bundled is false" .Values.database.url }}
{{- end -}}
{{- end -}}

{{- define "factory.databaseSecret" -}}
{{ .Values.database.existingSecret | default (printf "%s-database" (include "factory.fullname" .)) }}
{{- end -}}

{{/* The Service's names, which the API's and the cluster port's certificates carry. */}}
{{- define "factory.serviceNames" -}}
{{- $svc := printf "%s-control" (include "factory.fullname" .) -}}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) -}}
{{- join "," (concat $names .Values.api.extraNames) -}}
{{- end -}}

{{- define "factory.scheme" -}}
{{- if .Values.api.tlsSecret -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* Environment variables as a list, from a map of FACTORY_… names to values. */}}
{{- define "factory.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
