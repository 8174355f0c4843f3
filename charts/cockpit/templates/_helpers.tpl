{{/* The release's base name: <release>-cockpit, or the release name when it says cockpit. */}}
{{- define "cockpit.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "cockpit" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-cockpit" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. `app.kubernetes.io/name: cockpit` is fixed: the workers the
control plane creates carry it too, and the NetworkPolicy selects by it. */}}
{{- define "cockpit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: cockpit
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cockpit
{{- end -}}

{{- define "cockpit.controlPlaneSelector" -}}
app.kubernetes.io/name: cockpit
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{- define "cockpit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cockpit.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cockpit.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "cockpit.controlPlaneImage" -}}
{{- printf "%s:%s" .Values.image.controlPlane.repository (include "cockpit.tag" .) -}}
{{- end -}}

{{- define "cockpit.workerImage" -}}
{{- printf "%s:%s" .Values.image.worker.repository (include "cockpit.tag" .) -}}
{{- end -}}

{{- define "cockpit.dataClaim" -}}
{{- default (printf "%s-data" (include "cockpit.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{- define "cockpit.databaseSecret" -}}
{{- default (printf "%s-database" (include "cockpit.fullname" .)) .Values.database.postgres.existingSecret -}}
{{- end -}}

{{- define "cockpit.databaseSecretKey" -}}
{{- if .Values.database.postgres.existingSecret -}}{{ .Values.database.postgres.existingSecretKey }}{{- else -}}DATABASE_URL{{- end -}}
{{- end -}}

{{/* The Secret holding an account's token: its existingSecret, or the one the chart creates. */}}
{{- define "cockpit.accountSecretName" -}}
{{- $root := index . 0 -}}{{- $account := index . 1 -}}
{{- if $account.existingSecret -}}{{ $account.existingSecret.name }}{{- else -}}{{ printf "%s-account-%s" (include "cockpit.fullname" $root) $account.name }}{{- end -}}
{{- end -}}

{{- define "cockpit.accountSecretKey" -}}
{{- if and .existingSecret .existingSecret.key -}}{{ .existingSecret.key }}{{- else -}}token{{- end -}}
{{- end -}}

{{/* The environment variable of the control plane that holds an account's token (tokenEnv). */}}
{{- define "cockpit.accountTokenEnv" -}}
{{- printf "COCKPIT_TOKEN_%s" (.name | upper | replace "-" "_") -}}
{{- end -}}

{{/* The tailnet URL, when the tailnet's DNS name is known. */}}
{{- define "cockpit.url" -}}
{{- if and .Values.tailscale.enabled .Values.tailscale.tailnet -}}
{{- if eq .Values.tailscale.mode "ingress" -}}
{{- printf "https://%s.%s" .Values.tailscale.hostname .Values.tailscale.tailnet -}}
{{- else -}}
{{- printf "http://%s.%s" .Values.tailscale.hostname .Values.tailscale.tailnet -}}{{- if ne (int .Values.service.port) 80 }}:{{ .Values.service.port }}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
