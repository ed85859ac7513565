#!/usr/bin/env bash
# Starts a nats-server on 127.0.0.1:$NATS_PORT (loopback only, no JetStream), in the
# background, and prints its PID (last line) once the port accepts connections.
#   NATS_PORT=14222 bash nats/start.sh
# Idempotent: a server already running from this PID file is reused.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_port
[ -x "$NATS_SERVER" ] || { echo "nats-server not found ($NATS_SERVER): run nats/install.sh (apt-get install nats-server)" >&2; exit 3; }
mkdir -p "$NATS_DIR"
if pid="$(running_pid)"; then
  echo "nats-server already running on 127.0.0.1:$NATS_PORT"
  echo "$pid"
  exit 0
fi
if port_open; then
  echo "127.0.0.1:$NATS_PORT is taken by another process" >&2
  exit 1
fi
# -a: listen on loopback only; no monitoring port, no cluster port
setsid "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -l "$LOG_FILE" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" > "$PID_FILE"
for _ in $(seq 1 100); do
  if port_open; then
    echo "nats-server on 127.0.0.1:$NATS_PORT (log $LOG_FILE)"
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "nats-server exited at start; its log:" >&2
    tail -20 "$LOG_FILE" >&2 || true
    rm -f "$PID_FILE"
    exit 1
  fi
  sleep 0.05
done
echo "nats-server did not open 127.0.0.1:$NATS_PORT within 5 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
