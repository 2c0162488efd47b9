#!/usr/bin/env bash
# Measures the exporters on a large recording: records the spawner fixture (N goroutines, each
# created, run and exited: ~5 events each at --level full, with its threads' context switches)
# into target/bench-export/large.rec, then times `report --json` (the analysis alone, for
# reference), the HTML report and every export, with peak RSS from /usr/bin/time. Root (it records).
#
#   bench/export_large.sh [N]      N goroutines (default 1200000: over 5 million events)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1200000}
bin="$root/target/release/goroscope"
out="$root/target/bench-export"
fixtures=${GOROSCOPE_FIXTURES:-$root/target/fixtures}
spawner=$(ls -d "$fixtures"/go1.27.*/spawner/normal | head -1)
mkdir -p "$out"
(cd "$root" && cargo build --release --quiet --bin goroscope)
rm -f "$out/large.rec"
"$bin" record --level full -o "$out/large.rec" -- "$spawner" -n "$n" >/dev/null
events=$("$bin" report "$out/large.rec" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"]["total"])')
echo "recording: $events events, $(du -h "$out/large.rec" | cut -f1) ($out/large.rec)"
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || {
    cat "$out/stderr.txt" >&2; exit 1; }
  read -r secs kb <"$out/time.txt"
  printf '%-28s %7.1f s  peak RSS %6d MiB\n' "$label" "$secs" $((kb / 1024))
}
measure "report --json" "$bin" report "$out/large.rec" --json
measure "report --html" "$bin" report "$out/large.rec" --html -o "$out/large.html"
echo "  page: $(du -h "$out/large.html" | cut -f1)"
measure "export perfetto" "$bin" export perfetto "$out/large.rec" -o "$out/large.pftrace"
echo "  trace: $(du -h "$out/large.pftrace" | cut -f1)"
for kind in sched-latency off-cpu syscalls goroutines; do
  measure "export pprof --kind $kind" "$bin" export pprof "$out/large.rec" --kind "$kind" -o "$out/large.$kind.pb.gz"
done
