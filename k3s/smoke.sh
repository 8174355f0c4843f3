#!/usr/bin/env bash
# Checks an installed Claude Cockpit end to end: applies the example interactive session
# (examples/session-interactive.yaml, renamed and pointed at a configured repo), waits for it
# to be Ready, checks its worker Pod, then opens the session's WebSocket through the control
# plane's Service and expects the upgrade (101) and the worker's hello frame. Deletes the
# session at the end (KEEP=1 keeps it).
#
#   sudo k3s/smoke.sh [REPO]
#
# Environment: COCKPIT_NAMESPACE (default cockpit), COCKPIT_RELEASE (default cockpit),
# SMOKE_TIMEOUT (default 300s), KUBECONFIG (default /etc/rancher/k3s/k3s.yaml when readable).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
namespace=${COCKPIT_NAMESPACE:-cockpit}
release=${COCKPIT_RELEASE:-cockpit}
timeout=${SMOKE_TIMEOUT:-300s}
if [ -z "${KUBECONFIG:-}" ] && [ -r /etc/rancher/k3s/k3s.yaml ]; then
  export KUBECONFIG=/etc/rancher/k3s/k3s.yaml
fi

say() { printf '== %s\n' "$*"; }
die() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }
for tool in kubectl curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done

# The repo: the argument, else the first one in the release's cockpit.yaml.
repo=${1:-$(kubectl -n "$namespace" get configmap "$release-config" -o jsonpath='{.data.cockpit\.yaml}' |
  awk '/^repos:/ { r = 1; next } r && /^[^ -]/ { r = 0 } r && /name:/ { print $NF; exit }')}
[ -n "$repo" ] || die "no repo configured (set repos in your values) and none given"

session="smoke-$(date +%s)"
port=$((20000 + RANDOM % 20000))
pf_pid=
cleanup() {
  [ -n "$pf_pid" ] && kill "$pf_pid" 2>/dev/null
  if [ "${KEEP:-0}" != 1 ]; then
    kubectl -n "$namespace" delete claudesession "$session" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

say "session $session on repo $repo"
sed -e "s/^  name: .*/  name: $session/" -e "s/^  repo: .*/  repo: $repo/" \
  "$root/examples/session-interactive.yaml" | kubectl -n "$namespace" apply -f -

say "waiting for Ready (up to $timeout)"
if ! kubectl -n "$namespace" wait --for=condition=Ready "claudesession/$session" --timeout="$timeout"; then
  kubectl -n "$namespace" get claudesession "$session" -o yaml >&2 || true
  kubectl -n "$namespace" get pods -l "cockpit.dev/session=$session" >&2 || true
  die "the session did not become Ready"
fi
kubectl -n "$namespace" get claudesession "$session"

say "worker Pod"
pod=$(kubectl -n "$namespace" get pods -l "app.kubernetes.io/component=worker,cockpit.dev/session=$session" \
  -o jsonpath='{.items[0].metadata.name}')
[ -n "$pod" ] || die "no worker Pod labelled cockpit.dev/session=$session"
ready=$(kubectl -n "$namespace" get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
[ "$ready" = True ] || die "worker Pod $pod is not Ready"
echo "$pod is Ready"

say "WebSocket /ws/sessions/$session through service/$release"
kubectl -n "$namespace" port-forward "service/$release" "$port:http" >/dev/null 2>&1 &
pf_pid=$!
for _ in $(seq 1 30); do
  curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null || die "the control plane does not answer /api/health"
# A WebSocket upgrade by hand: the answer must be 101, then the first (text) frame is the
# worker's hello. curl stops after 5 s (exit 28): the socket stays open by design.
key=$(head -c 16 /dev/urandom | base64)
reply=$(curl -sS -N --http1.1 --max-time 5 \
  -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
  -H "Sec-WebSocket-Key: $key" -H "Origin: http://127.0.0.1:$port" \
  -D - "http://127.0.0.1:$port/ws/sessions/$session" 2>/dev/null | head -c 65536 | tr -d '\000' || true)
printf '%s\n' "$reply" | head -n 1 | grep -q ' 101 ' || die "no WebSocket upgrade: $(printf '%s\n' "$reply" | head -n 1)"
printf '%s' "$reply" | grep -aq '"type":"hello"' || die "upgraded, but no hello frame from the worker"
echo "101 Switching Protocols, hello frame received"

say "OK: session $session was Ready and its terminal is reachable"
