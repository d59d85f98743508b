#!/bin/bash
# Start a throw-away single-node Slurm 22.05 cluster on loopback (Debian bookworm, run as root), for the
# tests of the SLURM executor. Recipe and pitfalls: .ci/slurm/README.md (measured on this machine kind).
# Everything lives under $SLURM_DIR; clients need: export SLURM_CONF=$SLURM_DIR/slurm.conf
# SLURM_AUTH=munge (default) or none (auth/none + cred/none, no munged at all).
set -euo pipefail
SLURM_DIR=${SLURM_DIR:-/tmp/slurm}
SLURM_AUTH=${SLURM_AUTH:-munge}
NODE=$(hostname -s)
NCPU=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 85 / 100 ))   # ~85% of RAM
export SLURM_CONF=$SLURM_DIR/slurm.conf

# stop a cluster left over from an earlier run (by PID), then start from a clean state
if [ -x "$(dirname "$0")/teardown.sh" ]; then SLURM_DIR=$SLURM_DIR bash "$(dirname "$0")/teardown.sh" >/dev/null 2>&1 || true; fi
rm -rf $SLURM_DIR/spool $SLURM_DIR/log
mkdir -p $SLURM_DIR/{log,spool/ctld,spool/slurmd}

if [ "$SLURM_AUTH" = munge ]; then
  # munged wants: socket dir executable by all (0711), key owned by munge and 0400/0600
  mkdir -p $SLURM_DIR/munge
  chown munge:munge $SLURM_DIR/munge; chmod 0711 $SLURM_DIR/munge
  if [ ! -f $SLURM_DIR/munge/munge.key ]; then
    dd if=/dev/urandom of=$SLURM_DIR/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge $SLURM_DIR/munge/munge.key; chmod 0400 $SLURM_DIR/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged \
    --socket=$SLURM_DIR/munge/munge.socket.2 --key-file=$SLURM_DIR/munge/munge.key \
    --log-file=$SLURM_DIR/munge/munged.log --pid-file=$SLURM_DIR/munge/munged.pid \
    --seed-file=$SLURM_DIR/munge/munged.seed
  AUTH_LINES="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.socket.2"
else
  AUTH_LINES="AuthType=auth/none
CredType=cred/none"
fi

cat > $SLURM_CONF <<CONF
ClusterName=ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
$AUTH_LINES
StateSaveLocation=$SLURM_DIR/spool/ctld
SlurmdSpoolDir=$SLURM_DIR/spool/slurmd
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
DependencyParameters=kill_invalid_depend
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NCPU Sockets=1 CoresPerSocket=$NCPU ThreadsPerCore=1 RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

/usr/sbin/slurmctld -f $SLURM_CONF     # daemonizes; pid in $SLURM_DIR/slurmctld.pid
/usr/sbin/slurmd -f $SLURM_CONF        # daemonizes; pid in $SLURM_DIR/slurmd.pid
for i in $(seq 1 120); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
  if [ "$state" = "idle" ]; then echo "slurm up (auth=$SLURM_AUTH): node $NODE idle after ${i} polls"; exit 0; fi
  sleep 0.5
done
echo "slurm did not come up"; sinfo -N -l || true; tail -30 $SLURM_DIR/log/*.log; exit 1
