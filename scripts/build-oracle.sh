#!/usr/bin/env bash
# Builds the test oracles and inputs that the inspector tests need besides the fixtures:
#   <fixtures>/oracle          testdata/go/oracle, built by the newest toolchain: reads a Go binary
#                              with debug/elf, debug/gosym, debug/buildinfo, debug/dwarf (JSON out)
#   <fixtures>/cross/386       testdata/go/inspectee for GOARCH=386  (a 32-bit ELF goroscope refuses)
#   <fixtures>/cross/arm64     testdata/go/inspectee for GOARCH=arm64 (a foreign-arch ELF)
# <fixtures> is $GOROSCOPE_FIXTURES or target/fixtures. Rebuilds only what is older than its sources.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/go-versions.sh"
out_root=${GOROSCOPE_FIXTURES:-$root/target/fixtures}
newest=${GOROSCOPE_ALL_GO_VERSIONS##* }
go="$(goroscope_goroot "$newest")/bin/go"
[ -x "$go" ] || { echo "build-oracle: Go $newest is not installed; run scripts/install-deps.sh" >&2; exit 1; }

export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOWORK=off
export GOPATH="$root/target/go-path" GOCACHE="$root/target/go-cache" GOENV=off

# build SRC_DIR OUT [env...]: go build unless OUT is newer than every file of SRC_DIR.
build() {
  local src=$1 out=$2; shift 2
  local newest_src
  newest_src=$(find "$src" -type f -printf '%T@\n' | sort -n | tail -1)
  if [ -x "$out" ] && [ "$(stat -c %Y "$out")" -ge "${newest_src%.*}" ]; then return; fi
  mkdir -p "$(dirname "$out")"
  (cd "$src" && env "$@" "$go" build -o "$out.tmp" .) && mv "$out.tmp" "$out"
}

build "$root/testdata/go/oracle" "$out_root/oracle" CGO_ENABLED=0
build "$root/testdata/go/inspectee" "$out_root/cross/386" CGO_ENABLED=0 GOARCH=386
build "$root/testdata/go/inspectee" "$out_root/cross/arm64" CGO_ENABLED=0 GOARCH=arm64
echo "build-oracle: oracle (go$newest) and cross/{386,arm64} in $out_root"
