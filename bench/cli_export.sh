#!/usr/bin/env bash
# Benchmark of `kv import` and `kv export` on the local data directory (fjall,
# buffered): 1,000,000 keys of 100-byte values, release build.
#
#   bench/cli_export.sh [keys, default 1000000]
#
# Writes an export file of N records, imports it into a fresh data directory, exports
# that directory again and checks the two files are byte-identical. Reports keys/s and
# the peak RSS of each kv process (`/usr/bin/time -v`, "Maximum resident set size").
# Needs python3 and GNU time (Debian: apt-get install -y time).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
keys=${1:-1000000}

command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
echo "building (release)..." >&2
cargo build --release --quiet -p kv --bin kv
kv="$CARGO_TARGET_DIR/release/kv"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'application "bench" {\n  kv_store "bench" {}\n}\n' >raindrop.manifest
printf 'data_dir = "data"\n' >kv.toml

python3 - "$keys" >dump.jsonl <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
out.write('{"format":"kv-export","version":1}\n')
value = "v" * 90
for i in range(n):
    out.write('{"store":"bench","key":"key:%08d","value":"%s%010d"}\n' % (i, value, i))
out.write('{"end":true,"keys":%d}\n' % n)
PY
echo "export file: $(du -h dump.jsonl | cut -f1), $keys records of 100-byte values" >&2

# Runs kv under GNU time; prints "<wall seconds> <cpu seconds> <peak RSS KiB>".
measure() {
  /usr/bin/time -v -o time.txt "$kv" "$@" >/dev/null
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; wall = s }
    /User time/ { cpu += $2 } /System time/ { cpu += $2 }
    /Maximum resident set size/ { rss = $2 }
    END { print wall, cpu, rss }' time.txt
}

# The machine is shared: each phase runs $runs times; the best wall time and the
# largest peak RSS are reported.
runs=${RUNS:-3}
report() { # name
  awk -v name="$1" -v n="$keys" '
    { if (best == "" || $1 < best) { best = $1; cpu = $2 } if ($3 > rss) rss = $3 }
    END { printf "%-7s %8d keys  best %5.2f s  %8.0f keys/s  (cpu %5.2f s)  peak RSS %6.1f MiB\n", name, n, best, n / best, cpu, rss / 1024 }'
}

for _ in $(seq "$runs"); do
  rm -rf data
  measure import dump.jsonl --quiet
done | report import
for _ in $(seq "$runs"); do
  measure export --out again.jsonl --quiet
done | report export
if cmp -s dump.jsonl again.jsonl; then
  echo "round trip: the export is byte-identical to the imported file"
else
  echo "round trip: the files differ" >&2
  exit 1
fi
