#!/bin/bash
# Stop the daemons started by setup.sh, by PID (from their pid files). Never by name.
SLURM_DIR=${SLURM_DIR:-/tmp/slurm}
export SLURM_CONF=$SLURM_DIR/slurm.conf
ctld_pid=$(cat $SLURM_DIR/slurmctld.pid 2>/dev/null || true)
if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
  timeout 10 scancel --user=root 2>/dev/null || true   # leftover jobs (only if slurmctld is alive)
fi
for pf in $SLURM_DIR/slurmd.pid $SLURM_DIR/slurmctld.pid $SLURM_DIR/munge/munged.pid; do
  [ -f "$pf" ] || continue
  pid=$(cat "$pf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { echo "force-killing $pid"; kill -KILL "$pid"; }
    echo "stopped $(basename $pf .pid) (pid $pid)"
  fi
  rm -f "$pf"
done
