#!/usr/bin/env bash
# The destination fails mid-copy: its NBD server dies, it returns I/O
# errors, it runs out of space.  Each time the job fails with QEMU's
# reason, the tool exits 1, the VM stays on its intact source, and no node
# or job of the tool's is left.
. "$(dirname "$0")/lib.sh"
need_qemu

# serve NAME BLOCKDEV-OPTION...: export 'fmt0' on $T/NAME.sock, with its
# destination XML in $T/NAME.xml.
serve() {
    local name=$1; shift
    nbd_serve "$name" "addr.type=unix,addr.path=$T/$name.sock" "$@" ||
        fail "qemu-storage-daemon for $name exited"
    nbd_xml "$T/$name.xml" "$T/$name.sock"
}

# serve_faulty NAME RULE: export $T/NAME.raw through blkdebug, whose
# writes fail as RULE says ('"errno": 28, "sector": N').
serve_faulty() {
    serve "$1" "driver=file,filename=$T/$1.raw,node-name=file0" \
        "{\"driver\": \"raw\", \"node-name\": \"fmt0\", \"file\": {
            \"driver\": \"blkdebug\", \"image\": \"file0\", \"inject-error\": [
            {\"event\": \"none\", \"iotype\": \"write\", $2}]}}"
}

img_create "$T/src.qcow2" qcow2 64M 48 0x2d
cp "$T/src.qcow2" "$T/ref.qcow2"
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
state vm1 >"$T/state.before"

# after_failure WHAT: the VM is as it was and its disk intact.
after_failure() {
    state vm1 >"$T/state.after"
    diff -u "$T/state.before" "$T/state.after" >&2 || fail "$1: something was left"
    images_equal "$T/ref.qcow2" "$T/src.qcow2"
}

# 1. The NBD server is killed while the copy runs.
truncate -s 64M "$T/dead.raw"
serve dead "driver=file,filename=$T/dead.raw,node-name=file0" \
    "driver=raw,file=file0,node-name=fmt0"
copy_running vm1 vm1 vda --xml "$T/dead.xml" --reuse-external --bandwidth 2M --pivot
kill -9 "$(cat "$T/dead.pid")"
wait $pid
expect_eq "$?" 1 "exit when the server died"
expect_grep "error: Copy failed: " "$T/err"
rm -f "$T/dead.raw" "$T/dead.xml" "$T/dead.pid" "$T/dead.sock"
after_failure "server killed"

# 2. The destination returns I/O errors (blkdebug).
truncate -s 64M "$T/eio.raw"
serve_faulty eio '"errno": 5'
expect_exit 1 bc vm1 vda --xml "$T/eio.xml" --reuse-external --pivot
expect_grep "error: Copy failed: Input/output error" "$T/err"
kill "$(cat "$T/eio.pid")"
rm -f "$T/eio.raw" "$T/eio.xml" "$T/eio.pid" "$T/eio.sock"
after_failure "I/O errors"

# 3. The destination runs out of space 32 MiB in.
truncate -s 64M "$T/full.raw"
serve_faulty full '"errno": 28, "sector": 65536'
expect_exit 1 bc vm1 vda --xml "$T/full.xml" --reuse-external --wait --finish
expect_grep "error: Copy failed: No space left on device" "$T/err"
kill "$(cat "$T/full.pid")"
rm -f "$T/full.raw" "$T/full.xml" "$T/full.pid" "$T/full.sock"
after_failure "out of space"

# The VM still copies fine afterwards.
expect_exit 0 bc vm1 vda "$T/good.qcow2" --pivot
images_equal "$T/ref.qcow2" "$T/good.qcow2"
exit 0
