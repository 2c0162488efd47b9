#!/usr/bin/env bash
# The demo: installs what is missing, builds goroscope and the bundled demo Go program
# (testdata/go/demo: a worker pool with a goroutine leak), then records it with goroscope from
# its first instruction and prints the report. Needs root (or CAP_BPF + CAP_PERFMON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GOROSCOPE_SKIP_FUZZ_INSTALL=1 GOROSCOPE_GO_VERSIONS=1.27 scripts/install-deps.sh
GOROSCOPE_GO_VERSIONS=1.27 scripts/build-fixtures.sh demo >/dev/null
cargo build --release --quiet
demo=target/fixtures/go1.27.3/demo/stripped
rec=target/demo.rec
echo "\$ goroscope record -o $rec -- $demo"
target/release/goroscope record -o "$rec" -- "$demo"
echo
echo "\$ goroscope report $rec"
exec target/release/goroscope report "$rec"
