#!/usr/bin/env bash
# A run killed with SIGKILL leaves its copy running in QEMU; a later run
# finds it by the disk and pivots, finishes or aborts it with full
# clean-up.  QEMU dying mid-copy ends the wait at once; a closed stdout
# does not leave a job behind.
. "$(dirname "$0")/lib.sh"
need_qemu

# start_and_kill VM DEST JOB: a waited copy whose tool is killed mid-copy.
start_and_kill() {
    copy_running "$1" "$1" vda "$2" --bandwidth 1M --wait --verbose
    kill -9 $pid
    wait $pid 2>/dev/null
    expect_eq "$(job_ids "$1")" "${3:-bc-drive0}" "the job after kill -9"
}

# Abort path.
img_create "$T/a.qcow2" qcow2 64M 32
vm_start vm1 $(drive_args "$T/a.qcow2" qcow2 drive0)
start_and_kill vm1 "$T/a-copy.qcow2"
expect_exit 0 bc job vm1 vda --info
expect_grep "^Block Copy: " "$T/out"
expect_exit 0 bc job vm1 vda --abort
expect_eq "$(cat "$T/out")" "Copy aborted" "abort"
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(node_names vm1 | grep -c '^bc-')" 0 "tool nodes left"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/a.qcow2" "disk"

# Pivot path on a -blockdev disk: the old chain is released too.
img_create "$T/b.qcow2" qcow2 64M 32 0x77
vm_start vm2 $(blockdev_args "$T/b.qcow2" qcow2 disk0)
start_and_kill vm2 "$T/b-copy.qcow2" bc-virtio-disk0
expect_exit 0 bc job vm2 vda --bandwidth 0
expect_exit 0 bc job vm2 vda --wait --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "pivot"
images_equal "$T/b.qcow2" "$T/b-copy.qcow2"
expect_eq "$(disk_file vm2 virtio-disk0)" "$T/b-copy.qcow2" "disk"
not_in_use "$T/b.qcow2"
expect_eq "$(node_names vm2 | tr '\n' ' ')" "bc-virtio-disk0-f1 bc-virtio-disk0-t1 " "nodes"
expect_eq "$(job_ids vm2)" "" "jobs left"

# Finish path.
img_create "$T/c.qcow2" qcow2 64M 32
vm_start vm3 $(drive_args "$T/c.qcow2" qcow2 drive0)
start_and_kill vm3 "$T/c-copy.qcow2"
expect_exit 0 bc job vm3 vda --bandwidth 0
expect_exit 0 bc job vm3 vda --wait --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "finish"
images_equal "$T/c.qcow2" "$T/c-copy.qcow2"
expect_eq "$(node_names vm3 | grep -c '^bc-')" 0 "tool nodes left"

# Killed while it created the destination: an ended creation job and an
# unused node are left; the next copy cleans them up and goes on.
qmp vm3 blockdev-create "{\"job-id\": \"bc-drive0-create\", \"options\":
    {\"driver\": \"file\", \"filename\": \"$T/left.img\", \"size\": 0}}" >/dev/null
for _ in $(seq 50); do
    [ "$(qmp vm3 query-jobs | jq -r '.[0].status')" = concluded ] && break
    sleep 0.1
done
qmp vm3 blockdev-add "{\"driver\": \"file\", \"node-name\": \"bc-drive0-f1\",
    \"filename\": \"$T/left.img\"}" >/dev/null
unchanged vm3 bc vm3 vda "$T/left.img"
expect_exit 0 bc vm3 vda "$T/c-copy2.qcow2" --pivot
expect_grep "cleaned up block job 'bc-drive0-create'" "$T/err"
expect_eq "$(job_ids vm3)" "" "jobs left"
# The names of the leftovers' nodes are free again; a number an fd set
# QEMU still lists names is skipped.
case $(node_names vm3 | tr '\n' ' ') in
"bc-drive0-f1 bc-drive0-t1 "|"bc-drive0-f2 bc-drive0-t2 ") ;;
*) fail "nodes: $(node_names vm3 | tr '\n' ' ')" ;;
esac
expect_eq "$(disk_file vm3 virtio-disk0)" "$T/c-copy2.qcow2" "disk"

# QEMU killed while the tool waits: it notices at once, says so, exits 1.
img_create "$T/d.qcow2" qcow2 64M 32
vm_start vm4 $(drive_args "$T/d.qcow2" qcow2 drive0)
copy_running vm4 vm4 vda "$T/d-copy.qcow2" --bandwidth 1M --wait
start=$(date +%s%N)
kill -9 "$(vm_pid vm4)"
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "the tool still waits for a QEMU that is gone"
wait $pid
expect_eq "$?" 1 "exit status when QEMU went away"
note "noticed QEMU's death after $(( ($(date +%s%N) - start) / 1000000 )) ms"
expect_grep "error: QEMU went away while block job 'bc-drive0' was running" "$T/err"

# A closed stdout: the copy still ends, and no job is left behind.
img_create "$T/e.qcow2" qcow2 64M 8
vm_start vm5 $(drive_args "$T/e.qcow2" qcow2 drive0)
"$BLOCKCOPY" --json vm5 vda "$T/e-copy.qcow2" --bandwidth 4M --pivot 2>/dev/null | true
expect_eq "$(job_ids vm5)" "" "jobs left after a closed stdout"
expect_eq "$(disk_file vm5 virtio-disk0)" "$T/e-copy.qcow2" "disk after a closed stdout"
exit 0
