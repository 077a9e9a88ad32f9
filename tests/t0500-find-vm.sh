#!/usr/bin/env bash
# VMs are found by name: in the socket directories first, then among the
# running QEMU processes by -name and the QMP socket on their command line.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/d.qcow2" qcow2 16M
mkdir -p "$T/p"
tag=bc$$r$RANDOM

# qemu_named NAME-OPTION MONITOR-ARGS...: a VM outside the socket dirs;
# its pid is in $qpid.  (Not run in $(...): the pid must reach BG_PIDS of
# this shell, or the VM would outlive the test.)
qemu_named() {
    local name=$1; shift
    "$QEMU" -machine q35,accel=tcg -nodefaults -display none -S \
        -name "$name" "$@" >/dev/null 2>&1 &
    qpid=$!
    BG_PIDS+=($qpid)
}

wait_sock() {
    local i
    for i in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
    fail "no socket $1"
}

qemu_named "$tag-a" -qmp "unix:$T/p/a.sock,server=on,wait=off"
p1=$qpid
qemu_named "guest=$tag-b,debug-threads=on" -qmp "unix:path=$T/p/b.sock,server=on,wait=off"
p2=$qpid
qemu_named "$tag-c" -qmp-pretty "unix:$T/p/c.sock,server=on,wait=off"
p3=$qpid
qemu_named "guest=$tag-d" -chardev "socket,id=mon0,path=$T/p/d.sock,server=on,wait=off" \
    -mon chardev=mon0,mode=control
qemu_named "$tag-hmp" -monitor "unix:$T/p/e.sock,server=on,wait=off"
p5=$qpid
qemu_named "$tag-none"
p6=$qpid
for s in a b c d e; do wait_sock "$T/p/$s.sock"; done

for vm in a b c d; do
    expect_exit 0 bc disks "$tag-$vm"
    expect_grep "Target" "$T/out"
done
expect_exit 0 bc --json list
for vm in a b c d; do
    expect_eq "$(jq -r --arg n "$tag-$vm" '.[] | select(.name == $n) | .socket' "$T/out")" \
        "unix:$T/p/$vm.sock" "socket of $tag-$vm"
done
expect_eq "$(jq -r --arg n "$tag-a" '.[] | select(.name == $n) | .pid' "$T/out")" "$p1" "pid"
expect_eq "$(jq -r --arg n "$tag-hmp" '.[] | select(.name == $n) | .note' "$T/out")" \
    "no QMP monitor (only HMP): cannot be driven" "HMP-only VM"
expect_eq "$(jq -r --arg n "$tag-none" '.[] | select(.name == $n) | .note' "$T/out")" \
    "no monitor: cannot be driven" "VM without a monitor"
expect_exit 0 bc list
expect_grep "^$tag-a *$p1 *$(id -un) *free *unix:$T/p/a.sock$" "$T/out"

expect_exit 2 bc disks "$tag-hmp"
expect_grep "VM '$tag-hmp' (pid $p5) has no QMP monitor (only a human monitor)" "$T/err"
expect_exit 2 bc disks "$tag-nosuch"
expect_grep "no VM named '$tag-nosuch'" "$T/err"

# A socket directory wins over the process scan: NAME.qmp, NAME.sock and
# NAME/qmp.sock.
vm_start "$tag-a" $(drive_args "$T/d.qcow2" qcow2 drive0)
expect_exit 0 bc --json disks "$tag-a"
expect_eq "$(jq -r '.[0].source' "$T/out")" "$T/d.qcow2" "the VM in the socket dir"
mkdir -p "$T/run/$tag-x"
ln -s "$T/p/b.sock" "$T/run/$tag-x/qmp.sock"
ln -s "$T/p/c.sock" "$T/run/$tag-y.sock"
expect_exit 0 bc disks "$tag-x"
expect_exit 0 bc disks "$tag-y"

# The admin's case: a VM started by hand with its socket in /run/qemu,
# found with the default socket directories.
if [ "$(id -u)" = 0 ]; then
    mkdir -p /run/qemu
    img_create "$T/h.qcow2" qcow2 16M 2
    "$QEMU" -machine q35,accel=tcg -nodefaults -display none -S -name "$tag-h" \
        -qmp "unix:/run/qemu/$tag-h.qmp,server=on,wait=off" \
        -drive "file=$T/h.qcow2,if=none,id=drive0,format=qcow2" \
        -device virtio-blk-pci,drive=drive0,id=virtio-disk0 >/dev/null 2>&1 &
    BG_PIDS+=($!)
    wait_sock "/run/qemu/$tag-h.qmp"
    (unset BLOCKCOPY_SOCKET_DIRS
     expect_exit 0 bc "$tag-h" vda "$T/h-copy.qcow2" --wait --pivot)
    rc=$?
    kill "${BG_PIDS[-1]}"
    rm -f "/run/qemu/$tag-h.qmp"
    [ $rc = 0 ] || exit 1
    images_equal "$T/h.qcow2" "$T/h-copy.qcow2"
else
    note "not root: the /run/qemu case is skipped"
fi

# A monitor on TCP (loopback).
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    qemu_named "$tag-tcp" -qmp "tcp:127.0.0.1:$port,server=on,wait=off"
    p7=$qpid
    # Listening, or gone (the port was taken).
    for _ in $(seq 200); do
        kill -0 "$p7" 2>/dev/null || break
        grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp &&
            break 2
        sleep 0.05
    done
done
expect_exit 0 bc disks "tcp:127.0.0.1:$port"
expect_exit 0 bc --json list
expect_eq "$(jq -r --arg n "$tag-tcp" '.[] | select(.name == $n) | .socket' "$T/out")" \
    "tcp:127.0.0.1:$port" "socket of the TCP VM"
expect_exit 0 bc disks "$tag-tcp"

# Missing, refused and unusable sockets each say what is wrong.
expect_exit 1 bc disks "$T/p/none.sock"
expect_grep "monitor socket '$T/p/none.sock' does not exist" "$T/err"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/p/stale.sock"
expect_exit 1 bc disks "$T/p/stale.sock"
expect_grep "connection to '$T/p/stale.sock' refused" "$T/err"
expect_exit 1 bc disks "$T/d.qcow2"
expect_grep "is not a socket" "$T/err"
expect_exit 1 bc disks "unix:$T/p/e.sock"
expect_grep "not a QMP monitor" "$T/err"
exit 0
