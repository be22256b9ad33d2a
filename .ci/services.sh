#!/usr/bin/env bash
# Install the services the `services` tests start on loopback: PostgreSQL, and Slurm with munge
# (slurm-wlm, munge) for the single-node cluster of tests/services.py::slurm_cluster, and
# Chromium, which the offline `dvc plots show` test opens headless.
# Nothing is started here: the tests run initdb/pg_ctl, munged, slurmctld and slurmd themselves,
# each in a temporary folder, and stop them by pid.
set -euo pipefail
have_postgres() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_slurm() { command -v sbatch >/dev/null 2>&1 && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/munged ]; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
packages=()
have_postgres || packages+=(postgresql)
have_slurm || packages+=(slurm-wlm munge)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
  # Debian's packages may start services of their own; the tests use none of them.
  for service in postgresql munge slurmctld slurmd; do
    $SUDO service "$service" stop >/dev/null 2>&1 || true
  done
fi
echo "postgresql binaries: $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | head -1)"
echo "slurm: $(/usr/sbin/slurmd -V 2>/dev/null || echo absent), munge: $(/usr/sbin/munged --version 2>&1 | head -1)"
