#!/usr/bin/env bash
# Wall time of `goroscope inspect` (release build) on a large stripped Go binary (~50 MB):
# prints every run and the median. The default input is Debian's prometheus (Go, stripped,
# cgo, ~48 MB), fetched with `apt-get download` and unpacked into target/big/ (not installed).
#
#   bench/inspect_timing.sh [BINARY] [RUNS]      RUNS defaults to 7
#   GOROSCOPE_BIG_BINARY=/path/to/bin bench/inspect_timing.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${GOROSCOPE_BIG_BINARY:-$root/target/big/x/usr/bin/prometheus}}
runs=${2:-7}

if [ ! -f "$bin" ]; then
  [ "$bin" = "$root/target/big/x/usr/bin/prometheus" ] || { echo "inspect_timing: $bin not found" >&2; exit 1; }
  echo "inspect_timing: fetching prometheus (Debian package) into target/big/" >&2
  mkdir -p "$root/target/big"
  (cd "$root/target/big" && apt-get download prometheus >/dev/null && dpkg-deb -x prometheus_*.deb x)
fi

cargo build --release --quiet --bin goroscope --manifest-path "$root/Cargo.toml"
goroscope=${CARGO_TARGET_DIR:-$root/target}/release/goroscope

# One untimed run: checks that it works and warms the page cache (we time parsing, not disk).
"$goroscope" inspect --json "$bin" > /dev/null

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$goroscope" inspect --json "$bin" > /dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
size=$(stat -c %s "$bin")
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "inspect_timing: $bin ($((size / 1048576)) MiB), $runs runs: ${times[*]} ms"
echo "inspect_timing: median ${median} ms"
