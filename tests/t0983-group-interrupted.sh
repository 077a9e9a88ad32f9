#!/usr/bin/env bash
# A group copy stopped before its switch leaves nothing: a SIGINT while
# the copies run rolls every one back (the VM on its sources, no file or
# node left, the guest running).  Killed outright at the worst moment,
# with the guest paused for the switch, the run leaves its mark, and the
# next command on the VM resumes the guest.  A copy that stops being
# ready while it waits for the others (another client cancels it) rolls
# the group back instead of a switch of half the disks.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/a.qcow2" qcow2 64M 16 0x5a
img_create "$T/b.qcow2" qcow2 64M 40 0xb5
cp "$T/a.qcow2" "$T/a.ref"
cp "$T/b.qcow2" "$T/b.ref"
vm_start vm1 $(drive_args "$T/a.qcow2" qcow2 drive0 virtio-disk0) \
    $(drive_args "$T/b.qcow2" qcow2 drive1 virtio-disk1)
qmp vm1 cont >/dev/null
mkdir "$T/dir" "$T/dir2"

# SIGINT while both copies are in their first pass.
"$BLOCKCOPY" vm1 vda,vdb --dest-dir "$T/dir" --pivot --bandwidth 1M >"$T/out" 2>"$T/err" &
pid=$!
for i in $(seq 1 300); do
    [ "$(qmp vm1 query-jobs | jq '[.[] | select(.type == "mirror")] | length')" = 2 ] && break
    sleep 0.1
done
[ "$i" -lt 300 ] || fail "the two copies never ran"
kill -INT "$pid"
wait "$pid"
expect_eq "$?" 1 "exit status after SIGINT"
expect_grep "vda: Copy aborted" "$T/out"
expect_grep "vdb: Copy aborted" "$T/out"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/a.qcow2" "vda after SIGINT"
expect_eq "$(disk_file vm1 virtio-disk1)" "$T/b.qcow2" "vdb after SIGINT"
images_equal "$T/a.ref" "$T/a.qcow2"
images_equal "$T/b.ref" "$T/b.qcow2"
expect_eq "$(tool_leftovers vm1)" "" "leftovers after SIGINT"
expect_eq "$(ls -A "$T/dir")" "" "files left after SIGINT"
expect_eq "$(qmp vm1 query-status | jq -r .status)" running "the guest after SIGINT"

# Killed the moment the guest is paused for the switch.
proxy_start vm1 --fault kill-after --command stop
expect_exit 137 bc "$px" vda,vdb --dest-dir "$T/dir2" --pivot
proxy_wait_for vm1 "cmd stop"
proxy_stop vm1
expect_eq "$(qmp vm1 query-status | jq -r .status)" paused "the guest after the kill"
pause_mark vm1 ||
    fail "no mark of the pause"
# The next command on the VM resumes it, and says so.
expect_exit 0 bc jobs vm1
expect_grep "resumed the guest" "$T/err"
expect_eq "$(qmp vm1 query-status | jq -r .status)" running "the guest after the next command"
pause_mark vm1 &&
    fail "the mark of the pause is still there"
# The copies the killed run left are still the VM's to end.
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/a.qcow2" "vda after the kill"
expect_exit 0 bc job vm1 vda --abort
expect_exit 0 bc job vm1 vdb --abort
expect_eq "$(tool_leftovers vm1)" "" "leftovers after the abort"

# vda is ready at once, vdb copies 40 MiB at 4 MiB/s; another client
# cancels vda's copy while it waits.
mkdir "$T/dir3"
"$BLOCKCOPY" vm1 vda,vdb --dest-dir "$T/dir3" --pivot --bandwidth 4M >"$T/out" 2>"$T/err" &
pid=$!
for i in $(seq 1 300); do
    [ "$(qmp vm1 query-jobs | jq -r '.[] | select(.id == "bc-drive0") | .status')" = ready ] && break
    sleep 0.1
done
[ "$i" -lt 300 ] || { cat "$T/out" "$T/err" >&2; qmp vm1 query-jobs >&2; fail "vda's copy never got ready"; }
[ "$(qmp vm1 query-jobs | jq -r '.[] | select(.id == "bc-drive1") | .status')" = running ] ||
    fail "vdb's copy was not in its first pass any more"
qmp vm1 job-cancel '{"id": "bc-drive0"}' >/dev/null
wait "$pid"
expect_eq "$?" 1 "exit status after a copy stopped being ready"
expect_grep "no longer ready" "$T/err"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/a.qcow2" "vda after the cancel"
expect_eq "$(disk_file vm1 virtio-disk1)" "$T/b.qcow2" "vdb after the cancel"
expect_eq "$(tool_leftovers vm1)" "" "leftovers after the cancel"
expect_eq "$(ls -A "$T/dir3")" "" "files left after the cancel"
expect_eq "$(qmp vm1 query-status | jq -r .status)" running "the guest after the cancel"
exit 0
