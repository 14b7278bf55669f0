#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the job-array tests.
#   tests/cluster/slurm-local.sh up     install (when missing) and start munged, slurmctld and slurmd; wait for an idle node
#   tests/cluster/slurm-local.sh down   stop exactly the daemons "up" started (by their pid files)
#   tests/cluster/slurm-local.sh env    print the SLURM_CONF line to source
# State, spool, pid and log files live under $SLURM_LOCAL_DIR (default /tmp/mllmdata-slurm). Needs root.
set -euo pipefail

dir="${SLURM_LOCAL_DIR:-/tmp/mllmdata-slurm}"
conf="$dir/slurm.conf"

say() { echo "slurm-local: $*" >&2; }

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >"$dir/install.log" 2>&1; then
      say "could not install ${missing[*]} (see $dir/install.log)"
      return 1
    fi
  fi
}

write_conf() {
  local host cpus
  host="$(hostname -s)"
  cpus="$(nproc)"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
  cat >"$conf" <<CONF
ClusterName=mllmdata
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MaxArraySize=1001
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
}

up() {
  if [ "$(id -u)" -ne 0 ]; then say "needs root"; return 1; fi
  mkdir -p "$dir"
  install_packages
  write_conf
  export SLURM_CONF="$conf"
  # munged: the package made /etc/munge/munge.key; run it with its pid file in our folder.
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1; then
      su -s /bin/sh munge -c /usr/sbin/munged
    else
      /usr/sbin/munged --force
    fi
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
    cp /run/munge/munged.pid "$dir/run/munged.pid"
  fi
  /usr/sbin/slurmctld -f "$conf"
  /usr/sbin/slurmd -f "$conf"
  for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
      say "node $(hostname -s) idle ($(nproc) CPUs); SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.3
  done
  say "the node did not become idle; sinfo says: $(sinfo -h 2>&1 | head -3)"
  return 1
}

down() {
  for name in slurmd slurmctld munged; do
    local pidfile="$dir/run/$name.pid"
    if [ -s "$pidfile" ]; then
      local pid
      pid="$(cat "$pidfile")"
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$pidfile"
    fi
  done
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 up|down|env" >&2; exit 64 ;;
esac
