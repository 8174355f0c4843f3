#!/usr/bin/env bash
# Puts Claude Cockpit on a fresh NUC (Debian or Ubuntu, amd64 or arm64), and updates it when
# run again: every step checks first and only does what is missing or changed.
#
#   sudo TS_OAUTH_CLIENT_ID=... TS_OAUTH_CLIENT_SECRET=... k3s/install.sh
#
# 1. k3s with k3s/config.yaml (installed as /etc/rancher/k3s/config.yaml)
# 2. helm (a pinned release, checksum verified)
# 3. the Tailscale Kubernetes operator (helm), with the OAuth client from the environment
# 4. the images: built with docker, nerdctl or buildah (buildah is installed when none is
#    there) and imported into k3s; or imported from COCKPIT_IMAGES_DIR
# 5. the CRDs and the chart (charts/cockpit) with your values file
# 6. prints the tailnet URL
#
# Environment:
#   TS_OAUTH_CLIENT_ID, TS_OAUTH_CLIENT_SECRET
#                       the Tailscale OAuth client (scopes Devices Core, Auth Keys, Services
#                       write; tag tag:k8s-operator). Needed the first time; never printed.
#   COCKPIT_VALUES      your values file (default /etc/cockpit/values.yaml; see
#                       k3s/values.example.yaml)
#   COCKPIT_NAMESPACE   default cockpit
#   COCKPIT_IMAGE_TAG   default: what images/build-and-import.sh picks (appVersion-commit)
#   COCKPIT_IMAGES_DIR  import cockpit-*-TAG.tar from here instead of building
#   K3S_VERSION         default v1.35.5+k3s1
#   HELM_VERSION        default v4.1.4
#   TAILSCALE_OPERATOR_VERSION   default 1.98.4
#   TS_TAILNET          your tailnet's DNS name (e.g. tail1234.ts.net); found by itself
#                       from the Ingress once Tailscale has set it up
#   SKIP_TAILSCALE=1    don't install the Tailscale operator (and expose nothing)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
namespace=${COCKPIT_NAMESPACE:-cockpit}
values=${COCKPIT_VALUES:-/etc/cockpit/values.yaml}
k3s_version=${K3S_VERSION:-v1.35.5+k3s1}
helm_version=${HELM_VERSION:-v4.1.4}
ts_operator_version=${TAILSCALE_OPERATOR_VERSION:-1.98.4}
k3s_config=${K3S_CONFIG_FILE:-/etc/rancher/k3s/config.yaml}
bin_dir=${INSTALL_BIN_DIR:-/usr/local/bin}
export KUBECONFIG=${KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}

