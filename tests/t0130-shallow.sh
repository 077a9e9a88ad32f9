#!/usr/bin/env bash
# --shallow copies only the top image; the copy keeps the backing file.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/base.qcow2" qcow2 128M 32 0x11
"$QEMU_IMG" create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/top.qcow2"
"$QEMU_IO" -f qcow2 -c "write -P 0x22 64M 8M" "$T/top.qcow2" >/dev/null

vm_start vm1 $(drive_args "$T/top.qcow2" qcow2 drive0)
expect_exit 0 bc vm1 vda "$T/copy.qcow2" --shallow --wait --pivot
info=$("$QEMU_IMG" info -U --output=json "$T/copy.qcow2")
expect_eq "$(echo "$info" | jq -r '."backing-filename"')" "$T/base.qcow2" "backing file"
expect_eq "$(echo "$info" | jq -r '."backing-filename-format"')" qcow2 "backing format"
# Only the top's 8 MiB were copied (allowing for metadata).
alloc=$("$QEMU_IMG" map -U --output=json "$T/copy.qcow2" |
    jq '[.[] | select(.depth == 0 and .data) | .length] | add // 0')
expect_eq "$alloc" 8388608 "data in the copy's top"
# The guest sees the same disk: top over base.
images_equal "$T/top.qcow2" "$T/copy.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/copy.qcow2" "disk after pivot"
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted.image."backing-image".filename')" \
    "$T/base.qcow2" "backing in use"
not_in_use "$T/top.qcow2"

# A full copy of the same chain has no backing file.
img_create "$T/base2.qcow2" qcow2 128M 32 0x33
"$QEMU_IMG" create -q -f qcow2 -b "$T/base2.qcow2" -F qcow2 "$T/top2.qcow2"
vm_start vm2 $(drive_args "$T/top2.qcow2" qcow2 drive0)
expect_exit 0 bc vm2 vda "$T/full.qcow2" --pivot
expect_eq "$("$QEMU_IMG" info -U --output=json "$T/full.qcow2" | jq -r '."backing-filename" // "none"')" none "backing of a full copy"
images_equal "$T/top2.qcow2" "$T/full.qcow2"

# A shallow copy into a raw file the tool would create is refused.
img_create "$T/base3.qcow2" qcow2 64M
"$QEMU_IMG" create -q -f qcow2 -b "$T/base3.qcow2" -F qcow2 "$T/top3.qcow2"
vm_start vm3 $(drive_args "$T/top3.qcow2" qcow2 drive0)
unchanged vm3 bc vm3 vda "$T/x.raw" --shallow --raw --pivot
expect_grep "a shallow copy keeps the backing file" "$T/err"
exit 0
