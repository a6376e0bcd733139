#!/usr/bin/env bash
# A real single-node Slurm (slurm-wlm + munge from Debian) on this machine, for
# tests and for trying the batch template. Needs root. No systemd required.
#   scripts/slurm/local_cluster.sh start   # writes /etc/slurm/slurm.conf if absent, starts munged, slurmctld, slurmd
#   scripts/slurm/local_cluster.sh stop
set -euo pipefail
CONF=/etc/slurm/slurm.conf
cmd=${1:?usage: local_cluster.sh start|stop}

stop_pid() {  # stop_pid PIDFILE
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$1"
}

case "$cmd" in
start)
  command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (scripts/setup.sh --with-slurm installs it)"; exit 2; }
  # slurmd needs the cgroup filesystem; a chroot or a bare container may lack it.
  grep -qE " /sys/fs/cgroup[ /]" /proc/mounts || { echo "no cgroup filesystem at /sys/fs/cgroup: slurmd cannot run here"; exit 3; }
  # The CPUs this process may use. Not plain `nproc`: it honours
  # OMP_NUM_THREADS, which the tests set to 1, and a 1-CPU node never runs a
  # 2-task job (it stays PENDING with Reason=PartitionConfig).
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  mkdir -p /etc/slurm /run/munge /run/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  chown munge:munge /run/munge
  chown slurm:slurm /run/slurm /var/spool/slurmctld /var/log/slurm
  # Our own file is rewritten on every start (so it follows this machine's CPUs
  # and memory); a slurm.conf someone else wrote is left alone.
  if [ ! -f "$CONF" ] || grep -q "^# written by shardrec" "$CONF"; then
    cat >"$CONF" <<CONF
# written by shardrec scripts/slurm/local_cluster.sh (rewritten on each start)
ClusterName=local
SlurmctldHost=localhost
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmix
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  fi
  [ -f /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none;
                                   chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  # Ask the daemons themselves (a pgrep would also match a dead, unreaped one).
  alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
  munge -n >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged --force
  alive /run/slurm/slurmctld.pid || /usr/sbin/slurmctld
  alive /run/slurm/slurmd.pid || /usr/sbin/slurmd -N localhost
  for _ in $(seq 100); do
    sinfo -h -o %t 2>/dev/null | grep -qE "^(idle|mix|alloc)" && { echo "slurm: node idle"; exit 0; }
    sleep 0.2
  done
  echo "slurm: node did not come up; see /var/log/slurm/"; sinfo || true; exit 1
  ;;
stop)
  stop_pid /run/slurm/slurmd.pid
  stop_pid /run/slurm/slurmctld.pid
  pkill -x munged 2>/dev/null || true
  ;;
*) echo "usage: local_cluster.sh start|stop"; exit 2 ;;
esac
