#!/usr/bin/env bash
# Runs schemathesis against a running control plane, using the OpenAPI document it serves.
#
#   operator/tests/schemathesis/run.sh http://127.0.0.1:8080 [extra schemathesis args]
#
# `cargo test -p cockpit-operator --test openapi` starts a real `cockpit serve` and calls this.
# The pinned schemathesis (requirements.txt) is installed once into a venv:
# $SCHEMATHESIS_VENV, default <workspace>/target/schemathesis-venv (or $CARGO_TARGET_DIR/…);
# it is reinstalled only when requirements.txt changes.
#
# Checks: no 5xx, and every status, content type and body as documented. The SSE streams and the
# WebSocket stay in the document but are skipped (schemathesis cannot drive them).
# SCHEMATHESIS_MAX_EXAMPLES (default 100) bounds the cases per operation; SCHEMATHESIS_SEED
# replays a run. Exits non-zero when schemathesis finds anything.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 BASE_URL [schemathesis args…]" >&2
    exit 2
fi
base=${1%/}
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
workspace=$(cd "$here/../../.." && pwd)
venv=${SCHEMATHESIS_VENV:-${CARGO_TARGET_DIR:-$workspace/target}/schemathesis-venv}
stamp="$venv/requirements.installed"

if ! cmp -s "$here/requirements.txt" "$stamp" 2>/dev/null; then
    echo "installing schemathesis into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi

args=(
    run "$base/api/openapi.json"
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
    --exclude-path /api/events
    --exclude-path '/api/sessions/{id}/conversation'
    --exclude-path '/ws/sessions/{id}'
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}"
    --workers 2
    --request-timeout 10
    --generation-database none
    --no-color
)
if [[ -n ${SCHEMATHESIS_SEED:-} ]]; then
    args+=(--seed "$SCHEMATHESIS_SEED")
fi

# schemathesis writes nothing into the working directory with these options; run it in a
# scratch directory anyway.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$venv/bin/schemathesis" "${args[@]}" "$@"
