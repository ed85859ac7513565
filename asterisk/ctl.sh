#!/usr/bin/env bash
# One entry point for tests that need to control the sandbox Asterisk (`cargo xtask test`
# exports ARI_ASTERISK_CTL=<this file>, plus ASTERISK_ROOT/ARI_PORT/ARI_USER/ARI_PASS).
#
#   ctl.sh start | stop | kill | restart | status
#
# restart = stop.sh then start.sh (a new PID; the old websockets get EOF). kill = kill.sh:
# SIGKILL to the PID in the PID file (checked like stop.sh checks it), a crash. status prints
# "running PID N" (exit 0) or "not running" (exit 3). Must run as root, like the scripts it calls.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
  start) exec bash "$HERE/start.sh" ;;
  stop) exec bash "$HERE/stop.sh" ;;
  kill) exec bash "$HERE/kill.sh" ;;
  restart) bash "$HERE/stop.sh" && exec bash "$HERE/start.sh" ;;
  status)
    . "$HERE/common.sh"
    if pid="$(running_pid)"; then echo "running PID $pid, ARI $ARI_URL"; else echo "not running"; exit 3; fi
    ;;
  *) echo "usage: $0 start|stop|kill|restart|status" >&2; exit 2 ;;
esac
