#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (Debian packages, Go
# toolchains into .tools/, cargo-fuzz), builds the Go fixtures, runs every Rust test (BPF tests
# load real programs and need root), clippy and rustfmt checks, and a short fuzz run.
#
#   scripts/test.sh                      CI's Go subset (oldest, two middle, newest)
#   GOROSCOPE_GO_VERSIONS=all scripts/test.sh   the full matrix of 8 toolchains
#   GOROSCOPE_FUZZ_SECONDS=0 scripts/test.sh    skip the fuzz smoke run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s ==\n' "$*"; }

step "install dependencies"
scripts/install-deps.sh

step "build Go fixtures"
scripts/build-fixtures.sh inspectee
GOROSCOPE_FIXTURE_VARIANTS="normal stripped pie" scripts/build-fixtures.sh spawner leaker threads latency blocked
GOROSCOPE_FIXTURE_VARIANTS="normal stripped" scripts/build-fixtures.sh sched ctxsw stress rtmetrics syscount doctor
scripts/build-oracle.sh
# A large real-world stripped Go binary (Debian's prometheus, Go 1.19, cgo, ~48 MB) for
# tests/inspect_big.rs; unpacked into target/big/, not installed.
if [ ! -f target/big/x/usr/bin/prometheus ]; then
  mkdir -p target/big
  (cd target/big && apt-get download prometheus >/dev/null && dpkg-deb -x prometheus_*.deb x)
fi

step "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test"
# set -e would stop at a failing test run before the totals below: collect the status instead.
# Tests that need root (real BPF loads, cgroups) are #[ignore = "needs root: ..."]: as root they
# run with --include-ignored; otherwise the rest runs and the skipped ones are listed below.
ignored=()
[ "$(id -u)" -eq 0 ] && ignored=(-- --include-ignored)
set +e
cargo test --workspace --no-fail-fast "${ignored[@]}" 2>&1 | tee target/cargo-test.log
status=${PIPESTATUS[0]}
set -e
if [ "$(id -u)" -ne 0 ]; then
  skipped=$(grep -c 'ignored, needs root' target/cargo-test.log || true)
  echo "not root: skipped $skipped tests that need root (listed above as 'ignored, needs root'); run scripts/test.sh as root for them"
fi
# One closing line with the totals of every test binary, for readers of CI logs.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "cargo test total: %d passed, %d failed, %d ignored\n", p, f, i }' target/cargo-test.log
[ "$status" -eq 0 ] || exit "$status"

if [ "${GOROSCOPE_FUZZ_SECONDS:-30}" != 0 ]; then
  step "fuzz smoke run"
  scripts/fuzz-smoke.sh "${GOROSCOPE_FUZZ_SECONDS:-30}"
fi
