# Shared helpers for the tests of the blockcopy binary against a real QEMU.
#
# Each test is a shell script that sources this file.  It gets a private
# directory $T; every QEMU it starts is killed and $T removed when the
# script exits, whether it passed or not.

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$TESTS_DIR/.." && pwd)
BLOCKCOPY=${BLOCKCOPY:-$TOP/blockcopy}
QMPC=$TESTS_DIR/helpers/qmp-client
# Every QEMU program comes from here.  QEMU_BINDIR picks another QEMU
# (scripts/qemu-chroot prints one); unset, they are the system's, found on
# PATH.  A variable of the table set in the environment overrides its row.
QEMU=${QEMU:-${QEMU_BINDIR:+$QEMU_BINDIR/}qemu-system-x86_64}
QEMU_IMG=${QEMU_IMG:-${QEMU_BINDIR:+$QEMU_BINDIR/}qemu-img}
QEMU_IO=${QEMU_IO:-${QEMU_BINDIR:+$QEMU_BINDIR/}qemu-io}
QEMU_NBD=${QEMU_NBD:-${QEMU_BINDIR:+$QEMU_BINDIR/}qemu-nbd}
QEMU_STORAGE_DAEMON=${QEMU_STORAGE_DAEMON:-${QEMU_BINDIR:+$QEMU_BINDIR/}qemu-storage-daemon}
# QEMU_COMPAT=deprecated-input=reject,unstable-input=reject starts every
# VM with that -compat policy: the suite passes without x- commands and
# without anything deprecated.
QEMU_COMPAT=${QEMU_COMPAT:-}
# A loaded machine may answer a new connection slowly: be patient unless
# a test wants to see the timeout itself.
export BLOCKCOPY_GREETING_TIMEOUT_MS=${BLOCKCOPY_GREETING_TIMEOUT_MS:-10000}

T=$(mktemp -d "${TMPDIR:-/tmp}/bc-test.XXXXXX")
# Names resolve only to this test's VMs.
export BLOCKCOPY_SOCKET_DIRS=$T/run
mkdir -p "$T/run"
VM_PIDS=()
BG_PIDS=()

# Commands to run at the end, after the processes are gone.
AT_EXIT=()

