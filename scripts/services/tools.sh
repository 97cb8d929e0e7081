#!/usr/bin/env bash
# The operations tools the chart, compose and Prometheus tests run, installed when missing and
# then printed as a path:  scripts/services/tools.sh helm|promtool|prometheus|docker-compose
#   helm            v3.22.0 built with `go install` from the Go module proxy, cached in $CS_TOOLS_DIR
#   prometheus      Debian's `prometheus` package (gives prometheus and promtool)
#   docker-compose  Debian's `docker-compose` (only `config` is used: no Docker engine needed)
#   yaml2json       YAML documents on stdin → one JSON array on stdout (Debian's python3-yaml,
#                   which docker-compose depends on), for tests that read rendered manifests
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${HELM_VERSION:=v3.22.0}"
: "${CS_TOOLS_DIR:=$HOME/.cache/crypto-streams}"
mkdir -p "$CS_TOOLS_DIR"
# One install at a time: test files run in parallel, and two apt-get (or go install) at once fail.
exec 9>"$CS_TOOLS_DIR/.tools.lock"
flock 9

apt_install() {
  log "installing Debian package $1 (apt-get)"
  as_root apt-get update -qq >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null \
    || die "apt-get install $1 failed"
}

helm_path() {
  bin="$CS_TOOLS_DIR/helm-$HELM_VERSION"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "helm is built with Go; install Go 1.24+"
    mkdir -p "$CS_TOOLS_DIR"
    # an earlier `go install` of the same version (GOPATH/bin) is reused as is
    prior="$(go env GOPATH 2>/dev/null)/bin/helm"
    # (a plain `go install` build reports v3.22 for v3.22.0: no release ldflags)
    have=$([ -x "$prior" ] && "$prior" version --short 2>/dev/null | cut -d+ -f1 || true)
    if [ -n "$have" ] && { [ "$have" = "$HELM_VERSION" ] || [ "$have" = "${HELM_VERSION%.0}" ]; }; then
      cp "$prior" "$bin.tmp" && mv "$bin.tmp" "$bin" && echo "$bin" && return 0
    fi
    gobin=$(mktemp -d)
    log "helm: building $HELM_VERSION from the Go module proxy (once; cached in $bin)"
    GOBIN="$gobin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || die "helm: go install failed"
    mv "$gobin/helm" "$bin"
    rm -rf "$gobin"
  fi
  echo "$bin"
}

debian_path() {
  tool=$1; pkg=$2
  command -v "$tool" >/dev/null || apt_install "$pkg"
  command -v "$tool" || die "$tool not found after installing $pkg"
}

yaml2json() {
  /usr/bin/python3 -c 'import yaml' 2>/dev/null || apt_install python3-yaml
  /usr/bin/python3 -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)'
}

case "${1:-}" in
  helm) helm_path ;;
  prometheus | promtool) debian_path "$1" prometheus ;;
  docker-compose) debian_path docker-compose docker-compose ;;
  yaml2json) yaml2json ;;
  *) echo "usage: $0 helm|prometheus|promtool|docker-compose|yaml2json" >&2; exit 2 ;;
esac
