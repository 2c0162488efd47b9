#!/usr/bin/env bash
# Short fuzz run of every goinspect fuzz target (fuzz/): fails on any crash (a panic in
# goinspect is a bug). Crashing inputs are copied to fuzz/regressions/<target>-<hash>, and every
# file already there is replayed first, so a fixed bug stays fixed.
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]     default 60
#   GOROSCOPE_FUZZ_SANITIZER=address scripts/fuzz-smoke.sh   default none (goinspect is safe
#                                                  Rust: panics, not memory errors, are the bugs)
#
# cargo-fuzz needs nightly features; on the stable toolchain RUSTC_BOOTSTRAP=1 unlocks them.
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and the fixtures (scripts/build-fixtures.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
sanitizer=${GOROSCOPE_FUZZ_SANITIZER:-none}
fixtures=${GOROSCOPE_FIXTURES:-$root/target/fixtures}
export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$root/target}/fuzz
targets=(inspect_bytes inspect_patched_go)

command -v cargo-fuzz >/dev/null || { echo "fuzz-smoke: cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }
base=$(ls -d "$fixtures"/go*/inspectee/stripped 2>/dev/null | sort -V | tail -1)
[ -n "$base" ] || { echo "fuzz-smoke: no fixtures in $fixtures: run scripts/build-fixtures.sh" >&2; exit 1; }
export GOINSPECT_FUZZ_BASE=$base

cd "$root/fuzz"
# --debug-assertions: overflow checks on, so arithmetic overflow on hostile input is found too.
fuzz() { cargo fuzz "$1" --sanitizer "$sanitizer" --debug-assertions --target-dir "$target_dir" "${@:2}"; }
fuzz build

# Seeds: the real binary, its pclntab alone, its first 4 KiB (ELF + program headers).
seed=corpus/inspect_bytes
mkdir -p "$seed" corpus/inspect_patched_go
cp "$base" "$seed/stripped-go"
objcopy -O binary --only-section=.gopclntab "$base" "$seed/gopclntab"
head -c 4096 "$base" > "$seed/head-4k"
printf '\x03\x00\x00\x00\x00\x04\xff\xff\xff\xff' > corpus/inspect_patched_go/pclntab-magic

bin=$target_dir/x86_64-unknown-linux-gnu/release
status=0
for t in "${targets[@]}"; do
  for r in regressions/"$t"-*; do
    [ -e "$r" ] || continue
    if ! "$bin/$t" -runs=1 "$r" >/dev/null 2>&1; then
      echo "fuzz-smoke: $t still crashes on $r" >&2
      status=1
    fi
  done
done

for t in "${targets[@]}"; do
  echo "fuzz-smoke: $t for ${seconds}s"
  rm -rf "artifacts/$t"
  if ! fuzz run "$t" -- -max_total_time="$seconds" -max_len=4194304 -timeout=20 \
        -rss_limit_mb=4096 -print_final_stats=1 2> "$target_dir/$t.log"; then
    tail -40 "$target_dir/$t.log" >&2
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$target_dir/$t.log" || true
  for a in artifacts/"$t"/crash-* artifacts/"$t"/oom-* artifacts/"$t"/timeout-*; do
    [ -e "$a" ] || continue
    cp "$a" "regressions/$t-$(basename "$a")"
    echo "fuzz-smoke: $t: crash saved as fuzz/regressions/$t-$(basename "$a")" >&2
    status=1
  done
done
exit $status
