#!/usr/bin/env bash
# Installs Debian's nats-server package if it is missing (as root). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ -x "$NATS_SERVER" ]; then
  echo "nats-server already installed: $("$NATS_SERVER" --version)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "nats-server is missing; installing it needs root (apt-get install nats-server)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends nats-server || { apt-get update -q && apt-get install -y -q --no-install-recommends nats-server; }
# the package's service is not what the tests use: they start their own servers
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nats-server >/dev/null 2>&1 || true; fi
NATS_SERVER="$(command -v nats-server || echo /usr/sbin/nats-server)"
echo "nats-server installed: $("$NATS_SERVER" --version)"
