#!/usr/bin/env bash
# A raw destination of fixed size larger than the disk (an NBD export or
# an iSCSI LUN, like a block device): the guest still sees its own disk
# size, as the raw node is limited to it, and the copy goes through.  A
# reused raw file larger than the disk is refused before anything
# changes, naming both sizes (t0140).
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 8 0x3c
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
truncate -s 80M "$T/big.raw"
nbd_serve big "addr.type=unix,addr.path=$T/nbd.sock" \
    "driver=file,filename=$T/big.raw,node-name=file0" \
    "driver=raw,file=file0,node-name=fmt0" || fail "no NBD server"
nbd_xml "$T/big.xml" "$T/nbd.sock"

expect_exit 0 bc vm1 vda --xml "$T/big.xml" --reuse-external --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
# The first 64 MiB are the disk's, the rest untouched (zero).
images_equal "$T/src.qcow2" "$T/big.raw"
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted.image."virtual-size"')" \
    67108864 "the size the guest sees"
exit 0
