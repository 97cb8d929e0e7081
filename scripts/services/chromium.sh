#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser tests (driven by playwright-core, which ships no
# browser). `ensure` installs it when missing and prints its path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

find_chromium() {
  for b in "${CS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

case "${1:-ensure}" in
  ensure)
    if ! find_chromium >/dev/null; then
      log "chromium: installing from Debian"
      as_root apt-get update -qq >/dev/null 2>&1 || true
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || die "chromium: apt-get install chromium failed"
    fi
    find_chromium || die "chromium: not found after install (set CS_CHROMIUM to its path)"
    ;;
  status) find_chromium >/dev/null ;;
  *) echo "usage: $0 ensure|status" >&2; exit 2 ;;
esac
