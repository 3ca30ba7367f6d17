#!/usr/bin/env bash
# Redis servers for the tests, on free loopback ports, each in a temporary directory.
#
#   eval "$(bash .ci/redis.sh start)"   # a standalone server and a 3-master cluster
#   ...                                 # tests read KV_TEST_REDIS_URL, KV_TEST_REDIS_CLUSTER
#   bash .ci/redis.sh stop              # stops what `start` started (KV_TEST_REDIS_PIDS)
#
# `start` prints `export` lines only (progress goes to stderr). It never uses a fixed
# port, and `stop` kills only the processes whose ids `start` wrote to its pid file.
set -euo pipefail

redis_server=${REDIS_SERVER:-redis-server}
redis_cli=${REDIS_CLI:-redis-cli}

say() { printf '%s\n' "$*" >&2; }
die() { say ".ci/redis.sh: $*"; exit 1; }

# Whether nothing listens on 127.0.0.1:$1 (or on every address at that port).
port_free() {
  [ "$1" -le 65535 ] || return 1
  ! ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .
}

# A free port P, for a cluster node also P + 10000 (its cluster bus), not in "$taken".
# Runs in a subshell ($(...)): the caller adds what it picked to "$taken".
taken=""
pick_port() {
  local bus=$1 port tries=0
  while [ $tries -lt 200 ]; do
    tries=$((tries + 1))
    port=$((20000 + RANDOM % 20000))
    case " $taken " in *" $port "*) continue ;; esac
    port_free "$port" || continue
    if [ "$bus" = bus ]; then
      port_free $((port + 10000)) || continue
      case " $taken " in *" $((port + 10000)) "*) continue ;; esac
    fi
    echo "$port"
    return 0
  done
  die "no free port found"
}

wait_ping() {
  local port=$1 i
  for i in $(seq 1 100); do
    if [ "$("$redis_cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.1
  done
  die "redis-server on port $port did not answer PING"
}

# Starts one server in its own directory; appends its pid to the pid file.
launch() {
  local port=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  "$redis_server" --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@"
  wait_ping "$port"
  cat "$dir/redis.pid" >>"$state/pids"
}

start() {
  command -v "$redis_server" >/dev/null || die "$redis_server not found (apt-get install redis-server)"
  command -v "$redis_cli" >/dev/null || die "$redis_cli not found (apt-get install redis-tools)"
  state=$(mktemp -d "${TMPDIR:-/tmp}/kv-redis.XXXXXX")
  : >"$state/pids"

  local standalone
  standalone=$(pick_port plain)
  taken="$taken $standalone"
  launch "$standalone" "$state/standalone"
  say "standalone redis-server on 127.0.0.1:$standalone"

  local nodes=() urls=() port
  for _ in 1 2 3; do
    port=$(pick_port bus)
    taken="$taken $port $((port + 10000))"
    launch "$port" "$state/node-$port" --cluster-enabled yes \
      --cluster-config-file "$state/node-$port/nodes.conf" --cluster-node-timeout 3000
    nodes+=("127.0.0.1:$port")
    urls+=("redis://127.0.0.1:$port")
  done
  "$redis_cli" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$state/cluster-create.log" 2>&1 || die "cluster create failed: $(cat "$state/cluster-create.log")"
  local node ok i
  for node in "${nodes[@]}"; do
    ok=""
    for i in $(seq 1 150); do
      if "$redis_cli" -h 127.0.0.1 -p "${node#*:}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
        ok=1
        break
      fi
      sleep 0.2
    done
    [ -n "$ok" ] || die "cluster node $node did not reach cluster_state:ok"
  done
  say "3-master cluster on ${nodes[*]}"

  local joined
  joined=$(IFS=,; echo "${urls[*]}")
  {
    echo "export KV_TEST_REDIS_URL=redis://127.0.0.1:$standalone"
    echo "export KV_TEST_REDIS_CLUSTER=$joined"
    echo "export KV_TEST_REDIS_PIDS=$state/pids"
  } | tee "$state/env"
}

stop() {
  local pids=${1:-${KV_TEST_REDIS_PIDS:-}}
  [ -n "$pids" ] || die "stop: no pid file (pass it, or set KV_TEST_REDIS_PIDS)"
  [ -f "$pids" ] || { say "stop: $pids is gone: nothing to stop"; return 0; }
  local pid
  while read -r pid; do
    [ -n "$pid" ] || continue
    # Only a redis-server that start launched: a recycled pid is left alone.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis-server; then
      kill "$pid" 2>/dev/null || true
    fi
  done <"$pids"
  while read -r pid; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done <"$pids"
  local state
  state=$(dirname "$pids")
  case "$state" in */kv-redis.*) rm -rf "$state" ;; esac
  say "stopped the Redis servers of $state"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 start | stop [PID_FILE]" ;;
esac
