#!/bin/sh
# The test command (README): lint + types, then every test against real servers on 127.0.0.1,
# which this script starts and stops. Run through `npm test` (Node 24 on PATH).
set -eu
cd "$(dirname "$0")/.."
export CS_SERVICES_DIR="${CS_SERVICES_DIR:-${TMPDIR:-/tmp}/crypto-streams-services}"
echo "[test] node $(node --version)"
echo "[test] lint + typecheck"
npx biome check . >/dev/null || { npx biome check . 2>&1 | tail -40; exit 1; }
npx tsc --noEmit

started=""
cleanup() { [ -n "$started" ] && sh scripts/services/services.sh stop || true; }
trap cleanup EXIT INT TERM
sh scripts/services/services.sh start
started=1
npx vitest run "$@"
