#!/usr/bin/env bash
# --finish keeps a consistent copy and leaves the VM on its source;
# --wait alone stops in the mirroring phase with the job still running.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 256M 16
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

expect_exit 0 bc vm1 vda "$T/copy.qcow2" --wait --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
images_equal "$T/src.qcow2" "$T/copy.qcow2"
not_in_use "$T/copy.qcow2"
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(node_names vm1 | grep -c '^bc-')" "0" "tool nodes left"

# --wait only: the job stays in the mirroring phase for 'job' to end.
expect_exit 0 bc vm1 vda "$T/copy2.qcow2" --wait
expect_eq "$(cat "$T/out")" "Now in mirroring phase" "stdout"
expect_eq "$(qmp vm1 query-block-jobs | jq -r '.[0].ready')" "true" "ready"
expect_exit 0 bc job vm1 vda --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "job --finish"
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(node_names vm1 | grep -c '^bc-')" "0" "tool nodes left"
images_equal "$T/src.qcow2" "$T/copy2.qcow2"

# Without --wait the copy runs on in QEMU.
expect_exit 0 bc vm1 vda "$T/copy3.qcow2"
expect_eq "$(cat "$T/out")" "Block Copy started" "stdout"
wait_job_status vm1 ready
expect_exit 0 bc job vm1 vda --abort
expect_eq "$(cat "$T/out")" "Successfully copied" "abort of a ready copy"
expect_eq "$(job_ids vm1)" "" "jobs left"
exit 0
