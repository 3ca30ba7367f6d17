#!/usr/bin/env bash
# The README's other commands, run as written: the actors example twice (the room
# remembers), `kv serve` with the REST curl session, and the data commands' session
# ("The kv command line (data)"), each answer checked.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
run() { cargo run --locked -q --manifest-path "$repo/Cargo.toml" "$@"; }
fail() { echo "readme commands: $*"; exit 1; }

# --- actors: cargo run -p actors -- room-1 alice hello ---
run -p actors -- room-1 alice hello >/dev/null
second=$(run -p actors -- room-1 bob "hi alice")
grep -q "room-1 (2 members, 2 posts):" <<<"$second" || fail "actors: $second"
grep -q "alice: hello" <<<"$second" || fail "actors forgot the first post: $second"

# --- kv serve and the REST session ---
cat >raindrop.manifest <<'MANIFEST'
application "demo-app" {
  kv_store "demo-cache" {}
  kv_store "files" {}
}
MANIFEST
printf 'data_dir = ".kv-serve"\n' >kv.toml
head -c 3000 /dev/urandom >logo.png
curl -s -o /dev/null http://127.0.0.1:8787/ && fail "something already listens on 127.0.0.1:8787"
# Started directly, not through a shell function, so that $! is cargo, which execs kv.
KV_API_KEY=s3cret cargo run --locked -q --manifest-path "$repo/Cargo.toml" -p kv -- \
  serve --manifest raindrop.manifest --config kv.toml >serve.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -s -o /dev/null http://127.0.0.1:8787/health && break
  kill -0 "$pid" 2>/dev/null || { cat serve.log; fail "kv serve exited"; }
  sleep 0.5
done

H="Authorization: Bearer s3cret"
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(status -H "$H" -X PUT localhost:8787/v1/kv/demo-cache/user:1 -d '{"value":{"name":"Ada"},"ttl":3600}')" = 200 ] || fail "v1 PUT"
got=$(curl -s -H "$H" localhost:8787/v1/kv/demo-cache/user:1)
grep -q '"name":"Ada"' <<<"$got" || fail "v1 GET: $got"
CF=localhost:8787/client/v4/accounts/any/storage/kv/namespaces/demo-cache
[ "$(status -H "$H" -X PUT "$CF/values/files%2Flogo.png?expiration_ttl=600" --data-binary @logo.png)" = 200 ] || fail "CF PUT"
curl -s -H "$H" "$CF/values/files%2Flogo.png" -o back.png
cmp -s logo.png back.png || fail "CF GET returned other bytes"
keys=$(curl -s -H "$H" "$CF/keys?prefix=files/&limit=100")
grep -q '"name":"files/logo.png"' <<<"$keys" || fail "CF keys: $keys"
bulk=$(curl -s -H "$H" -X PUT "$CF/bulk" -d '[{"key":"a","value":"1"},{"key":"b","value":"AAE=","base64":true}]')
grep -q '"successful_key_count":2' <<<"$bulk" || fail "CF bulk: $bulk"
[ "$(status localhost:8787/v1/kv/demo-cache/user:1)" = 401 ] || fail "no credentials must be 401"

# --- the data commands: --remote while kv serve holds the directory, then locally ---
kv() { "$repo/target/debug/kv" "$@"; }
run -p kv --bin kv -- --version >/dev/null  # builds target/debug/kv
held=$(kv key get demo-cache user:1 2>&1) && fail "a held directory must be refused: $held"
grep -q -- "--remote http://127.0.0.1:8787" <<<"$held" || fail "no --remote hint: $held"
remote=$(KV_API_KEY=s3cret kv key get demo-cache user:1 --remote http://127.0.0.1:8787)
grep -q '"name":"Ada"' <<<"$remote" || fail "kv key get --remote: $remote"

kill -TERM "$pid"
wait "$pid" || fail "kv serve did not exit cleanly on SIGTERM: $(cat serve.log)"
pid=
curl -s -o /dev/null http://127.0.0.1:8787/ && fail "kv serve still answers after SIGTERM"

kv key put demo-cache user:1 "John Doe" --ttl 3600 --metadata '{"role":"admin"}'
[ "$(kv key get demo-cache user:1)" = "John Doe" ] || fail "kv key get: $(kv key get demo-cache user:1)"
kv key put files logo.png --path logo.png
kv key get files logo.png >back.png && cmp -s logo.png back.png || fail "kv key get of a file"
listed=$(kv key list demo-cache --prefix user:)
grep -q '"name":"user:1"' <<<"$listed" && grep -q '"role":"admin"' <<<"$listed" || fail "kv key list: $listed"
printf '[{"key":"item:1","value":"one"},{"key":"item:2","value":"AAE=","base64":true}]' >items.json
kv bulk put demo-cache items.json --quiet
[ "$(kv key get demo-cache item:1)" = one ] || fail "kv bulk put"
kv export --out dump.jsonl --quiet
grep -q '"key":"user:1"' dump.jsonl && grep -q '"key":"logo.png"' dump.jsonl || fail "kv export: $(cat dump.jsonl)"
echo "readme commands: actors, the REST session and the data commands answer as the README shows"
