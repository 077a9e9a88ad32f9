#!/usr/bin/env bash
# A block device as the destination, as virsh users give it: --blockdev
# with --reuse-external, or <disk type='block'>.  A device larger than the
# disk is used for the disk's size only, so the guest's disk does not grow.
. "$(dirname "$0")/lib.sh"
need_qemu

# loop_dev FILE SIZE: a loop device over a new FILE, in $dev.
loop_dev() {
    truncate -s "$2" "$1"
    dev=$(losetup -f --show "$1" 2>/dev/null) || return 1
    AT_EXIT+=("losetup -d $dev")
}
if ! loop_dev "$T/lo1.img" 64M; then
    note "no loop devices here (root and the loop driver are needed): skipped"
    exit 0
fi
dev1=$dev
loop_dev "$T/lo2.img" 80M || fail "a second loop device"
dev2=$dev

img_create "$T/src.qcow2" qcow2 64M 24 0x4e
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

unchanged vm1 bc vm1 vda "$dev1" --blockdev --raw
expect_grep "destination '$dev1' already exists; use --reuse-external" "$T/err"
unchanged vm1 bc vm1 vda "$dev1" --raw --reuse-external
expect_grep "is a block device; use --blockdev" "$T/err"

expect_exit 0 bc vm1 vda "$dev1" --blockdev --reuse-external --raw --wait --finish
images_equal "$T/src.qcow2" "$dev1"

# Larger than the disk, through the XML, with a pivot.
cat >"$T/block.xml" <<XML
<disk type='block' device='disk'>
  <driver name='qemu' type='raw' cache='none'/>
  <source dev='$dev2'/>
  <target dev='vdb' bus='virtio'/>
</disk>
XML
expect_exit 0 bc vm1 vda --xml "$T/block.xml" --reuse-external --wait --pivot
# A raw node with a size shows as a json: file name; the device is in it.
case $(disk_file vm1 virtio-disk0) in
*"\"$dev2\""*) ;;
*) fail "disk after pivot: $(disk_file vm1 virtio-disk0)" ;;
esac
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted.image."virtual-size"')" \
    67108864 "the disk's size after the pivot"
"$QEMU_IMG" compare -U -q "$T/src.qcow2" "json:{\"driver\": \"raw\", \"size\": 67108864,
    \"file\": {\"driver\": \"host_device\", \"filename\": \"$dev2\"}}" ||
    fail "the copy on $dev2 differs"

# The disk on a device: shown and named by the device's path, however
# QEMU names the node, and never a copy onto that device under any of
# its names.
expect_exit 0 bc disks vm1
expect_grep "^vda .* $dev2$" "$T/out"
expect_exit 0 bc job vm1 "$dev2"
expect_eq "$(cat "$T/out")" "No current block job for $dev2" "the disk by its device"
unchanged vm1 bc vm1 vda "$dev2" --blockdev --reuse-external --raw
expect_grep "destination '$dev2' is the disk's own image" "$T/err"
ln -s "$dev2" "$T/dev2-link"
unchanged vm1 bc vm1 vda "$T/dev2-link" --blockdev --reuse-external --raw
expect_grep "destination '$T/dev2-link' is the disk's own image" "$T/err"
mknod "$T/dev2-node" b "$(stat -c '%t' "$dev2" | xargs printf '%d')" \
    "$(stat -c '%T' "$dev2" | xargs printf '%d')"
unchanged vm1 bc vm1 vda "$T/dev2-node" --blockdev --reuse-external --raw
expect_grep "destination '$T/dev2-node' is the disk's own image" "$T/err"
exit 0
