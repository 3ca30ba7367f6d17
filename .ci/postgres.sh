#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the postgres backend's tests.
#
#   eval "$(bash .ci/postgres.sh start)"   # prints: export KV_TEST_POSTGRES_URL=postgres://...
#   bash .ci/postgres.sh stop              # stops it and removes its directory
#
# `start` installs Debian's postgresql package if no server binaries are found, creates
# a cluster in a temporary directory (initdb as the unprivileged `postgres` user:
# PostgreSQL refuses to run as root), starts it on a free 127.0.0.1 port with its socket
# in that directory, and creates a database and a password-authenticated user. Only what
# this script started is ever stopped: the cluster's directory is remembered in
# $KV_PG_STATE (default /tmp/kv-postgres-ci.state). It never uses port 5432.
set -euo pipefail

state=${KV_PG_STATE:-/tmp/kv-postgres-ci.state}
log() { printf '%s\n' "$*" >&2; }

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    return 1
  fi
  printf '%s\n' "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY'
import socket
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 5432:
        print(port)
        break
PY
}

start() {
  if [ -f "$state" ] && [ -d "$(cat "$state")" ]; then
    log "a cluster from this script is still recorded in $state: run '$0 stop' first"
    exit 1
  fi
  local bin
  if ! bin=$(bindir); then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(bindir)
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    log "no 'postgres' user to run the server as"
    exit 1
  fi
  local dir port password
  dir=$(mktemp -d /tmp/kv-postgres.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
  chmod 600 "$dir/pwfile"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$dir/pwfile" -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  printf '%s\n' "$dir" > "$state"
  local try
  for try in 1 2 3 4 5; do
    port=$(free_port)
    if as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c fsync=on" \
      start >&2; then
      break
    fi
    port=
  done
  if [ -z "$port" ]; then
    cat "$dir/server.log" >&2
    exit 1
  fi
  printf '%s\n' "$port" > "$dir/port"
  as_postgres "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE kv LOGIN PASSWORD '$password'" >&2
  # A database whose text collation is not byte order (ICU en-US sorts a < B < é < z),
  # so that the tests show keys sort by bytes whatever the collation.
  as_postgres "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE kv OWNER kv TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'" >&2 2>/dev/null \
    || as_postgres "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE kv OWNER kv" >&2
  as_postgres "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d kv -v ON_ERROR_STOP=1 \
    -c "GRANT CREATE ON SCHEMA public TO kv" >&2
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  printf 'export KV_TEST_POSTGRES_URL=postgres://kv:%s@127.0.0.1:%s/kv\n' "$password" "$port"
}

# Stops (-m fast) and starts the recorded cluster again on the same port: for tests of
# a server that goes away mid-run. `pause` stops it, `resume` starts it (also after
# `kill`).
pause() {
  local dir bin
  dir=$(cat "$state")
  bin=$(bindir)
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2
}

resume() {
  local dir bin port
  dir=$(cat "$state")
  bin=$(bindir)
  port=$(cat "$dir/port")
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300" start >&2
}

# A crash of the server: SIGKILL to the postmaster and every process it started, at
# once, with no shutdown (no checkpoint); `resume` then starts it on the same port and
# PostgreSQL recovers from its WAL.
kill_server() {
  local dir pid children p
  dir=$(cat "$state")
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  children=$(ps -o pid= --ppid "$pid" || true)
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $children
  # Wait until they are gone. A zombie (dead, not reaped yet) would still look like a
  # running postmaster to the next start's lock-file check; after 10 s the lock file
  # of a postmaster that is dead is removed, as a reboot would leave no such process.
  for p in $pid $children; do
    for _ in $(seq 1 200); do
      [ -n "$(ps -o stat= -p "$p" 2>/dev/null)" ] || break
      sleep 0.05
    done
  done
  case "$(ps -o stat= -p "$pid" 2>/dev/null)" in
    Z*) rm -f "$dir/data/postmaster.pid" ;;
  esac
}

stop() {
  if [ ! -f "$state" ]; then
    log "no cluster recorded in $state"
    return 0
  fi
  local dir bin
  dir=$(cat "$state")
  case "$dir" in
    /tmp/kv-postgres.*) ;;
    *) log "refusing to remove $dir: not a directory this script made"; exit 1 ;;
  esac
  if bin=$(bindir) && [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  pause) pause ;;
  resume) resume ;;
  kill) kill_server ;;
  *) log "usage: $0 start|stop|pause|resume|kill"; exit 2 ;;
esac
