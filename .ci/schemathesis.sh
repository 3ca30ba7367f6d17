#!/usr/bin/env bash
# The API against its own schema: schemathesis (pinned, from PyPI) reads kv serve's
# /open-api.json and runs every check on every route (see .ci/schemathesis.toml for
# the one check switched off where no schema can state the rule), with an API key,
# over the memory backend, for a bounded number of examples per route.
#
# Excluded: GET /v1/stores/{store}/watch. It answers a Server-Sent Events stream that
# ends only when the client goes away, so schemathesis would wait out its request
# timeout on every case and could validate nothing; tests/server_beyond.rs drives it.
#
# Usage: bash .ci/schemathesis.sh [EXAMPLES [SEED]]   (defaults: 100 examples, seed 1)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
examples=${1:-100}
seed=${2:-1}
version=4.32.5

if [ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" != "$version" ]; then
  python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-pip; }
  pip_install="python3 -m pip install --quiet --disable-pip-version-check schemathesis==$version"
  # Debian's own python3 refuses installs outside a venv (PEP 668) unless told otherwise.
  $pip_install || $pip_install --break-system-packages
fi

cargo build --locked -q --manifest-path "$repo/Cargo.toml" --bin kv
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/raindrop.manifest" <<'MANIFEST'
application "schema-app" {
  kv_store "demo-cache" {}
  kv_store "sessions" {}
  kv_store "files" {}
}
MANIFEST
printf '[defaults]\nbackend = "memory"\n' >"$work/kv.toml"

key="schemathesis-$RANDOM$RANDOM"
(cd "$work" && exec env KV_API_KEY="$key" "$repo/target/debug/kv" serve \
  --manifest raindrop.manifest --config kv.toml --addr 127.0.0.1:0 >serve.log 2>&1) &
pid=$!
addr=
for _ in $(seq 1 100); do
  addr=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1) && [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; echo "schemathesis: kv serve exited"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/serve.log"; echo "schemathesis: kv serve did not start"; exit 1; }

# From the scratch folder, so that schemathesis's own cache stays out of the checkout.
cd "$work"
python3 -m schemathesis.cli --no-color --config-file "$repo/.ci/schemathesis.toml" \
  run "$addr/open-api.json" \
  --header "Authorization: Bearer $key" \
  --exclude-path-regex '/watch$' \
  --max-examples "$examples" --seed "$seed" \
  --generation-database none \
  --request-timeout 10
