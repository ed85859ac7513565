#!/usr/bin/env bash
# Kills the Asterisk started by start.sh with SIGKILL, using only its PID file
# ($ASTERISK_ROOT/srv/ari/asterisk.pid) after checking that /proc/PID/exe is this chroot's
# asterisk (as stop.sh does). No shutdown: the kernel closes its sockets, clients see the
# connection drop. For crash tests (`cargo xtask soak`); use stop.sh otherwise.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if [ ! -f "$ARI_PIDFILE" ]; then
  echo "not running (no PID file $ARI_PIDFILE)"
  exit 0
fi
if ! pid="$(running_pid)"; then
  echo "stale PID file $ARI_PIDFILE ($(cat "$ARI_PIDFILE" 2>/dev/null)): no such Asterisk process; removing it"
  rm -f "$ARI_PIDFILE"
  exit 0
fi
t0=$(now)
kill -KILL "$pid"
deadline=$(( $(date +%s) + 5 ))
while pid_alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.02; done
pid_alive "$pid" && { echo "PID $pid did not die" >&2; exit 1; }
rm -f "$ARI_PIDFILE"
# the listening socket goes with the last thread; give it a moment so start.sh can follow at once
for _ in $(seq 30); do port_in_use || break; sleep 0.1; done
echo "killed Asterisk PID $pid ($(elapsed "$t0") s)"
