#!/usr/bin/env bash
# User-space instructions per request of `kv serve` and of the bare hyper server, counted
# by callgrind — a figure that does not move with what else the machine is doing (unlike
# req/s), so it guides optimisation on a busy or shared machine. Kernel time (the TCP
# stack) is not counted: bench/load.sh measures the whole.
#
#   bench/instructions.sh [requests, default 2000]
#   KV_BASELINE_BIN=path/to/other/kv bench/instructions.sh   # also measures that build
#
# Each server runs under valgrind twice, serving N and 2N keep-alive requests from one
# connection; the difference divided by N is the cost of one request, without start-up.
# Needs valgrind, wrk (for its Lua-free `-c1` client) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
n=${1:-2000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release --quiet -p kv --bin kv --example hyper_ceiling
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

printf 'application "bench" {\n  kv_store "bench" {}\n}\n' > "$work/raindrop.manifest"
printf 'data_dir = "data"\n[defaults]\nbackend = "fjall"\n' > "$work/kv.toml"
head -c 1024 /dev/zero | tr '\0' 'v' > "$work/value"

# requests <method> <url> <count> [body file]: COUNT sequential keep-alive requests.
requests() {
  python3 - "$@" <<'EOF'
import http.client, sys, urllib.parse
method, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = open(sys.argv[4], 'rb').read() if len(sys.argv) > 4 else None
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port)
for _ in range(count):
    c.request(method, u.path, body=body)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
EOF
}

# cost <name> <server command...>: runs the server under callgrind for N and 2N
# requests of each kind given in $kinds and prints instructions per request.
measure() { # name port url_path method [body] -- server args...
  local name=$1 port=$2 path=$3 method=$4 body=$5; shift 6
  local totals=()
  for count in "$n" $((2 * n)); do
    (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$work/$name.$count.out" "$@" >"$work/$name.log" 2>&1) &
    local pid=$!
    wait_http "http://127.0.0.1:$port/health" 2>/dev/null || wait_http "http://127.0.0.1:$port/"
    [ "$method" = PUT ] || requests PUT "http://127.0.0.1:$port$path" 1 "$work/value" 2>/dev/null || true
    requests "$method" "http://127.0.0.1:$port$path" "$count" ${body:+"$body"}
    kill -INT "$pid"; wait "$pid" 2>/dev/null || true
    totals+=("$(awk '/^summary:|^totals:/ {print $2; exit}' "$work/$name.$count.out")")
  done
  awk -v a="${totals[0]}" -v b="${totals[1]}" -v n="$n" -v name="$name" \
    'BEGIN { printf "%-22s %10.0f instructions/request\n", name, (b - a) / n }'
}

kv_port=$(free_port); h_port=$(free_port)
cf="/client/v4/accounts/bench/storage/kv/namespaces/bench/values/key-1"
measure kv_get "$kv_port" "$cf" GET "" -- "$bin/kv" serve --no-auth --addr "127.0.0.1:$kv_port" --config kv.toml
# The access log (off by default) costs a formatted line and a write per request.
measure kv_get_access_log "$kv_port" "$cf" GET "" -- "$bin/kv" serve --no-auth --access-log --addr "127.0.0.1:$kv_port" --config kv.toml
measure kv_put "$kv_port" "$cf" PUT "$work/value" -- "$bin/kv" serve --no-auth --addr "127.0.0.1:$kv_port" --config kv.toml
if [ -n "${KV_BASELINE_BIN:-}" ]; then
  # Another build of kv (e.g. of an earlier commit), measured in the same run.
  measure baseline_get "$kv_port" "$cf" GET "" -- "$KV_BASELINE_BIN" serve --no-auth --addr "127.0.0.1:$kv_port" --config kv.toml
  measure baseline_put "$kv_port" "$cf" PUT "$work/value" -- "$KV_BASELINE_BIN" serve --no-auth --addr "127.0.0.1:$kv_port" --config kv.toml
fi
measure hyper_get "$h_port" "/k" GET "" -- "$bin/examples/hyper_ceiling" "127.0.0.1:$h_port"
