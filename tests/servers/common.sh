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

case ${1:-} in
start|stop) [ $# -ge 2 ] || die "usage: $0 start|stop STATEDIR" ;;
*) die "usage: $0 start|stop STATEDIR" ;;
esac
