#!/usr/bin/env bash
# The README's first command and its curl session, run as a newcomer would: start the
# demo app with `cargo run -p demo-app` in an empty folder, then the same curl commands
# the README shows, checking each answer. Stops the app with SIGTERM at the end.
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

if curl -s -o /dev/null http://127.0.0.1:8787/; then
  echo "demo session: something already listens on 127.0.0.1:8787"
  exit 1
fi
cargo run --locked -q --manifest-path "$repo/Cargo.toml" -p demo-app >app.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -s -o /dev/null http://127.0.0.1:8787/ && break
  kill -0 "$pid" 2>/dev/null || { cat app.log; echo "demo-app exited"; exit 1; }
  sleep 0.5
done

expect() { # expect NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    printf 'demo session: %s: expected %q, got %q\n' "$1" "$2" "$3"
    exit 1
  fi
}

# --- the README's session, verbatim ---
login=$(curl -s -c cookies.txt -X POST http://127.0.0.1:8787/login \
  -H 'content-type: application/json' -d '{"userId": 123}')
welcome=$(curl -s -b cookies.txt http://127.0.0.1:8787/)
anonymous=$(curl -s -w ' %{http_code}' http://127.0.0.1:8787/)
# --- end ---

case "$login" in
  '{"sessionId":"'*'","expiresIn":86400}') ;;
  *) expect "POST /login" '{"sessionId":"…","expiresIn":86400}' "$login" ;;
esac
expect "GET / with the cookie" "Welcome user 123" "$welcome"
expect "GET / without a cookie" "Session not found 401" "$anonymous"
grep -q '^demo-app (demo-app) listening on http://127.0.0.1:8787' app.log

kill -TERM "$pid"
wait "$pid"
pid=
if curl -s -o /dev/null http://127.0.0.1:8787/; then
  echo "demo session: demo-app still answers after SIGTERM"
  exit 1
fi
test -d .kv || { echo "demo-app kept no data in ./.kv"; exit 1; }
echo "demo session: all answers as the README shows"
