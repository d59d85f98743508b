#!/bin/bash
# Install Debian's Slurm daemons, client and munge (about 10 s) when they are missing.
set -euo pipefail
if ! command -v slurmctld >/dev/null; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi
