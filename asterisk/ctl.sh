#!/usr/bin/env bash
# One entry point for tests that need to control the sandbox Asterisk (`cargo xtask test`
# exports ARI_ASTERISK_CTL=<this file>, plus ASTERISK_ROOT/ARI_PORT/ARI_USER/ARI_PASS).
#
#   ctl.sh start | stop | kill | restart | status | outbound-apps APPS
#
# restart = stop.sh then start.sh (a new PID; the old websockets get EOF). kill = kill.sh:
# SIGKILL to the PID in the PID file (checked like stop.sh checks it), a crash. status prints
# "running PID N" (exit 0) or "not running" (exit 3). outbound-apps sets the applications of the
# persistent outbound websocket ([outbound-persistent] in the running copy of ari.conf) and
# reloads res_ari (Asterisk sends ApplicationRegistered / ApplicationUnregistered for the
# difference); the next start restores conf/ari.conf. Must run as root, like the scripts it calls.
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
  outbound-apps)
    . "$HERE/common.sh"
    apps="${2:?usage: $0 outbound-apps APP[,APP...]}"
    case "$apps" in *[!A-Za-z0-9,_.-]*) echo "application names: letters, digits, , _ . - only" >&2; exit 2 ;; esac
    running_pid >/dev/null || { echo "not running" >&2; exit 3; }
    sed -i -E "/^\[outbound-persistent\]/,/^\[/ s/^apps[[:space:]]*=.*/apps = $apps/" "$ARI_STATE/etc/ari.conf"
    ast_cli "module reload res_ari.so" >/dev/null
    ;;
  *) echo "usage: $0 start|stop|kill|restart|status|outbound-apps APPS" >&2; exit 2 ;;
esac
