#!/bin/sh
# ssh-host.sh: a second "host" on this machine for GNU parallel --sshlogin:
# an sshd on a free loopback port with a throwaway host key and user key,
# for tests/ssh_spec.lua and for trying scripts/render-parallel -S by hand.
#
#   sh tests/ssh-host.sh start DIR   starts the sshd; prints PARALLEL_SSH=...
#   sh tests/ssh-host.sh stop DIR    stops it (by the pid in DIR)
#   sh tests/ssh-host.sh check       exit 0 when sshd and ssh are installed
#
# Everything lives in DIR: keys, sshd_config, an ssh_config that names the
# host "vstudio-test-host" (so the user's ~/.ssh is neither read nor
# written), the log and the pid file. The sshd listens on 127.0.0.1 only,
# accepts only DIR's key, only for the user who started it, without PAM.
# Use it with `export PARALLEL_SSH="ssh -F DIR/ssh_config"` and
# `-S vstudio-test-host`.
set -eu
me=ssh-host
sshd=/usr/sbin/sshd # sshd re-executes itself: it needs its absolute path

die() { echo "$me: $*" >&2; exit 1; }

need() {
    for c in "$sshd" ssh ssh-keygen python3; do
        command -v "$c" >/dev/null 2>&1 || die "$c is not installed (Debian: openssh-server, openssh-client, python3)"
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop() {
    f=$1/sshd.pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

start() {
    need
    mkdir -p "$1"
    d=$(cd "$1" && pwd)
    user=$(id -un)
    port=$(free_port)
    rm -f "$d/host_key" "$d/host_key.pub" "$d/id" "$d/id.pub"
    ssh-keygen -q -t ed25519 -N '' -C vstudio-test-host -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C vstudio-test-user -f "$d/id"
    cp "$d/id.pub" "$d/authorized_keys"
    # root's sshd wants its privilege separation folder
    [ "$(id -u)" != 0 ] || mkdir -p /run/sshd
    cat >"$d/sshd_config" <<EOF
# tests/ssh-host.sh: loopback only, this key only, this user only
ListenAddress 127.0.0.1
Port $port
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
EOF
    cat >"$d/ssh_config" <<EOF
Host vstudio-test-host
    HostName 127.0.0.1
    Port $port
    User $user
    IdentityFile $d/id
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    BatchMode yes
    LogLevel ERROR
EOF
    "$sshd" -f "$d/sshd_config" -E "$d/sshd.log" || die "sshd did not start (see $d/sshd.log)"
    t=30
    while ! ssh -F "$d/ssh_config" vstudio-test-host true 2>/dev/null; do
        t=$((t - 1))
        [ "$t" -gt 0 ] || { stop "$d"; die "no ssh login in 30 s (see $d/sshd.log)"; }
        sleep 1
    done
    echo "PARALLEL_SSH=ssh -F $d/ssh_config"
}

case ${1:-} in
start) [ $# = 2 ] || die "usage: $0 start DIR"; start "$2" ;;
stop) [ $# = 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
check) need ;;
*) echo "usage: $0 start DIR | stop DIR | check" >&2; exit 2 ;;
esac
