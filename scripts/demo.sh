#!/usr/bin/env bash
# The demo: installs what is missing, builds goroscope and the bundled demo Go program, then runs
# goroscope on it. (For now `inspect`: the probe plan goroscope computes for the demo binary,
# stripped, so everything comes from .gopclntab, .go.buildinfo and the layout tables.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GOROSCOPE_SKIP_FUZZ_INSTALL=1 GOROSCOPE_GO_VERSIONS=1.27 scripts/install-deps.sh
GOROSCOPE_GO_VERSIONS=1.27 scripts/build-fixtures.sh inspectee >/dev/null
cargo build --release --quiet
demo="target/fixtures/go1.27.3/inspectee/stripped"
echo "\$ goroscope inspect $demo"
exec target/release/goroscope inspect "$demo"
