#!/bin/sh
# The test command (README): lint + types, then every test against real servers on 127.0.0.1,
# which this script starts and afterwards stops (only those it started). Run it through `npm test`,
# which puts Node 24 from node_modules/.bin on PATH.
set -eu
cd "$(dirname "$0")/.."
export CS_SERVICES_DIR="${CS_SERVICES_DIR:-${TMPDIR:-/tmp}/crypto-streams-services}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-19092}}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-16379}}"
export MONGO_URL="${MONGO_URL:-mongodb://127.0.0.1:${MONGO_PORT:-27027}/crypto}"
echo "[test] node $(node --version)"
echo "[test] lint + typecheck"
npx biome check . >/dev/null 2>&1 || { npx biome check . 2>&1 | tail -40; exit 1; }
npx tsc --noEmit

started=""
cleanup() { [ -z "$started" ] || sh scripts/services/services.sh stop $started; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for s in kafka redis mongo; do
  if ! bash "scripts/services/$s.sh" status >/dev/null 2>&1; then
    bash "scripts/services/$s.sh" start
    started="$started $s"
  fi
done
npx vitest run "$@"
