#!/usr/bin/env bash
# Load benchmark of `kv serve` (fjall, buffered) against Redis and a bare hyper server,
# in the same run, all on 127.0.0.1: GET and PUT of 1 KiB values at 50 connections.
#
#   bench/load.sh [seconds per run, default 10] [pinned|unpinned, default pinned]
#
# pinned (the fair measure on a 2-core machine): each server runs alone on CPU 0
# (`taskset -c 0`: one tokio worker, fjall's threads there too) and the load generator
# on CPU 1 with one thread (`wrk -t1 -c50`, `redis-benchmark -P 1 -c 50`), so neither
# steals the other's core. unpinned: everything shares both cores, wrk with 2 threads.
#
# Needs wrk, redis-server, redis-benchmark and taskset (it installs nothing):
#   sudo apt-get update && sudo apt-get install -y wrk redis-server redis-tools util-linux
# Prints one table: req/s, p50 and p99 latency, and the ratios kv/Redis and kv/hyper.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
secs=${1:-10}
mode=${2:-pinned}
conns=50
case "$mode" in
  pinned) threads=1; server_cpu=(taskset -c 0); client_cpu=(taskset -c 1) ;;
  unpinned) threads=2; server_cpu=(); client_cpu=() ;;
  *) echo "mode is pinned or unpinned, not $mode" >&2; exit 2 ;;
esac

missing=()
for tool in wrk redis-server redis-benchmark curl taskset; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "missing: ${missing[*]}" >&2
  echo "install with: sudo apt-get update && sudo apt-get install -y wrk redis-server redis-tools curl" >&2
  exit 2
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
echo "building (release)..." >&2
cargo build --release --quiet -p kv --bin kv --example hyper_ceiling
bin="$CARGO_TARGET_DIR/release"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # bounded readiness polling
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "not ready: $1" >&2; exit 1
}

kv_port=$(free_port); redis_port=$(free_port); hyper_port=$(free_port)
printf 'application "bench" {\n  kv_store "bench" {}\n}\n' > "$work/raindrop.manifest"
printf 'data_dir = "data"\n[defaults]\nbackend = "fjall"\ndurability = "buffered"\n' > "$work/kv.toml"
(cd "$work" && exec "${server_cpu[@]}" "$bin/kv" serve --no-auth --addr "127.0.0.1:$kv_port" --config kv.toml >"$work/kv.log" 2>&1) &
pids+=($!)
"${server_cpu[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
"${server_cpu[@]}" "$bin/examples/hyper_ceiling" "127.0.0.1:$hyper_port" >"$work/hyper.log" 2>&1 &
pids+=($!)

kv_value="http://127.0.0.1:$kv_port/client/v4/accounts/bench/storage/kv/namespaces/bench/values/key-1"
wait_http "http://127.0.0.1:$kv_port/health"
wait_http "http://127.0.0.1:$hyper_port/"
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
head -c 1024 /dev/zero | tr '\0' 'v' > "$work/value"
curl -fsS -X PUT --data-binary @"$work/value" "$kv_value" >/dev/null
# The same 1 KiB as a JSON string for the /v1 route.
kv_v1="http://127.0.0.1:$kv_port/v1/kv/bench/key-1"
printf '{"value":"%s"}' "$(head -c 1014 /dev/zero | tr '\0' 'v')" > "$work/v1.json"
curl -fsS -X PUT -H 'content-type: application/json' --data-binary @"$work/v1.json" "$kv_v1" >/dev/null
redis-cli -p "$redis_port" set key:__rand_int__ "$(cat "$work/value")" >/dev/null

# wrk: "Requests/sec", and the 50% / 99% lines of --latency, converted to ms.
run_wrk() { # name url [lua]
  local out
  out=$("${client_cpu[@]}" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency ${3:+-s "$3"} "$2")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -n "$non2xx" ] && echo "warning: $1 had $non2xx non-2xx responses" >&2
  echo "$1 $rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }

# redis-benchmark: enough requests for about $secs seconds at ~50k/s; CSV has p50 and p99.
run_redis() { # name test
  local n=$((secs * 50000))
  local line
  line=$("${client_cpu[@]}" redis-benchmark -p "$redis_port" -P 1 -c "$conns" -d 1024 -n "$n" -t "$2" --csv | grep -i "^\"$2\"")
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  awk -F'"' -v name="$1" '{print name, $4, $10, $14}' <<<"$line"
}

echo "running ($mode): ${secs}s per measurement, $conns connections, $threads client thread(s)" >&2
results=()
results+=("$(run_wrk kv_get "$kv_value")")
results+=("$(run_wrk kv_get_v1 "$kv_v1")")
results+=("$(run_wrk hyper_get "http://127.0.0.1:$hyper_port/k")")
results+=("$(run_redis redis_get get)")
results+=("$(run_wrk kv_put "$kv_value" bench/put.lua)")
results+=("$(run_wrk hyper_put "http://127.0.0.1:$hyper_port/k" bench/put.lua)")
results+=("$(run_redis redis_set set)")

declare -A rps p50 p99
for r in "${results[@]}"; do
  read -r name a b c <<<"$r"
  rps[$name]=$a; p50[$name]=$b; p99[$name]=$c
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '\n%-10s %12s %10s %10s\n' "run" "req/s" "p50 ms" "p99 ms"
for name in kv_get kv_get_v1 hyper_get redis_get kv_put hyper_put redis_set; do
  printf '%-10s %12.0f %10s %10s\n' "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}"
done
printf '\nGET: kv/Redis %s (target >= 1.0), kv/hyper %s (target >= 0.8)\n' \
  "$(ratio "${rps[kv_get]}" "${rps[redis_get]}")" "$(ratio "${rps[kv_get]}" "${rps[hyper_get]}")"
printf 'GET /v1: kv/Redis %s (target >= 0.9), kv/hyper %s\n' \
  "$(ratio "${rps[kv_get_v1]}" "${rps[redis_get]}")" "$(ratio "${rps[kv_get_v1]}" "${rps[hyper_get]}")"
printf 'PUT: kv/Redis SET %s (target >= 0.8, p99 <= 5 ms), kv/hyper drained PUT %s\n' \
  "$(ratio "${rps[kv_put]}" "${rps[redis_set]}")" "$(ratio "${rps[kv_put]}" "${rps[hyper_put]}")"
