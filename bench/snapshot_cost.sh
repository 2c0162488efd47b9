#!/usr/bin/env bash
# What a goroutine snapshot costs goroscope with N parked goroutines (default 100,000): builds
# bench/snapshots (N goroutines blocked on a channel) with the newest toolchain and, as root:
#  1. procstat's `snapshot_cost` example reads every goroutine ROUNDS times (10): wall and CPU
#     time per snapshot, peak RSS of a process doing only that, the snapshot's JSON size;
#  2. `goroscope record -p PID --level monitor -d 5s` (a snapshot at the start, every second and
#     at the end, each written to the recording) under /usr/bin/time: goroscope's CPU time,
#     peak RSS and the recording's size.
# Usage: bench/snapshot_cost.sh [N] [ROUNDS]. Prints both results; bench/README.md has a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
rounds=${2:-10}
go=${GO:-$root/.tools/go/1.27.3/bin/go}
out=$root/target/bench-snapshots
mkdir -p "$out"
[ "$(id -u)" = 0 ] || { echo "snapshot_cost.sh: run as root (reads another process's memory, attaches BPF)" >&2; exit 1; }

(cd "$root/bench/snapshots" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off \
  "$go" build -o "$out/parked" .)
(cd "$root" && cargo build --release -q -p goroscope && cargo build --release -q -p procstat --example snapshot_cost)

fifo=$out/stdin
rm -f "$fifo"; mkfifo "$fifo"
"$out/parked" -n "$n" < "$fifo" > "$out/parked.out" &
target=$!
exec 7> "$fifo"
trap 'echo >&7 || true; exec 7>&-; wait $target 2>/dev/null || true; rm -f "$fifo"' EXIT
for _ in $(seq 300); do grep -q READY "$out/parked.out" && break; sleep 0.1; done
grep -q READY "$out/parked.out" || { echo "snapshot_cost.sh: the target never got ready" >&2; exit 1; }

echo "== $n parked goroutines ($("$go" version | cut -d' ' -f3))"
echo "-- reader alone, $rounds snapshots:"
"$root/target/release/examples/snapshot_cost" "$target" "$rounds"
echo "-- goroscope record --level monitor -d 5s (snapshots at the start, every 1 s, at the end):"
/usr/bin/time -f "goroscope: wall %e s, user %U s, system %S s, peak RSS %M KB" \
  "$root/target/release/goroscope" record -p "$target" --level monitor -d 5s \
  -o "$out/parked.rec" 2>&1 | grep -E "^goroscope: (wall|recorded)"
echo "recording: $(stat -c %s "$out/parked.rec") bytes"
"$root/target/release/goroscope" report "$out/parked.rec" | grep -E "Goroutine snapshots|live at end" | head -3