step() { printf '\n== %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo -E k3s/install.sh), it installs k3s"
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"
if [ -e "$values" ]; then
  [ -r "$values" ] || die "cannot read $values"
  values_args=(--values "$values")
else
  printf 'install: no values file at %s: installing with the chart defaults (no repos, no accounts).\n' "$values"
  printf '         Copy k3s/values.example.yaml there, edit it, and run this again.\n'
  values_args=()
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- 1. k3s -------------------------------------------------------------------------------
step "k3s $k3s_version"
config_changed=0
if ! cmp -s "$root/k3s/config.yaml" "$k3s_config"; then
  install -D -m 0600 "$root/k3s/config.yaml" "$k3s_config"
  config_changed=1
fi
installed_version=
if command -v k3s >/dev/null 2>&1; then
  installed_version=$(k3s --version 2>/dev/null | sed -n 's/^k3s version \([^ ]*\).*/\1/p' || true)
fi
if [ "$installed_version" != "$k3s_version" ]; then
  echo "installing k3s $k3s_version (found: ${installed_version:-none})"
  curl -sfL https://get.k3s.io -o "$work/k3s-install.sh"
  INSTALL_K3S_VERSION=$k3s_version sh "$work/k3s-install.sh"
elif [ "$config_changed" = 1 ]; then
  echo "k3s config changed: restarting k3s"
  systemctl restart k3s
else
  echo "k3s $installed_version is installed and configured"
fi
for _ in $(seq 1 90); do
  [ -s "$KUBECONFIG" ] && [ -n "$(kubectl get nodes -o name 2>/dev/null)" ] && break
  sleep 2
done
kubectl wait --for=condition=Ready node --all --timeout=180s

# ---- 2. helm ------------------------------------------------------------------------------
step "helm $helm_version"
if command -v helm >/dev/null 2>&1 && helm version --template '{{.Version}}' 2>/dev/null | grep -qx "$helm_version"; then
  echo "helm $helm_version is installed"
else
  case $(uname -m) in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
  tarball="helm-$helm_version-linux-$arch.tar.gz"
  curl -sfL "https://get.helm.sh/$tarball" -o "$work/$tarball"
  curl -sfL "https://get.helm.sh/$tarball.sha256sum" -o "$work/$tarball.sha256sum"
  (cd "$work" && sha256sum --check --quiet "$tarball.sha256sum") || die "helm download does not match its checksum"
  tar -xzf "$work/$tarball" -C "$work"
  install -m 0755 "$work/linux-$arch/helm" "$bin_dir/helm"
  helm version --short
fi

# ---- 3. the Tailscale operator -------------------------------------------------------------
if [ "${SKIP_TAILSCALE:-0}" = 1 ]; then
  step "Tailscale operator: skipped (SKIP_TAILSCALE=1)"
  tailscale_args=(--set tailscale.enabled=false)
else
  step "Tailscale operator $ts_operator_version"
  tailscale_args=()
  if [ -n "${TS_OAUTH_CLIENT_ID:-}" ] && [ -n "${TS_OAUTH_CLIENT_SECRET:-}" ]; then
    for credential in TS_OAUTH_CLIENT_ID TS_OAUTH_CLIENT_SECRET; do
      [[ ${!credential} =~ ^[A-Za-z0-9_-]+$ ]] || die "$credential has unexpected characters (it is not printed)"
    done
    # The OAuth client goes to helm in a private file, never on a command line or the terminal.
    oauth="$work/tailscale-oauth.yaml"
    (
      umask 077
      printf 'oauth:\n  clientId: "%s"\n  clientSecret: "%s"\n' "$TS_OAUTH_CLIENT_ID" "$TS_OAUTH_CLIENT_SECRET" >"$oauth"
    )
    helm repo add tailscale https://pkgs.tailscale.com/helmcharts --force-update >/dev/null
    helm upgrade --install tailscale-operator tailscale/tailscale-operator \
      --namespace tailscale --create-namespace --version "$ts_operator_version" \
      --values "$oauth" --wait --timeout 5m >/dev/null
    rm -f "$oauth"
    echo "Tailscale operator $ts_operator_version installed"
  elif helm status tailscale-operator --namespace tailscale >/dev/null 2>&1; then
    echo "Tailscale operator already installed (set TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET to reinstall it)"
  else
    die "set TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET (a Tailscale OAuth client, see k3s/README.md), or SKIP_TAILSCALE=1"
  fi
fi

# ---- 4. the images -------------------------------------------------------------------------
tag=${COCKPIT_IMAGE_TAG:-$("$root/images/build-and-import.sh" --print-tag)}
step "images (tag $tag)"
if [ -n "${COCKPIT_IMAGES_DIR:-}" ]; then
  for target in control-plane worker; do
    archive="$COCKPIT_IMAGES_DIR/cockpit-$target-$tag.tar"
    [ -f "$archive" ] || die "no $archive (images/build-and-import.sh --no-import --save DIR --tag $tag makes it)"
    k3s ctr images import "$archive"
  done
elif k3s ctr images ls -q 2>/dev/null | grep -qx "docker.io/library/cockpit-worker:$tag" &&
  k3s ctr images ls -q 2>/dev/null | grep -qx "docker.io/library/cockpit-control-plane:$tag"; then
  echo "images $tag are already in k3s"
else
  if ! command -v docker >/dev/null 2>&1 && ! command -v nerdctl >/dev/null 2>&1 && ! command -v buildah >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "no image builder: install docker, nerdctl or buildah"
    echo "installing buildah (apt) to build the images"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah
  fi
  K3S=k3s "$root/images/build-and-import.sh" --tag "$tag"
fi

# ---- 5. the CRDs and the chart -------------------------------------------------------------
step "Claude Cockpit in namespace $namespace"
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# Repos are hostPath volumes, which every Pod Security level but `privileged` forbids, so the
# namespace says so explicitly; the Pods themselves are locked down by the chart and the
# control plane (non-root, no privilege escalation, all capabilities dropped, seccomp).
kubectl label namespace "$namespace" --overwrite pod-security.kubernetes.io/enforce=privileged >/dev/null
# helm installs a chart's CRDs only once; apply them every time so upgrades reach them.
kubectl apply --server-side --force-conflicts -f "$root/charts/cockpit/crds/" >/dev/null
# The tailnet: from the environment, else what the release already knows (found in step 6
# of an earlier run), so a rerun changes nothing.
tailnet=${TS_TAILNET:-$(helm get values cockpit --namespace "$namespace" --all --output json 2>/dev/null |
  sed -n 's/.*"tailnet":"\([^"]*\)".*/\1/p' || true)}
if [ -n "$tailnet" ]; then
  tailscale_args+=(--set "tailscale.tailnet=$tailnet")
fi
helm upgrade --install cockpit "$root/charts/cockpit" --namespace "$namespace" \
  "${values_args[@]}" --set "image.tag=$tag" "${tailscale_args[@]}" --wait --timeout 10m >/dev/null
kubectl -n "$namespace" rollout status deployment/cockpit --timeout=5m

# ---- 6. the URL ----------------------------------------------------------------------------
step "URL"
if [ "${SKIP_TAILSCALE:-0}" = 1 ]; then
  echo "not exposed: kubectl -n $namespace port-forward service/cockpit 8080:80, then http://127.0.0.1:8080"
  exit 0
fi
mode=$(helm get values cockpit --namespace "$namespace" --all --output json |
  sed -n 's/.*"mode":"\([a-z]*\)".*/\1/p' || true)
kind=ingress
[ "$mode" = service ] && kind=service
host=
for _ in $(seq 1 60); do
  host=$(kubectl -n "$namespace" get "$kind" cockpit -o jsonpath='{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null || true)
  [ -n "$host" ] && break
  sleep 3
done
if [ -z "$host" ]; then
  echo "Tailscale has not published the name yet; see: kubectl -n $namespace get $kind cockpit"
  exit 0
fi
if [ "${host#*.}" != "$tailnet" ]; then
  # The app's origin must be allowed: tell the chart the tailnet it now knows.
  helm upgrade cockpit "$root/charts/cockpit" --namespace "$namespace" --reuse-values \
    --set "tailscale.tailnet=${host#*.}" --wait --timeout 5m >/dev/null
fi
scheme=https
[ "$kind" = service ] && scheme=http
printf '\nClaude Cockpit: %s://%s\n' "$scheme" "$host"
printf 'check it with: sudo k3s/smoke.sh\n'
