#!/usr/bin/env bash
# Builds the Go fixture programs under testdata/go/ with each selected toolchain, in each variant:
#   normal    default build (DWARF, symbols, non-PIE, internal linker, CGO off)
#   stripped  -ldflags='-s -w' (no DWARF, no .symtab)
#   pie       -buildmode=pie
#   cgo       CGO_ENABLED=1, external linker, calls into C
#   cgo-stripped-pie  the hardest case for an inspector: all three at once
# Output: target/fixtures/go<version>/<program>/<variant>. Rebuilds only what is missing or older
# than its sources. Versions: GOROSCOPE_GO_VERSIONS (see scripts/go-versions.sh); programs: args.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/go-versions.sh"
out_root=${GOROSCOPE_FIXTURES:-$root/target/fixtures}
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(inspectee)
# GOROSCOPE_FIXTURE_VARIANTS narrows the variants (the tracer tests need no cgo builds).
read -r -a variants <<< "${GOROSCOPE_FIXTURE_VARIANTS:-normal stripped pie cgo cgo-stripped-pie}"

export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOWORK=off
export GOPATH="$root/target/go-path" GOCACHE="$root/target/go-cache" GOENV=off

for v in $(goroscope_selected_go_versions); do
  go="$(goroscope_goroot "$v")/bin/go"
  [ -x "$go" ] || { echo "build-fixtures: Go $v is not installed; run scripts/install-deps.sh" >&2; exit 1; }
  for prog in "${programs[@]}"; do
    src="$root/testdata/go/$prog"
    dir="$out_root/go$v/$prog"
    mkdir -p "$dir"
    newest_src=$(find "$src" -type f -printf '%T@\n' | sort -n | tail -1)
    for variant in "${variants[@]}"; do
      bin="$dir/$variant"
      if [ -x "$bin" ] && [ "$(stat -c %Y "$bin")" -ge "${newest_src%.*}" ]; then continue; fi
      flags=() cgo=0
      case "$variant" in
        normal) ;;
        stripped) flags=(-ldflags=-s\ -w) ;;
        pie) flags=(-buildmode=pie) ;;
        cgo) cgo=1 ;;
        cgo-stripped-pie) cgo=1; flags=(-buildmode=pie -ldflags=-s\ -w) ;;
      esac
      if ! (cd "$src" && CGO_ENABLED=$cgo "$go" build -trimpath=false "${flags[@]}" -o "$bin.tmp" .); then
        echo "build-fixtures: go$v: building $prog ($variant) failed" >&2; exit 1
      fi
      mv "$bin.tmp" "$bin"
    done
  done
  echo "build-fixtures: go$v: ${programs[*]} (${variants[*]}) in $out_root/go$v"
done
