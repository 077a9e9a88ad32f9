#!/usr/bin/env bash
# An iSCSI destination (tgt) with CHAP: the LUNs exist at their final
# size, so the copy reuses them raw; the password comes from --secret-file.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start tgt 64M
img_create "$T/src.qcow2" qcow2 64M 16 0x5a
"$QEMU_IO" -f qcow2 -c "write -P 0x77 40M 4M" "$T/src.qcow2" >/dev/null
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

iscsi_xml "$T/lun1.xml" 1
iscsi_xml "$T/lun2.xml" 2

# QEMU cannot create a LUN: without --reuse-external nothing happens.
unchanged vm1 bc vm1 vda --xml "$T/lun1.xml" --secret-file "$tgt_secret" --finish
expect_grep "reuse-external" "$T/err"

# A wrong password: QEMU's reason, the VM as it was.
printf 'wrong' >"$T/bad"
chmod 600 "$T/bad"
state vm1 >"$T/state.before"
expect_exit 1 bc vm1 vda --xml "$T/lun1.xml" --secret-file "$T/bad" --reuse-external --finish
expect_grep "error: Copy failed: .*Authentication failure" "$T/err"
state vm1 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "a failed copy left something"

# --finish onto LUN 1: the copy is the disk, the VM stays on its source.
expect_exit 0 bc vm1 vda --xml "$T/lun1.xml" --secret-file "$tgt_secret" \
    --reuse-external --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
expect_eq "$(tool_leftovers vm1)" "" "left after finish"
images_equal "$T/src.qcow2" "$tgt_lun1"

# --pivot onto LUN 2: the VM runs on the LUN, the source is closed.
expect_exit 0 bc vm1 vda --xml "$T/lun2.xml" --secret-file "$tgt_secret" \
    --reuse-external --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
not_in_use "$T/src.qcow2"
images_equal "$T/src.qcow2" "$tgt_lun2"
qmp vm1 query-block | jq -r '.[0].inserted.file' >"$T/file"
expect_grep "$tgt_iqn" "$T/file"
# A guest write lands on the LUN.
hmp vm1 'qemu-io drive0 "write -P 0x99 1M 64k"' >/dev/null
"$QEMU_IO" -f raw -c "read -P 0x99 1M 64k" "$tgt_lun2" | grep -q 'read 65536/65536' ||
    fail "a guest write after the pivot is not on the LUN"
grep -q chap-Secret-42 "$T/out" "$T/err" "$T"/*.log && fail "the password leaked"
exit 0
