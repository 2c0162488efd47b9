#!/usr/bin/env bash
# Peak memory of `goroscope record` (release build) on a busy program: records the spawn storm
# workload (bench/workloads/spawn: goroutines created, run and exited as fast as the runtime
# can, the highest event rate of the bench workloads) at --level full for SECONDS, then prints
# goroscope's peak RSS (VmHWM, from /usr/bin/time) and what it recorded. Needs root (BPF).
#
#   bench/recorder_memory.sh [SECONDS] [RUNS]      SECONDS defaults to 10, RUNS to 3
#   GOROSCOPE=/path/to/goroscope bench/recorder_memory.sh   (another build, e.g. to compare)
#
# The RSS includes the tracer's 8 MiB ring buffer twice: the kernel maps its data pages twice
# (so a record that wraps around reads as one piece), and both mappings count.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
runs=${2:-3}
go=${GO:-$root/.tools/go/1.27.3/bin/go}
out=${CARGO_TARGET_DIR:-$root/target}
work="$out/recorder-memory"
mkdir -p "$work"

if [ -z "${GOROSCOPE:-}" ]; then
  cargo build --release --quiet --bin goroscope --manifest-path "$root/Cargo.toml"
fi
goroscope=${GOROSCOPE:-$out/release/goroscope}
(cd "$root/bench/workloads" && GOFLAGS=-mod=mod "$go" build -o "$work/spawn" ./spawn)

for run in $(seq "$runs"); do
  # The workload runs longer than the recording; goroscope stops at -d and the workload is
  # then stopped by its own -d.
  /usr/bin/time -f '%M' -o "$work/maxrss" \
    "$goroscope" record --level full -d "${seconds}s" -o "$work/spawn.rec" --force \
    -- "$work/spawn" -d "$((seconds + 2))s" > /dev/null 2> "$work/record.stderr"
  rss_kib=$(tail -1 "$work/maxrss")
  summary=$(grep -m1 'recorded' "$work/record.stderr" | sed 's/^goroscope: //')
  echo "recorder_memory: run $run: peak RSS $((rss_kib / 1024)) MiB; $summary"
  # The workload outlives the recording by two seconds: wait for it before the next run.
  sleep 3
done
