#!/usr/bin/env bash
# A copy started without --wait is driven by later runs; a disk that is
# busy refuses a second copy; bandwidth reaches QEMU at both limits.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 8
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

expect_exit 0 bc vm1 vda "$T/c.qcow2" --bandwidth 1 --bytes
expect_eq "$(cat "$T/out")" "Block Copy started" "stdout"
[ ! -s "$T/err" ] || fail "--bytes drew a message: $(cat "$T/err")"
expect_eq "$(qmp vm1 query-block-jobs | jq -r '.[0].speed')" 1 "speed"

unchanged vm1 bc vm1 vda "$T/d.qcow2"
expect_grep "disk 'vda' already has a block job: 'bc-drive0' (mirror, running)" "$T/err"
unchanged --exit 1 vm1 bc job vm1 vda --pivot
expect_grep "not ready to pivot yet" "$T/err"

expect_exit 0 bc job vm1 vda --bandwidth 9223372036854775807
# jq would round a number this large: read the digits.
expect_eq "$(qmp vm1 query-block-jobs | grep -o '"speed": [0-9]*')" '"speed": 9223372036854775807' "speed"
wait_job_status vm1 ready
expect_exit 0 bc job vm1 vda --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "job --pivot"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/c.qcow2" "disk after pivot"
images_equal "$T/src.qcow2" "$T/c.qcow2"
not_in_use "$T/src.qcow2"

expect_exit 0 bc vm1 vda "$T/e.qcow2" --bandwidth 9223372036854775807 --pivot

# A copy that waits holds one monitor of the VM; two admins asking at
# once reach it through the other (QEMU serves one client per socket).
copy_running vm1 vm1 vda "$T/f.qcow2" --bandwidth 64K --wait
"$BLOCKCOPY" job vm1 vda --info >"$T/i1" 2>&1 &
p1=$!
"$BLOCKCOPY" job vm1 vda --info >"$T/i2" 2>&1 &
p2=$!
wait $p1 || { cat "$T/i1" >&2; fail "the first job --info beside a waiting copy"; }
wait $p2 || { cat "$T/i2" >&2; fail "the second job --info beside a waiting copy"; }
expect_grep "^Block Copy: \[" "$T/i1"
expect_grep "^Block Copy: \[" "$T/i2"
kill -INT $pid
wait $pid
expect_eq "$(cat "$T/out")" "Copy aborted" "the waiting copy, interrupted"
unchanged vm1 bc vm1 vda "$T/f.qcow2" --bandwidth 9223372036854775808
expect_grep "bandwidth must be less than 9223372036854775808" "$T/err"
unchanged vm1 bc job vm1 vda --info --bandwidth 1
expect_grep "mutually exclusive" "$T/err"
unchanged vm1 bc job vm1 vda --abort
expect_grep "No current block job for vda" "$T/err"

# -s names the monitor: DOMAIN may be left out, or given if it is that
# VM; a name that is not the VM's is refused, naming the VM.
expect_exit 0 bc -s "$(sock vm1)" vda "$T/g.qcow2" --pivot
unchanged vm1 bc -s "$(sock vm1)" anyname vda "$T/h.qcow2" --pivot
expect_grep "is the monitor of VM 'vm1', not of 'anyname'" "$T/err"
expect_exit 0 bc -s "$(sock vm1)" vm1 vda "$T/h.qcow2" --pivot
expect_exit 0 bc --socket "$(sock vm1)" job vda
expect_eq "$(cat "$T/out")" "No current block job for vda" "job with -s"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/h.qcow2" "disk after copies with -s"
exit 0
