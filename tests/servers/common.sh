# Shared by the server scripts of tests/servers: each is run as
#   NAME start STATEDIR [ARGS...]   start, wait until usable, print KEY=VALUE
#   NAME stop STATEDIR              stop what start started
# Every file of a server lives under STATEDIR; exit 77 with a reason on
# stderr means this machine cannot run it.

set -u

cannot() {
    echo "$*" >&2
    exit 77
}

die() {
    echo "$*" >&2
    exit 1
}

# need PROGRAM PACKAGE: skip without it.
need() {
    command -v "$1" >/dev/null ||
        cannot "$1 not found (Debian: apt-get install --no-install-recommends $2)"
}

# free_port: a TCP port nobody listens on now.  The kernel chooses, so
# parallel runs do not pick the same one; a server that loses the race
# fails to start and says so.
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    local n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do
        "$@" 2>/dev/null && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

listening() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# gone PID: the process has exited (a zombie left for init counts).
gone() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [ "${stat%% *}" = Z ]
}

# stop_pidfile FILE [SIGNAL]: send SIGNAL (default TERM) to the process
# whose pid FILE holds, then kill it if it has not gone within 5 s.
stop_pidfile() {
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -s "${2:-TERM}" "$pid" 2>/dev/null || return 0
    wait_for 5 gone "$pid" || kill -9 "$pid" 2>/dev/null
    rm -f "$1"
}

# other_host_start: a second host on this machine, for servers whose
# clients know no port but the standard one.  A process holds a network
# namespace of its own, joined to this one by a veth pair, and a mount
# namespace where $dir/run is /run and $dir/log is /var/log (so that
# daemons that insist on those paths keep their files under $dir);
# 'inside COMMAND' runs there; 'inside_exec COMMAND &' starts a daemon
# there whose pid is $!.  Sets $host, its address; a /30 of
# 10.251.0.0/16 that no interface here has yet.
other_host_start() {
    local n net veth
    need nsenter util-linux
    need unshare util-linux
    need ip iproute2
    mkdir -p "$dir/run" "$dir/log" || die "cannot create $dir"
    unshare -n -m --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/holder.pid"
    wait_for 5 eval "[ \"\$(readlink /proc/$!/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
        cannot "cannot make a network namespace (unshare -n)"
    for _ in 1 2 3 4 5 6 7 8; do
        n=$(( $(free_port) % 16384 ))
        net=10.251.$((n / 64)).$((n % 64 * 4))
        ip -o addr | grep -q "inet ${net%.*}.$((n % 64 * 4 + 1))/" || break
    done
    host=${net%.*}.$((n % 64 * 4 + 2))
    veth=bcsrv$n
    ip link add "$veth" type veth peer name eth0 netns "$(cat "$dir/holder.pid")" ||
        cannot "cannot make a veth pair"
    ip addr add "${net%.*}.$((n % 64 * 4 + 1))/30" dev "$veth" &&
        ip link set "$veth" up &&
        inside ip addr add "$host/30" dev eth0 &&
        inside ip link set eth0 up &&
        inside ip link set lo up ||
        die "cannot set up the link to $host"
    inside mount --bind "$dir/run" /run &&
        inside mount --bind "$dir/log" /var/log ||
        die "cannot give the other host its /run and /var/log"
}

inside() {
    nsenter -t "$(cat "$dir/holder.pid")" -n -m "$@"
}

inside_exec() {
    exec nsenter -t "$(cat "$dir/holder.pid")" -n -m "$@"
}

# Every process of the other host is killed: it has nothing worth an
# orderly shutdown.  The namespaces, the veth pair and the mounts go with
# the last of them.
other_host_stop() {
    local ns p
    [ -s "$dir/holder.pid" ] || return 0
    ns=$(readlink "/proc/$(cat "$dir/holder.pid")/ns/net") || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ns" ] && kill -9 "${p#/proc/}" 2>/dev/null
    done
    wait_for 5 gone "$(cat "$dir/holder.pid")"
    rm -f "$dir/holder.pid"
}

case ${1:-} in
start|stop) [ $# -ge 2 ] || die "usage: $0 start|stop STATEDIR" ;;
*) die "usage: $0 start|stop STATEDIR" ;;
esac
