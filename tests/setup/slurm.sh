#!/usr/bin/env bash
# A one-node Slurm cluster for the Slurm backend tests (see README, "Running on a cluster"):
# Debian's slurm-wlm and munge, a minimal slurm.conf naming this machine as controller and only
# node (no accounting: mlproj must not depend on sacct), and the three daemons.
#
#   bash tests/setup/slurm.sh          # start (idempotent, quick when already up)
#   bash tests/setup/slurm.sh stop     # stop the daemons it started, by PID
#   bash tests/setup/slurm.sh status   # exit 0 when all three daemons are running
#
# Needs root (apt-get, /etc/slurm, daemons). Daemon PIDs and logs are under /run/mlproj-slurm.
set -euo pipefail

STATE=/run/mlproj-slurm
CONF=/etc/slurm/slurm.conf
say() { echo "slurm.sh: $*" >&2; }

stop() {
    for daemon in slurmd slurmctld munged; do
        if [ -f "$STATE/$daemon.pid" ]; then
            kill "$(cat "$STATE/$daemon.pid")" 2>/dev/null || true
            rm -f "$STATE/$daemon.pid"
        fi
    done
}

install_packages() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
}

write_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    mkdir -p /etc/slurm "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    chown slurm:slurm /var/spool/slurmctld /var/log/slurm
    local wanted
    wanted=$(cat <<EOF
# Written by mlproj's tests/setup/slurm.sh: one node, no accounting.
ClusterName=mlproj
SlurmctldHost=$host
SlurmUser=slurm
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
# Partition "high" preempts (cancels) jobs of "low" only: the preemption test uses them.
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MessageTimeout=10
KillWait=5
MinJobAge=300
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
# Jobs may oversubscribe the cores: tests submit several small jobs at once.
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8 PriorityTier=1 PreemptMode=OFF
PartitionName=short Nodes=$host MaxTime=00:10:00 State=UP OverSubscribe=FORCE:8 PriorityTier=1 PreemptMode=OFF
PartitionName=low Nodes=$host MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1
PartitionName=high Nodes=$host MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=10
EOF
)
    if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$wanted" ]; then
        printf '%s\n' "$wanted" > "$CONF"
        stop  # a changed configuration needs fresh daemons
    fi
}

alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

start_munge() {
    alive munged && return
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/munged.pid --force"
    for _ in $(seq 50); do [ -f /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$STATE/munged.pid"
}

start_slurm() {
    if ! alive slurmctld; then
        say "starting slurmctld"
        /usr/sbin/slurmctld -i
    fi
    if ! alive slurmd; then
        say "starting slurmd"
        /usr/sbin/slurmd
    fi
}

wait_ready() {
    local host
    host=$(hostname -s)
    for _ in $(seq 100); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
            return
        fi
        sleep 0.2
    done
    # A node left DOWN from an earlier start comes back once resumed.
    scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
    for _ in $(seq 50); do
        sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && return
        sleep 0.2
    done
    say "the node did not become ready:"; sinfo -N >&2 || true
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    exit 1
}

case "${1:-start}" in
    stop) stop; exit 0 ;;
    status) alive munged && alive slurmctld && alive slurmd; exit ;;
esac
install_packages
write_conf
start_munge
start_slurm
wait_ready
say "ready: $(sinfo -h -o '%P %a %D %T' | tr '\n' ' ')"
