#!/bin/sh
# Builds the dashboard bundle (dashboard/dist/dashboard/browser, served by the gateway at /) when
# it is missing or older than any of its sources; otherwise does nothing, so `npm start` stays
# fast. The dashboard is its own npm project: its packages are installed here on first use.
# DASHBOARD_BUILD=never skips it (e.g. a container that ships a prebuilt bundle).
set -e
cd "$(dirname "$0")/../dashboard"
[ "${DASHBOARD_BUILD:-auto}" = never ] && exit 0
# Angular's CLI needs Node >= 22.12: use the project's Node 24 when run outside npm scripts
[ -x ../node_modules/.bin/node ] && PATH="$(cd ../node_modules/.bin && pwd):$PATH" && export PATH
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[dashboard] npm install (Angular, ECharts, socket.io-client)" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
out=dist/dashboard/browser/index.html
if [ "${DASHBOARD_BUILD:-auto}" != always ] && [ -f "$out" ] &&
  [ -z "$(find src angular.json tsconfig.json package-lock.json -newer "$out" -print -quit)" ]; then
  exit 0
fi
echo "[dashboard] building the bundle" >&2
npx ng build --configuration production >&2
