#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the targets in fuzz/: each runs
# for a short fixed time from the committed corpus and dictionary; any crash fails
# the step. New inputs go to a scratch folder, never into fuzz/corpus.
#
# Usage: bash .ci/fuzz.sh [SECONDS_PER_TARGET [PROFILE]]   (defaults: 20, dev)
#
# CI's short runs build the dev profile (about 1.5 minutes cold on 2 cores, about a
# quarter of release's speed); a long run should build release, 4 times as fast:
#   bash .ci/fuzz.sh 720 release
#
# KV_FUZZ_SEED (default 1) fixes libFuzzer's random seed, so that a CI run explores
# the same inputs every time and fails only on a defect the change brought in (or on
# one that seed reaches); a long run should take a fresh one, KV_FUZZ_SEED=0 (random).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
case "${2:-dev}" in
  dev) profile=(--dev) ;;
  release) profile=() ;;
  *) echo "fuzz: PROFILE is dev or release, not ${2}" >&2; exit 2 ;;
esac
version=0.13.2

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $version" ]; then
  cargo install --locked --quiet cargo-fuzz --version "$version"
fi

cd "$repo/fuzz"
# -s none: the targets are safe Rust (unsafe_code is forbidden), so AddressSanitizer
# adds nothing but build time; coverage instrumentation is what guides the fuzzer.
cargo fuzz build "${profile[@]}" -s none
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in manifest cursor kv_toml http; do
  mkdir -p "$scratch/$target" "artifacts/$target"
  dict=()
  [ -f "dict/$target.dict" ] && dict=("-dict=dict/$target.dict")
  echo "fuzz: $target for ${secs}s"
  cargo fuzz run "${profile[@]}" -s none "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$secs" -seed="${KV_FUZZ_SEED:-1}" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" "${dict[@]}" 2>"$scratch/$target.log" || {
    tail -n 60 "$scratch/$target.log"
    for crash in "artifacts/$target"/*; do
      [ -f "$crash" ] && echo "fuzz: $target: fuzz/$crash (base64): $(base64 -w0 "$crash")"
    done
    echo "fuzz: $target failed; reproduce with: cd fuzz && cargo fuzz run -s none $target <input>"
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^Done' "$scratch/$target.log" || true
done
