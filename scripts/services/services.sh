#!/usr/bin/env bash
# Start, check or stop every server the integration tests talk to, all on 127.0.0.1.
#   scripts/services/services.sh start|stop|status [kafka redis mongo]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-status}; shift || true
names=${*:-kafka redis mongo}
rc=0
for n in $names; do
  case "$cmd" in
    status) if bash "$here/$n.sh" status; then echo "$n: up"; else echo "$n: down"; rc=1; fi ;;
    *) bash "$here/$n.sh" "$cmd" || rc=1 ;;
  esac
done
exit $rc
