#!/usr/bin/env bash
# A single copy that fails (no space left in its directory, a small
# tmpfs) leaves nothing of the tool's: the file it created goes with its
# nodes, whether the tool watched the copy fail or a later command finds
# it failed.  A file it did not create (--reuse-external) stays.
. "$(dirname "$0")/lib.sh"
need_qemu

small_dir 8M

img_create "$T/src.qcow2" qcow2 64M 24 0x5a
cp "$T/src.qcow2" "$T/src.ref"
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
# Running: QEMU 7.2 closes the descriptor of a removed fd set only then,
# and the space of the file removed comes back only once it is closed.
qmp vm1 cont >/dev/null

# Watched: the wait sees it fail.
expect_exit 1 bc vm1 vda "$T/small/copy.qcow2" --pivot
expect_grep "No space left on device" "$T/err"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after the failure"
images_equal "$T/src.ref" "$T/src.qcow2"
expect_eq "$(tool_leftovers vm1)" "" "leftovers"
expect_eq "$(ls -A "$T/small")" "" "files left after a watched failure"
no_deleted_files vm1

# Unwatched: the next command on the VM finds it failed and cleans up.
expect_exit 0 bc vm1 vda "$T/small/copy.qcow2"
for i in $(seq 1 100); do
    [ "$(qmp vm1 query-jobs | jq -r '.[0].status // empty')" = concluded ] && break
    sleep 0.1
done
expect_exit 0 bc jobs vm1
expect_grep "had ended with nobody waiting for it: failed" "$T/err"
expect_eq "$(tool_leftovers vm1)" "" "leftovers after settling"
expect_eq "$(ls -A "$T/small")" "" "files left after an unwatched failure"

# Reused: the user's file is the user's.  Made here, not by a QEMU
# program: a QEMU in a chroot (scripts/qemu-chroot) does not see the
# tmpfs mounted after it.
truncate -s 64M "$T/small/mine.raw"
expect_exit 1 bc vm1 vda "$T/small/mine.raw" --format raw --reuse-external --pivot
expect_grep "No space left on device" "$T/err"
[ -e "$T/small/mine.raw" ] || fail "the reused destination was removed"
expect_eq "$(tool_leftovers vm1)" "" "leftovers after the reused copy"
exit 0
