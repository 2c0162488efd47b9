#!/usr/bin/env bash
# The overhead benchmark in one command (root): builds goroscope and the runner (release), builds
# the Go workloads of bench/workloads with one Go toolchain, then runs bench/runner, which runs
# every workload untraced, under runtime/trace and under `goroscope record` at each level,
# interleaved, and prints a table per workload. See bench/README.md.
#
#   bench/run.sh [--go PATH] [RUNNER OPTIONS...]
#     --go PATH          Go toolchain (default: the newest, .tools/go/1.27.3/bin/go)
#     --rounds N         interleaved rounds (default 5)      --quick        1 round of 300 ms runs
#     --levels L,L       goroscope levels (default monitor,default,full)
#     --workloads W,W    subset of pingpong,http,cpugc,spawn,gobuild
#     --with-gobuild     add `go build -a std` (slow)      --json FILE    every figure as JSON
#     --duration D       measured time per run (default 2s)
#   GOROSCOPE_BIG_BINARY=PATH  large Go binary for the attach test (default: Debian's prometheus
#                              in target/big/, used when present; `none` skips the test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go="$root/.tools/go/1.27.3/bin/go"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --go) [ $# -ge 2 ] || { echo "run.sh: --go needs a path" >&2; exit 2; }; go=$2; shift 2 ;;
    --go=*) go=${1#--go=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -x "$go" ] || { echo "run.sh: no Go toolchain at $go (scripts/install-deps.sh installs them)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run.sh: goroscope record loads BPF programs: run as root" >&2; exit 1; }

target=${CARGO_TARGET_DIR:-$root/target}
echo "run.sh: building goroscope and the runner (release)" >&2
(cd "$root" && cargo build --release --quiet -p goroscope -p goroscope-bench)

version=$("$go" env GOVERSION)
workloads="$target/bench-workloads/$version"
mkdir -p "$workloads"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOWORK=off
export GOCACHE="${GOCACHE:-$root/target/go-cache}"
echo "run.sh: building the workloads with $version into $workloads" >&2
for w in pingpong http cpugc spawn; do
  (cd "$root/bench/workloads" && "$go" build -o "$workloads/$w" "./$w")
done
unset GOFLAGS

big=${GOROSCOPE_BIG_BINARY:-$root/target/big/x/usr/bin/prometheus}
big_args=()
if [ "$big" != none ] && [ -f "$big" ]; then big_args=(--big-binary "$big"); fi

exec "$target/release/goroscope-bench" --goroscope "$target/release/goroscope" \
  --workload-dir "$workloads" --go "$go" "${big_args[@]}" "${args[@]}"
