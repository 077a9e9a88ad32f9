#!/usr/bin/env bash
# -s PATH names the VM for every command: DOMAIN may then be left out, as
# after 'connect' in the shell, and a DOMAIN given as well changes nothing.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 4 0x5a
img_create "$T/other.qcow2" qcow2 64M 4 0x6b
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
vm_start vm2 $(drive_args "$T/other.qcow2" qcow2 drive0)
S=$(sock vm1)

expect_exit 0 bc -s "$S" job vda
expect_eq "$(cat "$T/out")" "No current block job for vda" "job without DOMAIN"
expect_exit 0 bc --socket="$S" --json disks
expect_eq "$(jq -r '.[0].source' "$T/out")" "$T/src.qcow2" "disks without DOMAIN"

# The default command: DISK DEST after -s.
expect_exit 0 bc -s "$S" vda "$T/copy1.qcow2" --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "copy without DOMAIN"
images_equal "$T/src.qcow2" "$T/copy1.qcow2"

# -s after the command, as every global option may be.
expect_exit 0 bc job vda -s "$S" --info

# All three words: the first is DOMAIN, but the socket is -s's.
expect_exit 0 bc -s "$S" vm2 vda "$T/copy2.qcow2" --finish
images_equal "$T/src.qcow2" "$T/copy2.qcow2"

# One word too many is still an error, found before anything changed.
unchanged vm1 bc -s "$S" vm1 vda "$T/copy3.qcow2" extra
expect_grep "unexpected argument 'extra'" "$T/err"
exit 0
