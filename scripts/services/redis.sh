#!/usr/bin/env bash
# Redis from Debian's package, on 127.0.0.1, no persistence.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${REDIS_PORT:=16379}"
dir="$CS_SERVICES_DIR/redis"
pidfile="$dir/redis.pid"

start() {
  if pid_alive "$pidfile"; then log "redis already running (pid $(cat "$pidfile"))"; return 0; fi
  if tcp_open "$REDIS_PORT"; then die "redis: port $REDIS_PORT is taken by another process; set REDIS_PORT"; fi
  if ! command -v redis-server >/dev/null; then
    log "redis: installing redis-server from Debian"
    as_root apt-get update -qq >/dev/null 2>&1 || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
      || die "redis: apt-get install redis-server failed"
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log" || die "redis-server failed to start"
  wait_for redis 20 redis-cli -p "$REDIS_PORT" ping || die "redis did not answer PING on 127.0.0.1:$REDIS_PORT within 20 s"
  log "redis ready on 127.0.0.1:$REDIS_PORT (pid $(cat "$pidfile"))"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile redis "$pidfile" ;;
  status) pid_alive "$pidfile" && redis-cli -p "$REDIS_PORT" ping >/dev/null ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
