#!/usr/bin/env bash
# --reuse-external copies into an image that exists already.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 8 0x5a
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# A pre-created qcow2 of the same size, format given.
"$QEMU_IMG" create -q -f qcow2 "$T/pre.qcow2" 64M
expect_exit 0 bc vm1 vda "$T/pre.qcow2" --reuse-external --format qcow2 --wait --finish
images_equal "$T/src.qcow2" "$T/pre.qcow2"

# A raw one without --format: the header is probed, with a warning.
truncate -s 64M "$T/pre.raw"
expect_exit 0 bc vm1 vda "$T/pre.raw" --reuse-external --wait --finish
expect_grep "no format given for '$T/pre.raw'; its header says 'raw'" "$T/err"
images_equal "$T/src.qcow2" "$T/pre.raw"
expect_eq "$("$QEMU_IMG" info --output=json "$T/pre.raw" | jq -r .format)" raw "still raw"

# A qcow2 without --format is probed as qcow2.
"$QEMU_IMG" create -q -f qcow2 "$T/pre2.qcow2" 64M
expect_exit 0 bc vm1 vda "$T/pre2.qcow2" --reuse-external --pivot
expect_grep "its header says 'qcow2'" "$T/err"
images_equal "$T/src.qcow2" "$T/pre2.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/pre2.qcow2" "disk after pivot"

# Sizes that differ are refused, and nothing is left behind.
"$QEMU_IMG" create -q -f qcow2 "$T/big.qcow2" 128M
unchanged vm1 bc vm1 vda "$T/big.qcow2" --reuse-external --format qcow2 --pivot
expect_grep "virtual size of 134217728 bytes, but the disk has 67108864" "$T/err"
truncate -s 32M "$T/small.raw"
unchanged vm1 bc vm1 vda "$T/small.raw" --reuse-external --raw --pivot
expect_grep "is smaller than the disk" "$T/err"
truncate -s 65M "$T/large.raw"
unchanged vm1 bc vm1 vda "$T/large.raw" --reuse-external --raw --pivot
expect_grep "is 68157440 bytes, but the disk is 67108864 bytes" "$T/err"

# --reuse-external with a missing destination.
unchanged vm1 bc vm1 vda "$T/missing.qcow2" --reuse-external
expect_grep "does not exist, but --reuse-external needs an existing image" "$T/err"
exit 0
