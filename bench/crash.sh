#!/usr/bin/env bash
# The crash harness's long run (kv-runtime/examples/crash, release build): TRIALS
# SIGKILLs per durability (sync, buffered), then, as root on a machine with loop
# devices, TRIALS simulated power losses per durability.
#
#   bench/crash.sh [TRIALS, default 1000] [--seed N]
#
# Prints one summary line per durability and kind of crash (trials, failures,
# operations checked, what was in flight, what a power loss took); exits 1 on any
# failure, printing the seed that replays it. About 25 minutes for the SIGKILL half
# and 40 for the power-loss half at 1,000 trials, on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-1000}
shift || true

cargo build --locked --release -q -p kv-runtime --features audit --example crash
# A copy: a rebuild during the run would otherwise pull the binary from under it.
work=$(mktemp -d "${TMPDIR:-/tmp}/kv-crash-bin.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp target/release/examples/crash "$work/crash"
crash=$work/crash
status=0
"$crash" --trials "$trials" "$@" || status=1
if [ "$(id -u)" = 0 ] && [ -e /dev/loop-control ] && command -v mkfs.ext4 >/dev/null; then
  "$crash" --trials "$trials" --power-loss "$@" || status=1
else
  echo "bench/crash.sh: no power-loss trials (they need root, loop devices and mkfs.ext4)" >&2
fi
exit "$status"
