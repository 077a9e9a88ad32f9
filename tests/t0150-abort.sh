#!/usr/bin/env bash
# A copy that does not finish: --timeout, and SIGINT, SIGTERM, SIGHUP while
# waiting, abort it, clean up, and leave the VM on its source.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 256M 64
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

clean() {
    expect_eq "$(job_ids vm1)" "" "jobs left ($1)"
    expect_eq "$(node_names vm1 | grep -c '^bc-')" "0" "tool nodes left ($1)"
    expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk ($1)"
}

expect_exit 1 bc vm1 vda "$T/t.qcow2" --bandwidth 1M --timeout 1 --verbose
expect_eq "$(cat "$T/out")" "Copy aborted" "stdout after timeout"
clean timeout

for sig in INT TERM HUP; do
    rm -f "$T/s.qcow2"
    copy_running vm1 vm1 vda "$T/s.qcow2" --bandwidth 1M --wait
    kill -$sig $pid
    wait $pid
    expect_eq "$?" 1 "exit after SIG$sig"
    expect_eq "$(cat "$T/out")" "Copy aborted" "stdout after SIG$sig"
    clean "SIG$sig"
done

# --async requests the abort and returns; the next run cleans up what the
# cancelled job left.
copy_running vm1 vm1 vda "$T/a.qcow2" --bandwidth 1M --wait --async
kill -INT $pid
wait $pid
expect_eq "$?" 1 "exit after --async abort"
expect_eq "$(cat "$T/out")" "Copy aborted" "stdout after --async abort"
wait_job_status vm1 concluded
expect_exit 0 bc vm1 vda "$T/b.qcow2" --pivot
expect_grep "cleaned up" "$T/err"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/b.qcow2" "disk after the next copy"
expect_eq "$(job_ids vm1)" "" "jobs left"

# The job-* command where QEMU has one: an abort is job-cancel; finishing
# a ready mirror (a cancel that keeps the copy) exists only as
# block-job-cancel without force.
proxy_start vm1
expect_exit 1 bc unix:$px vda "$T/c.qcow2" --bandwidth 1M --timeout 1
expect_eq "$(grep -c '^cmd job-cancel$' "$T/px-vm1.log")" 1 "job-cancel"
expect_exit 0 bc unix:$px vda "$T/d.qcow2" --finish
expect_eq "$(grep -c '^cmd block-job-cancel$' "$T/px-vm1.log")" 1 \
    "block-job-cancel"
proxy_stop vm1
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/b.qcow2" "disk at the end"
exit 0
