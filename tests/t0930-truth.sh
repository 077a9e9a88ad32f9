#!/usr/bin/env bash
# What the tool reports is what QEMU shows, also when a reply comes late,
# an event is stale, or a pivot was asked for and nobody waited: each case
# once made the tool report "copied" for a half copy, "aborted" for a
# pivoted disk, or unlink a file QEMU still wrote.
# run-tests: start early
. "$(dirname "$0")/lib.sh"
need_qemu

# A 64 MiB disk with 16 MiB of data: the copy takes a few seconds at 4M.
fresh_vm() {
    img_create "$T/$1.qcow2" qcow2 64M 16 "${3:-0xab}"
    case ${2:-drive} in
    drive) vm_start "$1" $(drive_args "$T/$1.qcow2" qcow2 drive0) ;;
    blockdev) vm_start "$1" $(blockdev_args "$T/$1.qcow2" qcow2 disk0) ;;
    esac
}

# 1. A stale event ends no new copy.  A concluded job of the tool's is
# left behind (an abort that was only requested); the next copy into an
# existing image (no image creation drains the queue) dismisses it, and
# QEMU's "null" event for that dismissal, then an injected stale end, must
# not end the new mirror.
fresh_vm vm1
expect_exit 1 bc vm1 vda "$T/vm1-a.qcow2" --bandwidth 64K --timeout 1 --async
expect_eq "$(cat "$T/out")" "Copy aborted" "abort requested"
for _ in $(seq 50); do
    [ "$(qmp vm1 query-jobs | jq -r '.[0].status')" = concluded ] && break
    sleep 0.1
done
expect_eq "$(job_ids vm1)" "bc-drive0" "the concluded job left"
"$QEMU_IMG" create -q -f qcow2 "$T/vm1-b.qcow2" 64M
proxy_start vm1 --fault event-after --command blockdev-mirror --event \
    '{"event": "BLOCK_JOB_COMPLETED", "data": {"device": "bc-drive0", "type": "mirror", "len": 1, "offset": 1, "speed": 0}}'
expect_exit 0 bc "$px" vda "$T/vm1-b.qcow2" --reuse-external --bandwidth 8M --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "finish after a stale end"
grep -qx "fired event-after blockdev-mirror 1" "$T/px-vm1.log" || fail "no stale event injected"
images_equal "$T/vm1.qcow2" "$T/vm1-b.qcow2"
expect_eq "$(tool_leftovers vm1)" "" "left in vm1"
proxy_stop vm1

# The same with --pivot, the stale event a dismissal.
fresh_vm vm1b
"$QEMU_IMG" create -q -f qcow2 "$T/vm1b-b.qcow2" 64M
proxy_start vm1b --fault event-before --command blockdev-mirror --event \
    '{"event": "JOB_STATUS_CHANGE", "data": {"id": "bc-drive0", "status": "null"}}'
expect_exit 0 bc "$px" vda "$T/vm1b-b.qcow2" --reuse-external --bandwidth 8M --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "pivot after a stale dismissal"
expect_eq "$(disk_file vm1b virtio-disk0)" "$T/vm1b-b.qcow2" "disk after pivot"
images_equal "$T/vm1b.qcow2" "$T/vm1b-b.qcow2"
proxy_stop vm1b

# 2. A late blockdev-mirror reply: QEMU started the mirror, so the copy
# goes on; the file it writes is never unlinked.
export BLOCKCOPY_COMMAND_TIMEOUT_MS=600
fresh_vm vm2
proxy_start vm2 --fault hold --command blockdev-mirror --hold-ms 1500
expect_exit 0 bc "$px" vda "$T/vm2-copy.qcow2" --bandwidth 8M --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "pivot after a late mirror reply"
expect_grep "answered 'blockdev-mirror' late" "$T/err"
expect_eq "$(disk_file vm2 virtio-disk0)" "$T/vm2-copy.qcow2" "disk"
images_equal "$T/vm2.qcow2" "$T/vm2-copy.qcow2"
no_deleted_files vm2
proxy_stop vm2

