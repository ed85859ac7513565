# Settings and helpers of the NATS scripts (sourced).
# NATS_SERVER: the nats-server binary (default: the one on PATH, else /usr/sbin/nats-server).
# NATS_PORT:   the client port on 127.0.0.1 (no default: the caller chooses it).
# NATS_DIR:    where the PID file and the log go (default /tmp/ari-nats-$NATS_PORT).
set -euo pipefail
NATS_SERVER="${NATS_SERVER:-$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)}"

need_port() {
  [[ "${NATS_PORT:-}" =~ ^[0-9]+$ ]] || { echo "NATS_PORT must be set to a port number" >&2; exit 2; }
  NATS_DIR="${NATS_DIR:-/tmp/ari-nats-$NATS_PORT}"
  PID_FILE="$NATS_DIR/nats-server.pid"
  LOG_FILE="$NATS_DIR/nats-server.log"
}

# The PID in the PID file, if that process is a nats-server.
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  local exe; exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [ "$(basename "${exe% (deleted)}")" = "nats-server" ] || return 1
  echo "$pid"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null
}
