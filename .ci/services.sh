#!/usr/bin/env bash
# Install the services the `services` tests start on loopback: PostgreSQL from Debian; and
# Chromium, which the offline `dvc plots show` test opens headless.
# (The tests run initdb/pg_ctl themselves as the `postgres` user; nothing is started here.)
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "postgresql binaries present: $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | head -1)"
  exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
# Debian's package starts a cluster of its own; the tests do not use it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
ls -d /usr/lib/postgresql/*/bin
