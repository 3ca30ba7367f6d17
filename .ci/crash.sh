#!/usr/bin/env bash
# CI's run of the crash harness (kv-runtime/examples/crash; bench/crash.sh is the long
# run): SIGKILL trials per durability, then, on a machine that can mount loop devices
# (root, losetup, mkfs.ext4 — as CI's is), simulated power losses per durability.
# The debug build is the one `cargo test --workspace --all-features` already made, so
# this compiles nothing new. About 70 s on 2 cores. A failure prints the seed that
# replays it (`--seed N`).
#
#   bash .ci/crash.sh [SIGKILL_TRIALS, default 20] [POWER_LOSS_TRIALS, default 6]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
cuts=${2:-6}

# losetup and mkfs.ext4 come with Debian's base system; a slimmer image may lack them.
if [ "$(id -u)" = 0 ] && { ! command -v losetup >/dev/null || ! command -v mkfs.ext4 >/dev/null; }; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mount e2fsprogs
fi

crash() { cargo run --locked -q -p kv-runtime --all-features --example crash -- "$@"; }

crash --trials "$kills" --cycles 5
if [ "$(id -u)" = 0 ] && [ -e /dev/loop-control ] && command -v losetup >/dev/null &&
  command -v mkfs.ext4 >/dev/null; then
  crash --trials "$cuts" --cycles 3 --power-loss
else
  reason="power-loss trials need root, loop devices, losetup and mkfs.ext4"
  if [ -n "${CI:-}" ]; then
    echo ".ci/crash.sh: $reason; CI is set: they must run, not skip" >&2
    exit 1
  fi
  echo "SKIPPED — .ci/crash.sh: $reason" >&2
fi