cleanup() {
    local pid cmd
    for pid in "${BG_PIDS[@]}" "${VM_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    for pid in "${BG_PIDS[@]}" "${VM_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    for cmd in "${AT_EXIT[@]}"; do
        eval "$cmd" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# skip REASON: this machine cannot run the test (a server that cannot
# start, a kernel feature missing).  tests/run-tests reports it as a skip
# with its reason, never as a pass.
skip() {
    echo "SKIP: $*" >&2
    exit 77
}

note() {
    echo "# $*" >&2
}

need_qemu() {
    command -v "$QEMU" >/dev/null ||
        fail "$QEMU not found: these tests need a real QEMU (Debian: apt-get install qemu-system-x86)"
    command -v "$QEMU_IMG" >/dev/null ||
        fail "$QEMU_IMG not found: these tests need qemu-img (Debian: apt-get install qemu-utils)"
    command -v "$QEMU_IO" >/dev/null ||
        fail "$QEMU_IO not found: these tests need qemu-io (Debian: apt-get install qemu-utils)"
    command -v jq >/dev/null ||
        fail "jq not found (Debian: apt-get install jq)"
    command -v python3 >/dev/null ||
        fail "python3 not found (Debian: apt-get install python3)"
}

# img_create FILE FORMAT SIZE [DATA_MIB [PATTERN]]: an image whose first
# DATA_MIB MiB hold PATTERN (default 0xab), the rest unallocated.
img_create() {
    local file=$1 fmt=$2 size=$3 data=${4:-0} pat=${5:-0xab}
    "$QEMU_IMG" create -q -f "$fmt" "$file" "$size" || fail "qemu-img create $file"
    if [ "$data" -gt 0 ]; then
        "$QEMU_IO" -f "$fmt" -c "write -P $pat 0 ${data}M" "$file" >/dev/null ||
            fail "qemu-io write $file"
    fi
}

# vm_start [--netns NS] NAME QEMU-ARGS...: start a stopped (-S) TCG VM
# named NAME whose QMP socket is $T/run/NAME.qmp, in network namespace NS
# if given (netlink_up); wait until it accepts connections.
vm_start() {
    local ns=()
    [ "$1" = --netns ] && { ns=(ip netns exec "$2"); shift 2; }
    local name=$1; shift
    local sock=$T/run/$name.qmp
    # QEMU serves one client per QMP socket, and the tool holds its socket
    # while it waits: the tests query through a second one.
    "${ns[@]}" "$QEMU" -machine q35,accel=tcg -nodefaults -display none -S \
        ${QEMU_COMPAT:+-compat "$QEMU_COMPAT"} \
        -name "$name" -qmp "unix:$sock,server=on,wait=off" \
        -qmp "unix:$T/$name.test.qmp,server=on,wait=off" \
        "$@" >"$T/$name.log" 2>&1 &
    VM_PIDS+=($!)
    echo $! >"$T/$name.pid"
    local i
    for i in $(seq 1 200); do
        [ -S "$sock" ] && [ -S "$T/$name.test.qmp" ] && return 0
        kill -0 "$!" 2>/dev/null || { cat "$T/$name.log" >&2; fail "QEMU for $name exited"; }
        sleep 0.05
    done
    fail "QEMU for $name did not create $sock"
}

# Device arguments for a virtio-blk disk in -drive style.
drive_args() {
    local file=$1 fmt=$2 id=$3 dev=${4:-virtio-disk0}
    echo "-drive file=$file,if=none,id=$id,format=$fmt -device virtio-blk-pci,drive=$id,id=$dev"
}

# Device arguments for a virtio-blk disk in -blockdev style.
blockdev_args() {
    local file=$1 fmt=$2 node=$3 dev=${4:-virtio-disk0}
    echo "-blockdev driver=file,filename=$file,node-name=$node-file -blockdev driver=$fmt,file=$node-file,node-name=$node -device virtio-blk-pci,drive=$node,id=$dev"
}

sock() {
    echo "$T/run/$1.qmp"
}

vm_pid() {
    cat "$T/$1.pid"
}

# qmp VM COMMAND [ARGS-JSON]: the command's "return" as JSON, through the
# test's own monitor.
qmp() {
    local vm=$1; shift
    "$QMPC" "$T/$vm.test.qmp" "$@"
}

# hmp VM COMMAND-LINE
hmp() {
    "$QMPC" "$T/$1.test.qmp" --hmp "$2"
}

# The image file the device DEV of VM runs on.  A file the tool handed
# over as a descriptor is "/dev/fdset/N" to QEMU: its path is the last
# field of the set's note ("NODE DEV:INO PATH").
disk_file() {
    local f
    f=$(qmp "$1" query-block | jq -r --arg d "$2" \
        '.[] | select(.qdev == $d or (.qdev | startswith("/machine/peripheral/" + $d + "/")) or .device == $d) | .inserted.file')
    if [[ $f =~ /dev/fdset/([0-9]+) ]]; then
        f=${f//"${BASH_REMATCH[0]}"/"$(fdset_path "$1" "${BASH_REMATCH[1]}")"}
    fi
    printf '%s\n' "$f"
}

# fdset_path VM N: the path in the note of fd set N.
fdset_path() {
    qmp "$1" query-fdsets | jq -r --argjson n "$2" \
        '.[] | select(."fdset-id" == $n) | .fds[0].opaque | sub("^[^ ]* [^ ]* "; "")'
}

# The tool's fd sets, one a line: "ID NODE".
fdsets() {
    qmp "$1" query-fdsets | jq -r \
        '.[] | [."fdset-id", (.fds[0].opaque // "" | split(" ")[0])] | join(" ")' |
        grep ' bc-' || true
}

node_names() {
    qmp "$1" query-named-block-nodes '{"flat": true}' | jq -r '.[]."node-name"' | sort
}

job_ids() {
    qmp "$1" query-jobs | jq -r '.[].id' | sort
}

# expect_exit CODE COMMAND...: run it, keep stdout in $T/out and stderr in
# $T/err, and fail unless it exits with CODE.
expect_exit() {
    local want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout:" >&2; cat "$T/out" >&2
        echo "--- stderr:" >&2; cat "$T/err" >&2
        fail "'$*' exited $got, expected $want"
    fi
}

expect_eq() {
    [ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"
}

# expect_grep PATTERN FILE
expect_grep() {
    grep -q -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not in $(basename "$2")"; }
}

images_equal() {
    "$QEMU_IMG" compare -U -q "$1" "$2" || fail "images differ: $1 $2"
}

# The image is not held open by any process (no lock taken).
not_in_use() {
    "$QEMU_IMG" info "$1" >/dev/null 2>"$T/lock.err" ||
        { cat "$T/lock.err" >&2; fail "$1 is still in use"; }
}

bc() {
    "$BLOCKCOPY" "$@"
}

# state VM: what a failed command must leave exactly as it was: the node
# list, the jobs, each disk's image, and the files in $T.
state() {
    qmp "$1" --state
    ls "$T" | grep -v -e '^out$' -e '^err$' -e '^state' -e '\.log$' -e '\.qmp$' -e '\.pid$' |
        sed 's/^/file: /'
}

# unchanged [--exit N] VM COMMAND...: run it expecting exit 2 (or N),
# then check that the VM and the files are exactly as before.
unchanged() {
    local code=2
    [ "$1" = --exit ] && { code=$2; shift 2; }
    local vm=$1; shift
    state "$vm" >"$T/state.before"
    expect_exit "$code" "$@"
    state "$vm" >"$T/state.after"
    diff -u "$T/state.before" "$T/state.after" >&2 ||
        fail "'$*' changed the VM or the files"
}

# Wait until the copy (mirror) job of VM reaches STATUS (e.g. ready), at
# most 30 s.
wait_job_status() {
    local vm=$1 want=$2 i
    for i in $(seq 1 300); do
        [ "$(qmp "$vm" query-jobs |
             jq -r '[.[] | select(.type == "mirror")][0].status // empty')" = "$want" ] &&
            return 0
        sleep 0.1
    done
    fail "job of $vm never became $want"
}

# fake_qmp NAME SCENARIO [ARGS...]: a scripted QMP peer on $T/run/NAME.qmp
# (tests/helpers/fake-qmp), for the faults a real QEMU does not produce.
fake_qmp() {
    local name=$1; shift
    local sock=$T/run/$name.qmp
    "$TESTS_DIR/helpers/fake-qmp" "$sock" "$@" 2>"$T/$name.fake.log" &
    BG_PIDS+=($!)
    local i
    for i in $(seq 1 200); do
        [ -S "$sock" ] && return 0
        kill -0 "$!" 2>/dev/null || { cat "$T/$name.fake.log" >&2; fail "fake-qmp $name exited"; }
        sleep 0.05
    done
    fail "fake-qmp did not create $sock"
}

# expect_err TEXT: stderr ($T/err) is exactly TEXT.
expect_err() {
    expect_eq "$(cat "$T/err")" "$1" "stderr"
}

# bc_limited SECONDS ARGS...: blockcopy, killed if it runs longer (exit
# 124): a fault must never make it hang.
bc_limited() {
    local secs=$1; shift
    timeout -k 5 "$secs" "$BLOCKCOPY" "$@"
}

# nbd_serve [--netns NS] [--object OBJECT] NAME ADDR BLOCKDEV-OPTION...:
# export the node 'fmt0' that the --blockdev options define as 'exp',
# writable, with qemu-storage-daemon listening on ADDR (its --nbd-server
# syntax, which may name an OBJECT's tls-creds), in network namespace NS
# if given; wait until it listens.  Returns 1 if it exited instead (a TCP
# port in use).
nbd_serve() {
    local args=() ns=() i
    [ "$1" = --netns ] && { ns=(ip netns exec "$2"); shift 2; }
    if [ "$1" = --object ]; then
        args+=(--object "$2")
        shift 2
    fi
    local name=$1 addr=$2
    shift 2
    command -v "$QEMU_STORAGE_DAEMON" >/dev/null ||
        fail "$QEMU_STORAGE_DAEMON not found (Debian: apt-get install qemu-system-common)"
    for i in "$@"; do args+=(--blockdev "$i"); done
    "${ns[@]}" "$QEMU_STORAGE_DAEMON" "${args[@]}" --nbd-server "$addr" \
        --export "type=nbd,id=e0,node-name=fmt0,name=exp,writable=on" \
        >"$T/$name.log" 2>&1 &
    local pid=$!
    BG_PIDS+=($pid)
    echo $pid >"$T/$name.pid"
    local path=${addr#*addr.path=} host=${addr#*addr.host=} port=${addr#*addr.port=}
    for i in $(seq 200); do
        kill -0 $pid 2>/dev/null || return 1
        case $addr in
        *addr.type=unix*) [ -S "${path%%,*}" ] && return 0 ;;
        *) "${ns[@]}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' - "${host%%,*}" "${port%%,*}" \
               2>/dev/null && return 0 ;;
        esac
        sleep 0.05
    done
    cat "$T/$name.log" >&2
    fail "qemu-storage-daemon for $name does not listen on $addr"
}

# nbd_xml FILE UNIX-SOCKET|HOST:PORT: a destination <disk> for export 'exp'.
nbd_xml() {
    local host
    case $2 in
    /*) host="<host transport='unix' socket='$2'/>" ;;
    *) host="<host name='${2%:*}' port='${2##*:}'/>" ;;
    esac
    cat >"$1" <<XML
<disk type='network'>
  <driver type='raw'/>
  <source protocol='nbd' name='exp'>
    $host
  </source>
</disk>
XML
}

# copy_running VM ARGS...: run blockcopy ARGS in the background, stdout in
# $T/out and stderr in $T/err, its pid in $pid, and return once VM's copy
# job is running.
copy_running() {
    local vm=$1; shift
    # <&0: a background command would read /dev/null, not the caller's
    # stdin (a script for the shell).
    "$BLOCKCOPY" "$@" <&0 >"$T/out" 2>"$T/err" &
    pid=$!
    BG_PIDS+=($pid)
    wait_job_status "$vm" running
}

# wait_held SOCKET: wait (at most 30 s) until QEMU serves a client on
# monitor SOCKET (an accepted connection under its path).
wait_held() {
    local i
    for i in $(seq 1 600); do
        grep -q " 03 [0-9]* $1\$" /proc/net/unix && return 0
        sleep 0.05
    done
    fail "nobody holds the monitor $1"
}

# proxy_start VM [qmp-proxy options]: a QMP proxy (tests/helpers/qmp-proxy)
# in front of VM's monitor, on $T/px-VM.qmp, logging to $T/px-VM.log, for
# the faults of timing a real QEMU does not produce by itself.  Sets $px
# to the socket to give the tool.
proxy_start() {
    local vm=$1; shift
    local i
    px=$T/px-$vm.qmp
    rm -f "$T/px-$vm.log"
    "$TESTS_DIR/helpers/qmp-proxy" "$px" "$(sock "$vm")" --log "$T/px-$vm.log" \
        "$@" >/dev/null 2>>"$T/px-$vm.err" &
    BG_PIDS+=($!)
    echo $! >"$T/px-$vm.pid"
    for i in $(seq 1 200); do
        [ -S "$px" ] && return 0
        sleep 0.05
    done
    fail "qmp-proxy for $vm did not start"
}

proxy_stop() {
    kill "$(cat "$T/px-$1.pid")" 2>/dev/null
    wait "$(cat "$T/px-$1.pid")" 2>/dev/null
}

# proxy_wait_for VM LINE: wait (at most 30 s) until the proxy logs LINE
# ("cmd job-complete", "fired hold blockdev-mirror 1").
proxy_wait_for() {
    local i
    for i in $(seq 1 600); do
        grep -qx -- "$2" "$T/px-$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "the proxy of $1 never logged '$2'"
}

# no_deleted_files VM: QEMU holds no file that was unlinked.  Not
# counted: the descriptor of an fd set whose node is gone, which QEMU
# 7.2 closes only once the VM runs (see tool_leftovers).
no_deleted_files() {
    local pid idle fd
    pid=$(vm_pid "$1")
    idle=$(qmp "$1" query-fdsets | jq -r '.[].fds[] | "\(.fd) \(.opaque // "" | split(" ")[0])"' |
        while read -r fd node; do
            [ -n "$node" ] && ! node_names "$1" | grep -qxF "$node" && echo "$fd"
        done)
    for fd in $(ls "/proc/$pid/fd" 2>/dev/null); do
        case $(readlink "/proc/$pid/fd/$fd") in
        *" (deleted)") grep -qxF "$fd" <<<"$idle" && continue
            ls -l "/proc/$pid/fd" >&2
            fail "QEMU of $1 writes into a file that was unlinked" ;;
        esac
    done
}

# tool_objects VM: the tool's jobs, nodes and objects VM still has,
# besides the nodes a pivoted disk runs on (given as further arguments).
tool_leftovers() {
    local vm=$1; shift
    {
        job_ids "$vm" | sed 's/^/job /'
        node_names "$vm" | grep '^bc-' | sed 's/^/node /'
        qmp "$vm" qom-list '{"path": "/objects"}' | jq -r '.[].name' |
            grep '^bc-' | sed 's/^/object /'
        # A set stays as long as its node: the node is what is allowed.
        # QEMU 7.2 closes a removed set's descriptor only while the VM
        # runs, and lists it until then: on a paused VM a set the tool
        # removed cannot be told from one it forgot.
        if [ "$(qmp "$vm" query-status | jq -r .running)" = true ]; then
            fdsets "$vm" | while read -r _ node; do
                node_names "$vm" | grep -qxF "$node" || echo "fdset of $node"
            done
        fi
    } | grep -v -x -F "$(printf 'node %s\n' "$@" | sed 's/^node $/-/')" || true
}

# active_nodes VM: the nodes of the images VM's disks run on (a format
# node and its file node name the same file), for tool_leftovers after a
# pivot.
active_nodes() {
    local files
    files=$(qmp "$1" query-block | jq -c '[.[].inserted.file // empty]')
    qmp "$1" query-named-block-nodes '{"flat": true}' |
        jq -r --argjson f "$files" '.[] | select(.file as $x | $f | index($x)) | ."node-name"'
}

# small_dir SIZE: $T/small, a tmpfs of SIZE (16M) that a copy can fill,
# unmounted when the test ends; skips the test where none can be mounted.
small_dir() {
    mkdir -p "$T/small"
    mount -t tmpfs -o "size=$1" bc-test "$T/small" 2>"$T/mount.err" ||
        skip "cannot mount a tmpfs: $(cat "$T/mount.err")"
    AT_EXIT+=("umount '$T/small'")
}

# netlink_up [--rate RATE] [--loss PERCENT]: two hosts on this machine
# (tests/helpers/netlink): sets $NET_C and $NET_S, the network namespaces
# of the client (10.201.0.1) and of the server (10.201.0.2), removed when
# the test ends.  Skips the test if the machine cannot make them.
netlink_up() {
    local name=bcnet-$$-$RANDOM rc
    AT_EXIT+=("'$TESTS_DIR/helpers/netlink' down $name")
    "$TESTS_DIR/helpers/netlink" up "$name" "$@" 2>"$T/netlink.err"
    rc=$?
    [ $rc -eq 77 ] && skip "$(sed 's/^netlink: //' "$T/netlink.err" | head -n 1)"
    [ $rc -eq 0 ] || { cat "$T/netlink.err" >&2; fail "netlink up $*"; }
    NET_C=$name-c NET_S=$name-s
}

# iscsi_xml FILE LUN: a destination <disk> for LUN of the target
# server_start tgt made, as libvirt writes it, with CHAP.
iscsi_xml() {
    cat >"$1" <<XML
<disk type='network' device='disk'>
  <driver name='qemu' type='raw'/>
  <source protocol='iscsi' name='$tgt_iqn/$2'>
    <host name='$tgt_host' port='$tgt_port'/>
    <auth username='$tgt_user'>
      <secret type='iscsi' usage='libvirtiscsi'/>
    </auth>
  </source>
  <target dev='vda' bus='virtio'/>
</disk>
XML
}

# server_start NAME [ARGS...]: start tests/servers/NAME with its state in
# $T/srv-NAME, stopped when the test ends, and set the NAME=VALUE lines it
# prints as shell variables.  A server that cannot run on this machine
# (its exit status 77) skips the test with its reason.
server_start() {
    local name=$1; shift
    local dir=$T/srv-$name out rc
    mkdir -p "$dir"
    AT_EXIT+=("'$TESTS_DIR/servers/$name' stop '$dir'")
    out=$("$TESTS_DIR/servers/$name" start "$dir" "$@" 2>"$T/srv-$name.log")
    rc=$?
    [ $rc = 77 ] && skip "$name: $(tail -n 1 "$T/srv-$name.log")"
    [ $rc = 0 ] || { cat "$T/srv-$name.log" >&2; fail "the $name server did not start"; }
    # Only NAME=VALUE lines, nothing a shell would expand.
    grep -qvE '^[A-Za-z_][A-Za-z0-9_]*=[^ ;|&$`()<>]*$' <<<"$out" &&
        fail "server $name printed an unexpected line: $out"
    eval "$out"
}

# guest_start NAME DISK [FORMAT [DISK2]]: boot the test guest (Debian's
# kernel, the initramfs of tests/guest/build-initramfs) under TCG as VM
# NAME, with the monitors of vm_start and DISK (default format raw) as its
# virtio disk vda (drive0), and DISK2 if given, in the same format, as vdb
# (drive1, virtio-disk1); return once its writer says it is ready.  The
# serial console is $T/NAME.console; guest_cmd types into it.
guest_start() {
    local name=$1 disk=$2 fmt=${3:-raw} disk2=${4:-} files i
    [ -x "$TESTS_DIR/guest/writer" ] ||
        fail "no tests/guest/writer: run 'make tests/guest/writer'"
    files=$("$TESTS_DIR/guest/build-initramfs" "$TESTS_DIR/guest/build" 2>"$T/initramfs.err") ||
        skip "no test guest: $(cat "$T/initramfs.err")"
    # Where QEMU sees them: another QEMU may run in a chroot that shares
    # only the temporary directories (scripts/qemu-chroot).
    [ -e "$T/vmlinuz" ] || cp "$(sed -n 1p <<<"$files")" "$T/vmlinuz"
    [ -e "$T/initramfs.gz" ] || cp "$(sed -n 2p <<<"$files")" "$T/initramfs.gz"
    mkfifo "$T/$name.con.in" "$T/$name.con.out"
    cat "$T/$name.con.out" >"$T/$name.console" &
    BG_PIDS+=($!)
    vm_start "$name" -m 256 -no-reboot -kernel "$T/vmlinuz" \
        -initrd "$T/initramfs.gz" -append "console=ttyS0 quiet panic=-1" \
        -chardev "pipe,id=con,path=$T/$name.con" -serial chardev:con \
        $(drive_args "$disk" "$fmt" drive0) \
        ${disk2:+$(drive_args "$disk2" "$fmt" drive1 virtio-disk1)}
    echo 0 >"$T/$name.mark"
    qmp "$name" cont >/dev/null
    guest_wait "$name" '^bcw: ready' 240 >/dev/null
}

# guest_cmd NAME COMMAND: a command for the writer (tests/guest/writer.c);
# guest_wait then looks only at what the console says after it.
guest_cmd() {
    wc -l <"$T/$1.console" >"$T/$1.mark"
    echo "$2" >"$T/$1.con.in"
}

# guest_wait NAME REGEX [SECONDS]: wait (default 60 s) until a console
# line since the last guest_cmd matches; print it.
guest_wait() {
    local name=$1 re=$2 secs=${3:-60} i line
    for i in $(seq 1 $((secs * 10))); do
        line=$(tail -n +$(($(cat "$T/$name.mark") + 1)) "$T/$name.console" |
               tr -d '\r' | grep -E -m 1 -- "$re") && { printf '%s\n' "$line"; return 0; }
        grep -q '^bcw: error\|^bcw: writer exited' "$T/$name.console" && break
        kill -0 "$(vm_pid "$name")" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$T/$name.console" "$T/$name.log" >&2
    fail "the guest $name never said '$re'"
}

# vm_quit NAME: quit the VM and wait until its QEMU is gone: nothing more
# reaches any of its images.
vm_quit() {
    local i
    qmp "$1" quit >/dev/null 2>&1
    for i in $(seq 1 100); do kill -0 "$(vm_pid "$1")" 2>/dev/null || return 0; sleep 0.1; done
    fail "$1 did not quit"
}

# qemu_version: "MAJOR MINOR MICRO" of the QEMU the tests run.
qemu_version() {
    "$QEMU" --version |
        sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*/\1 \2 \3/p'
}

# start_watched NAME COMMAND...: run COMMAND, expecting exit 0, while a
# second monitor of the VM records QEMU's events in $T/events.
start_watched() {
    local vm=$1 evpid; shift
    python3 -u "$QMPC" "$T/$vm.test.qmp" --events 60 >"$T/events" 2>/dev/null &
    evpid=$!
    BG_PIDS+=($evpid)
    sleep 0.3
    expect_exit 0 "$@"
    sleep 0.3
    kill $evpid
    wait $evpid 2>/dev/null
}

# start_events [JOB]: what $T/events saw of the start of copy JOB
# (bc-drive0): "STOP created RESUME " when the guest was paused across
# it, "created " when not.
start_events() {
    jq -r --arg job "${1:-bc-drive0}" \
        'select(.event == "STOP" or .event == "RESUME" or
                (.event == "JOB_STATUS_CHANGE" and .data.status == "created" and
                 .data.id == $job)) |
           if .event == "JOB_STATUS_CHANGE" then "created" else .event end' "$T/events" |
        tr '\n' ' '
}

# start_pause: how long $T/events saw the guest paused ("the guest paused
# 12 ms"), or "no pause".
start_pause() {
    jq -s -r '[.[] | select(.event == "STOP" or .event == "RESUME") |
               .timestamp.seconds * 1000 + .timestamp.microseconds / 1000] |
              if length == 2 then "the guest paused \(.[1] - .[0] | floor) ms"
              else "no pause" end' "$T/events"
}

# finish_checked NAME IMAGE: once the copy of the VM's vda (a raw IMAGE)
# is ready, finish it; IMAGE must then hold an exact prefix of the
# guest's log, with every record acknowledged before the finish.  What
# the checker says is in $T/check.
finish_checked() {
    local vm=$1 image=$2 acked
    wait_job_status "$vm" ready
    acked=$(guest_acked "$vm")
    expect_exit 0 "$BLOCKCOPY" job "$vm" vda --finish --wait
    "$TESTS_DIR/guest/writer" check "$image" "$acked" >"$T/check" 2>&1 ||
        fail "the copy of $vm: $(cat "$T/check")"
}

# pause_mark NAME: true if the VM holds the mark of a pause of the tool's.
pause_mark() {
    qmp "$1" qom-list '{"path": "/objects"}' | jq -e 'any(.[]; .name == "bc-paused")' >/dev/null
}

# guest_acked NAME: the number of records the writer last said were on
# its disk.
guest_acked() {
    tr -d '\r' <"$T/$1.console" | sed -n 's/^bcw: acked \([0-9]*\)$/\1/p' | tail -n 1 |
        grep . || echo 0
}
