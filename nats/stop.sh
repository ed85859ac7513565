#!/usr/bin/env bash
# Stops the nats-server started by start.sh for $NATS_PORT: SIGTERM to the PID of its PID
# file (after checking /proc/PID/exe is a nats-server), SIGKILL after 5 s. Never looks
# processes up by name.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_port
pid="$(running_pid)" || { echo "no nats-server of ours on port $NATS_PORT"; rm -f "$PID_FILE"; exit 0; }
kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; echo "stopped nats-server $pid"; exit 0; }
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || true
rm -f "$PID_FILE"
echo "killed nats-server $pid"
