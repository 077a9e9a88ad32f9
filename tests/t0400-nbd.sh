#!/usr/bin/env bash
# A storage migration's destination: an NBD export (qemu-storage-daemon)
# on a unix socket and on 127.0.0.1, given as libvirt <disk> XML.
. "$(dirname "$0")/lib.sh"
need_qemu

# export_raw NAME ADDR: $T/NAME.raw, 64 MiB, exported as 'exp' on ADDR.
export_raw() {
    truncate -s 64M "$T/$1.raw"
    nbd_serve "$1" "$2" "driver=file,filename=$T/$1.raw,node-name=file0" \
        "driver=raw,file=file0,node-name=fmt0"
}

img_create "$T/src.qcow2" qcow2 64M 16 0x3c
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# Unix socket, --finish: the VM stays on its source.
export_raw unix "addr.type=unix,addr.path=$T/nbd.sock"
nbd_xml "$T/unix.xml" "$T/nbd.sock"
expect_exit 0 bc vm1 vda --xml "$T/unix.xml" --reuse-external --wait --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
images_equal "$T/src.qcow2" "$T/unix.raw"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
expect_eq "$(node_names vm1 | grep -c '^bc-')" 0 "tool nodes left"

# TCP on loopback, --pivot: the VM runs on the export afterwards.
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    export_raw tcp "addr.type=inet,addr.host=127.0.0.1,addr.port=$port" && break
done
nbd_xml "$T/tcp.xml" "127.0.0.1:$port"
expect_exit 0 bc vm1 vda --xml "$T/tcp.xml" --reuse-external --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
images_equal "$T/src.qcow2" "$T/tcp.raw"
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted.image."backing-filename" // .[0].inserted.file')" \
    "nbd://127.0.0.1:$port/exp" "disk after pivot"
not_in_use "$T/src.qcow2"

# A server that is not running: QEMU's reason, nothing left behind.
img_create "$T/src2.qcow2" qcow2 64M 4
vm_start vm2 $(drive_args "$T/src2.qcow2" qcow2 drive0)
sed "s|$T/nbd.sock|$T/gone.sock|" "$T/unix.xml" >"$T/gone.xml"
state vm2 >"$T/state.before"
expect_exit 1 bc vm2 vda --xml "$T/gone.xml" --reuse-external --pivot
expect_grep "error: Copy failed: " "$T/err"
expect_grep "gone.sock" "$T/err"
state vm2 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "a failed copy left something"
exit 0
