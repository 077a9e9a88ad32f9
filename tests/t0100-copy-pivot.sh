#!/usr/bin/env bash
# The first vertical slice: a live copy with pivot, for -drive and
# -blockdev disks, addressed by drive id and by node name.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 1G 64

# -drive style, by drive id.
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
expect_exit 0 bc "$(sock vm1)" drive0 "$T/dst.qcow2" --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
expect_grep "Block Copy: \[100 %\]" "$T/err"
images_equal "$T/src.qcow2" "$T/dst.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/dst.qcow2" "disk after pivot"
not_in_use "$T/src.qcow2"
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(node_names vm1 | tr '\n' ' ')" "bc-drive0-f1 bc-drive0-t1 " "nodes"

# -blockdev style, by node name: the old chain's nodes are released.
img_create "$T/src2.qcow2" qcow2 1G 32 0xcd
vm_start vm2 $(blockdev_args "$T/src2.qcow2" qcow2 disk0)
expect_exit 0 bc "$(sock vm2)" disk0 "$T/dst2.qcow2" --wait --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
images_equal "$T/src2.qcow2" "$T/dst2.qcow2"
expect_eq "$(disk_file vm2 virtio-disk0)" "$T/dst2.qcow2" "disk after pivot"
not_in_use "$T/src2.qcow2"
expect_eq "$(node_names vm2 | tr '\n' ' ')" "bc-virtio-disk0-f1 bc-virtio-disk0-t1 " "nodes"
exit 0
