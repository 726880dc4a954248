#!/bin/sh
# slurm-cluster.sh: a throwaway single-node Slurm cluster on this machine, for
# the specs (tests/slurm_spec.lua) and for trying the Slurm recipe by hand.
#
#   sh tests/slurm-cluster.sh start DIR   writes DIR/slurm.conf, starts munged,
#                                         slurmctld and slurmd, waits until the
#                                         node is idle; prints SLURM_CONF=...
#   sh tests/slurm-cluster.sh stop DIR    stops them (by the pids in DIR)
#   sh tests/slurm-cluster.sh check       exit 0 when the daemons are installed
#
# Everything lives in DIR: the munge key and socket, the state and spool
# folders, the logs, the pid files. The daemons listen on free loopback
# ports and use the machine's real CPUs and memory (`slurmd -C`), so a job
# that asks for more than the machine has is refused as on a real cluster.
# Partitions: "main" (the default, no limits) and "short" (MaxTime 5
# minutes, MaxCPUsPerNode 1), to try requests that exceed a limit.
# Use the cluster with `export SLURM_CONF=DIR/slurm.conf`. Needs Debian's
# slurm-wlm and munge, and root for the daemons (slurmd starts jobs as their
# user): run as root, or as a user who may `sudo` without a password.
set -eu
me=slurm-cluster

die() { echo "$me: $*" >&2; exit 1; }

need() {
    for c in munged mungekey slurmctld slurmd sbatch scontrol sinfo python3; do
        command -v "$c" >/dev/null 2>&1 || die "$c is not installed (Debian: slurm-wlm, munge, python3)"
    done
    if [ "$(id -u)" = 0 ]; then
        as_root=""
    elif sudo -n true 2>/dev/null; then
        as_root="sudo -n"
    else
        die "the daemons need root: run as root or as a user who may sudo without a password"
    fi
}

# A loopback port nobody listens on (the kernel's choice, then released).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    t=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        t=$((t - 1))
        [ "$t" -gt 0 ] || return 1
        sleep 1
    done
}

node_idle() { sinfo -h -N -o %t | grep -qx idle; }

stop_pid() {
    f=$1
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if $as_root kill "$pid" 2>/dev/null; then
        # up to 10 s to exit cleanly, then for good
        i=0
        while $as_root kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        $as_root kill -9 "$pid" 2>/dev/null || true
    fi
    $as_root rm -f "$f"
}

stop() {
    need
    d=$1
    stop_pid "$d/slurmd.pid"
    stop_pid "$d/slurmctld.pid"
    stop_pid "$d/munged.pid"
    # root's files, which the user could not remove
    [ -z "$as_root" ] || $as_root rm -rf "$d/munge" "$d/state" "$d/spool"
}

start() {
    need
    mkdir -p "$1"
    d=$(cd "$1" && pwd)
    mkdir -p "$d/munge" "$d/state" "$d/spool"
    # munge: its own key, socket and pid file; munged refuses group- or
    # world-writable folders and a key others can read.
    chmod 755 "$d" "$d/munge"
    mungekey --create --keyfile="$d/munge/munge.key" --force 2>/dev/null ||
        dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 400 "$d/munge/munge.key"
    [ -z "$as_root" ] || $as_root chown -R root: "$d/munge" "$d/state" "$d/spool"
    $as_root munged --force --key-file="$d/munge/munge.key" --socket="$d/munge/socket" \
        --pid-file="$d/munged.pid" --log-file="$d/munged.log" --seed-file="$d/munge/seed" ||
        die "munged did not start (see $d/munged.log)"

    host=$(hostname -s)
    # "NodeName=host CPUs=2 Boards=1 ... RealMemory=24105": the node as slurmd sees it
    node=$(slurmd -C | head -n 1)
    case $node in NodeName=*) ;; *) stop "$d"; die "slurmd -C did not describe the node: $node" ;; esac
    cat >"$d/slurm.conf" <<EOF
# a single-node cluster for tests (tests/slurm-cluster.sh)
ClusterName=vstudio-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/socket
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
# no cgroups: plain process tracking works in containers too
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# start a job whose dependency is met at once, not up to 3 s later
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=300
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
# limits to run into: 5 minutes, one CPU of the node
PartitionName=short Nodes=$host MaxTime=5 MaxCPUsPerNode=1 State=UP
EOF
    SLURM_CONF=$d/slurm.conf
    export SLURM_CONF
    $as_root slurmctld -f "$SLURM_CONF" -i || { stop "$d"; die "slurmctld did not start (see $d/slurmctld.log)"; }
    wait_for 30 scontrol ping || { stop "$d"; die "slurmctld does not answer (see $d/slurmctld.log)"; }
    $as_root slurmd -f "$SLURM_CONF" -N "$host" || { stop "$d"; die "slurmd did not start (see $d/slurmd.log)"; }
    wait_for 60 node_idle || {
        sinfo -N >&2 || true
        stop "$d"
        die "the node did not become idle in 60 s (see $d/slurmd.log)"
    }
    echo "SLURM_CONF=$SLURM_CONF"
}

case ${1:-} in
start) [ $# = 2 ] || die "usage: $0 start DIR"; start "$2" ;;
stop) [ $# = 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
check) need ;;
*) echo "usage: $0 start DIR | stop DIR | check" >&2; exit 2 ;;
esac
