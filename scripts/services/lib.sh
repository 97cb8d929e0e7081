# Shared helpers for the service scripts: one data dir per server under $CS_SERVICES_DIR,
# pid files so `stop` ends only what `start` began, and bounded readiness waits.
: "${CS_SERVICES_DIR:=${TMPDIR:-/tmp}/crypto-streams-services}"
mkdir -p "$CS_SERVICES_DIR"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# Use sudo only when not root (CI and these machines run as root).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds, fails with a clear message at the limit.
wait_for() {
  name=$1; limit=$2; shift 2
  i=0
  while [ "$i" -lt "$((limit * 4))" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25; i=$((i + 1))
  done
  return 1
}

# tcp_open PORT: is something listening on 127.0.0.1:PORT?
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pidfile() {
  name=$1; pidfile=$2
  if pid_alive "$pidfile"; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 80 ]; do sleep 0.25; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null || true
    log "$name stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}
