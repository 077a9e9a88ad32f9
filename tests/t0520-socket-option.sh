#!/usr/bin/env bash
# -s PATH names the VM for every command: DOMAIN may then be left out, as
# after 'connect' in the shell; a DOMAIN given as well must be that VM.
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

# All three words: the first is DOMAIN, and must be the VM on -s's socket
# (by its name, or by a path or address that leads to the same socket).
expect_exit 0 bc -s "$S" vm1 vda "$T/copy2.qcow2" --finish
images_equal "$T/src.qcow2" "$T/copy2.qcow2"
expect_exit 0 bc -s "$S" job "unix:$T/run/../run/vm1.qmp" vda
# Another VM: refused, naming the VM behind the socket; neither changes.
state vm2 >"$T/vm2.before"
unchanged vm1 bc -s "$S" vm2 vda "$T/copy-vm2.qcow2" --finish
state vm2 | diff -u "$T/vm2.before" - >&2 || fail "vm2 changed"
expect_eq "$(cat "$T/err")" "error: -s '$S' is the monitor of VM 'vm1', not of 'vm2'" \
    "-s with another VM"
[ ! -e "$T/copy-vm2.qcow2" ] || fail "the refused copy created its destination"
unchanged vm1 bc jobs vm2 -s "$S"
expect_grep "is the monitor of VM 'vm1', not of 'vm2'" "$T/err"
# The name comes from QEMU: data, printed escaped.
evil=$'evil\e[31m'
img_create "$T/evil.qcow2" qcow2 16M
vm_start "$evil" $(drive_args "$T/evil.qcow2" qcow2 drive0)
unchanged vm1 bc -s "$(sock "$evil")" jobs vm1
grep -qF "is the monitor of VM 'evil\x1b[31m', not of 'vm1'" "$T/err" ||
    fail "the VM's name is not escaped: $(cat -v "$T/err")"
! grep -q $'\e' "$T/err" || fail "a raw escape reached stderr"
unchanged vm1 bc --json -s "$S" disks vm2
expect_eq "$(jq -r '.exit' "$T/out")" 2 "JSON result of the refusal"

# One word too many is still an error, found before anything changed.
unchanged vm1 bc -s "$S" vm1 vda "$T/copy3.qcow2" extra
expect_grep "unexpected argument 'extra'" "$T/err"
exit 0
