#!/usr/bin/env bash
# A copy that waits on events finishes correctly while the monitor floods
# it with events of other jobs and devices: fake-qmp sits between the tool
# and a real QEMU and adds thousands of them before every reply and just
# before the job becomes ready, more than the client's event queue holds.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 256M 32
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
fake_qmp flood flood --upstream "$(sock vm1)" --flood 5000 --log "$T/flood.log"

expect_exit 0 bc_limited 300 "$(sock flood)" drive0 "$T/dst.qcow2" --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
expect_grep "Block Copy: \[100 %\]" "$T/err"

# The flood happened.
for i in $(seq 1 100); do
    [ -s "$T/flood.log" ] && break
    sleep 0.1
done
injected=$(sed -n 's/^flood: injected \([0-9]*\) events$/\1/p' "$T/flood.log")
note "fake-qmp injected $injected events"
[ "${injected:-0}" -ge 20000 ] || fail "only ${injected:-0} events injected"

# The copy is right and complete, and nothing of the tool's is left.
images_equal "$T/src.qcow2" "$T/dst.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/dst.qcow2" "disk after pivot"
not_in_use "$T/src.qcow2"
expect_eq "$(job_ids vm1)" "" "jobs left"
exit 0