# 3. A late job-complete reply is no timeout of the user's: the pivot is
# reported as the pivot it was.
fresh_vm vm3
proxy_start vm3 --fault hold --command job-complete --hold-ms 1500
expect_exit 0 bc "$px" vda "$T/vm3-copy.qcow2" --bandwidth 8M --timeout 60 --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "late job-complete"
expect_eq "$(disk_file vm3 virtio-disk0)" "$T/vm3-copy.qcow2" "disk"
images_equal "$T/vm3.qcow2" "$T/vm3-copy.qcow2"
expect_eq "$(tool_leftovers vm3 bc-drive0-f1 bc-drive0-t1)" "" "left in vm3"
proxy_stop vm3

# ... and one slow progress query aborts no copy.
fresh_vm vm3b
proxy_start vm3b --fault hold --command query-block-jobs --nth 4 --hold-ms 1500
expect_exit 0 bc "$px" vda "$T/vm3b-copy.qcow2" --bandwidth 4M --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "slow progress query"
grep -qx "fired hold query-block-jobs 4" "$T/px-vm3b.log" || fail "no query held"
images_equal "$T/vm3b.qcow2" "$T/vm3b-copy.qcow2"
proxy_stop vm3b
unset BLOCKCOPY_COMMAND_TIMEOUT_MS

# 4. job --pivot --async: the next command on the disk says it pivoted and
# closes the old image.
fresh_vm vm4 blockdev
expect_exit 0 bc vm4 vda "$T/vm4-copy.qcow2"
wait_job_status vm4 ready
expect_exit 0 bc job vm4 vda --pivot --async
for _ in $(seq 50); do
    [ "$(qmp vm4 query-jobs | jq -r '.[0].status')" = concluded ] && break
    sleep 0.1
done
expect_exit 0 bc job vm4 vda --abort
expect_eq "$(cat "$T/out")" "Successfully pivoted" "a later job on a pivoted disk"
not_in_use "$T/vm4.qcow2"
expect_eq "$(disk_file vm4 virtio-disk0)" "$T/vm4-copy.qcow2" "disk"
expect_eq "$(node_names vm4 | tr '\n' ' ')" "bc-virtio-disk0-f1 bc-virtio-disk0-t1 " "nodes"
expect_eq "$(tool_leftovers vm4 bc-virtio-disk0-f1 bc-virtio-disk0-t1)" "" "left in vm4"

# ... and when the job is gone too (another client dismissed it), the
# next command still closes the old image, with a line that says so.
fresh_vm vm4b blockdev
expect_exit 0 bc vm4b vda "$T/vm4b-copy.qcow2"
wait_job_status vm4b ready
expect_exit 0 bc job vm4b vda --pivot --async
for _ in $(seq 50); do
    qmp vm4b job-dismiss '{"id": "bc-virtio-disk0"}' >/dev/null 2>&1 && break
    sleep 0.1
done
expect_exit 0 bc jobs vm4b
expect_grep "disk 'vda' had pivoted to its copy with nobody waiting: closed its old image" "$T/err"
not_in_use "$T/vm4b.qcow2"
expect_eq "$(tool_leftovers vm4b bc-virtio-disk0-f1 bc-virtio-disk0-t1)" "" "left in vm4b"

# 5. --timeout is a whole number of seconds a wait can count.
fresh_vm vm5
for t in 4294968 2147484 99999999999; do
    unchanged vm5 bc vm5 vda "$T/vm5-copy.qcow2" --timeout $t
done
expect_err "error: invalid --timeout '99999999999': expected a whole number greater than 0"
unchanged vm5 bc vm5 vda "$T/vm5-copy.qcow2" --timeout 2147484
expect_err "error: --timeout 2147484 is too large: at most 2147483 seconds"
unchanged vm5 bc job vm5 vda --wait --timeout 4294968

