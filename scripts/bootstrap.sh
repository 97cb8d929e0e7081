#!/bin/sh
# Makes a fresh clone runnable with only Node 20 + npm: `npm install` brings the project's
# packages and Node 24 itself from the npm registry (package `node` → node_modules/.bin/node),
# which every npm script then runs on, since npm puts node_modules/.bin first on PATH.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[bootstrap] npm install (packages + Node 24 from the npm registry)" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
major=$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 24 ] || { echo "[bootstrap] node_modules/.bin/node is v$major, expected 24+" >&2; exit 1; }
