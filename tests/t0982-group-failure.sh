#!/usr/bin/env bash
# One disk of a group fails before the switch: its copy runs out of
# space in DIR, a small tmpfs.  The whole group is aborted: exit 1 with
# QEMU's reason, every disk on its intact source, no job, node, object or
# fd set of the tool's left in QEMU, no file of the copy left in DIR, and
# the guest running if it ran, paused if it was paused, also when the
# other copy was still in its first pass.
. "$(dirname "$0")/lib.sh"
need_qemu

small_dir 16M

# after_failure VM STATUS: the checks of the group's failure.
after_failure() {
    local vm=$1
    expect_grep "No space left on device" "$T/err"
    expect_eq "$(disk_file "$vm" virtio-disk0)" "$T/$vm-a.qcow2" "vda of $vm"
    expect_eq "$(disk_file "$vm" virtio-disk1)" "$T/$vm-b.qcow2" "vdb of $vm"
    images_equal "$T/$vm-a.ref" "$T/$vm-a.qcow2"
    images_equal "$T/$vm-b.ref" "$T/$vm-b.qcow2"
    expect_eq "$(tool_leftovers "$vm")" "" "leftovers in $vm"
    expect_eq "$(ls -A "$T/small")" "" "files left in DIR"
    expect_eq "$(qmp "$vm" query-status | jq -r .status)" "$2" "$vm after the failure"
}

# vm_pair VM A-MIB B-MIB [ARGS]: VM with vda holding A MiB of data and vdb
# B MiB, each also kept as a reference.
vm_pair() {
    local vm=$1 a=$2 b=$3
    img_create "$T/$vm-a.qcow2" qcow2 64M "$a" 0x5a
    img_create "$T/$vm-b.qcow2" qcow2 96M "$b" 0xb5
    cp "$T/$vm-a.qcow2" "$T/$vm-a.ref"
    cp "$T/$vm-b.qcow2" "$T/$vm-b.ref"
    vm_start "$vm" $(drive_args "$T/$vm-a.qcow2" qcow2 drive0 virtio-disk0) \
        $(drive_args "$T/$vm-b.qcow2" qcow2 drive1 virtio-disk1)
}

# 1. A running guest: DIR holds vda's 4 MiB, not vdb's 80.
vm_pair vm1 4 80
qmp vm1 cont >/dev/null
expect_exit 1 timeout 120 "$BLOCKCOPY" copy vm1 --all --dest-dir "$T/small" --pivot
after_failure vm1 running

# 2. A paused guest (-S).  DIR has room for 48 MiB; the copies take 16
# MiB at once (QEMU's buffer), then 2 MiB/s each: vda's 40 MiB are still
# in their first pass when the two fill DIR.
mount -o remount,size=48M "$T/small" || fail "cannot grow the tmpfs"
vm_pair vm2 40 80
copy_running vm2 copy vm2 vda,vdb --dest-dir "$T/small" --finish --bandwidth 2M
while kill -0 $pid 2>/dev/null; do
    qmp vm2 query-jobs | jq -e 'any(.[]; .status == "ready")' >/dev/null &&
        fail "a copy was ready before the failure"
    sleep 0.1
done
wait $pid
rc=$?
[ $rc = 1 ] || { cat "$T/out" "$T/err" >&2; fail "the group's copy exited $rc, expected 1"; }
after_failure vm2 prelaunch
exit 0