# 6. A monitor held by another client, and probes that gave up queueing
# behind it: every later call ends after its timeouts, none hangs.
"$QMPC" "$(sock vm5)" --hold 60 &
BG_PIDS+=($!)
wait_held "$(sock vm5)"
for _ in 1 2 3 4; do
    BLOCKCOPY_GREETING_TIMEOUT_MS=300 expect_exit 1 bc_limited 20 disks "$(sock vm5)"
    expect_grep "is held by pid [0-9]* (python3)" "$T/err"
done
# By its name the VM is reached through its other, free monitor.
expect_exit 0 bc_limited 20 disks vm5

# term_during VM COMMAND HOLD-MS [DELAY]: a copy of VM with --pivot
# through a proxy that holds the reply to COMMAND for HOLD-MS, SIGTERM'd
# DELAY seconds after the proxy forwarded COMMAND; $rc is its exit status.
term_during() {
    proxy_start "$1" --fault hold --command "$2" --hold-ms "$3"
    "$BLOCKCOPY" "$px" vda "$T/$1-copy.qcow2" --pivot >"$T/out" 2>"$T/err" &
    pid=$!
    BG_PIDS+=($pid)
    proxy_wait_for "$1" "cmd $2"
    [ -z "${4:-}" ] || sleep "$4"
    kill -TERM $pid
    wait $pid
    rc=$?
}

# 8. SIGTERM while the destination is being created: the creation job is
# ended, and nothing of the copy is left.
fresh_vm vm8
export BLOCKCOPY_COMMAND_TIMEOUT_MS=800
term_during vm8 blockdev-create 2000 0.4
expect_eq "$rc" 1 "exit status after SIGTERM during creation"
expect_grep "interrupted" "$T/err"
[ ! -e "$T/vm8-copy.qcow2" ] || fail "the interrupted copy left its file"
expect_eq "$(tool_leftovers vm8)" "" "left in vm8"
expect_eq "$(disk_file vm8 virtio-disk0)" "$T/vm8.qcow2" "disk"
proxy_stop vm8

# SIGTERM while the reply to blockdev-mirror is late, but within the
# tool's timeout: the answer, READY and every step after it come without
# a pause, and the signal, pending all along, must still abort the copy
# rather than let a pivot be asked.
fresh_vm vm8c
export BLOCKCOPY_COMMAND_TIMEOUT_MS=5000
term_during vm8c blockdev-mirror 1500
expect_eq "$rc" 1 "exit status after SIGTERM with a reply late"
expect_eq "$(cat "$T/out")" "Copy aborted" "SIGTERM before the pivot"
grep -q "job-complete" "$T/px-vm8c.log" && fail "a pivot was asked after SIGTERM"
expect_eq "$(disk_file vm8c virtio-disk0)" "$T/vm8c.qcow2" "disk"
expect_eq "$(tool_leftovers vm8c)" "" "left in vm8c"
proxy_stop vm8c
export BLOCKCOPY_COMMAND_TIMEOUT_MS=800

# SIGTERM while the pivot is under way (its reply held back): the tool
# says that how it ends is not known yet, and the command that tells;
# that command then says it pivoted.
fresh_vm vm8b
term_during vm8b job-complete 2500
expect_eq "$rc" 1 "exit status after SIGTERM during the pivot"
expect_grep "interrupted while the pivot of block job 'bc-drive0' was under way" "$T/err"
expect_grep "hint: 'blockcopy job unix:$px vda'" "$T/err"
grep -q "Copy aborted" "$T/out" && fail "a pivot under way was called aborted"
unset BLOCKCOPY_COMMAND_TIMEOUT_MS
proxy_stop vm8b
expect_exit 0 bc job vm8b vda --wait
expect_eq "$(cat "$T/out")" "Successfully pivoted" "the settling command"
expect_eq "$(disk_file vm8b virtio-disk0)" "$T/vm8b-copy.qcow2" "disk"
expect_eq "$(tool_leftovers vm8b bc-drive0-f1 bc-drive0-t1)" "" "left in vm8b"
exit 0
