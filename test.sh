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

say "Claude Code CLI (npm, pinned in worker/testkit/npm)"
if ! [ -x worker/testkit/npm/node_modules/.bin/claude ] || ! worker/testkit/npm/node_modules/.bin/claude --version >/dev/null 2>&1; then
  (cd worker/testkit/npm && npm ci --no-audit --no-fund --loglevel=error)
fi
export COCKPIT_TEST_CLAUDE="$PWD/worker/testkit/npm/node_modules/.bin/claude"
"$COCKPIT_TEST_CLAUDE" --version

say "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

say "build"
cargo build --workspace --all-targets --locked

say "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
