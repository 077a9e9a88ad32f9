#!/usr/bin/env bash
# QEMU refuses the destination after the tool had it create the file: the
# file it made is removed again and the VM is as it was.
. "$(dirname "$0")/lib.sh"
need_qemu

# A VHD image cannot hold 3 TiB; QEMU finds out while formatting it.
"$QEMU_IMG" create -q -f qcow2 "$T/big.qcow2" 3T
vm_start vm1 $(drive_args "$T/big.qcow2" qcow2 drive0)
state vm1 >"$T/state.before"
expect_exit 1 bc vm1 vda "$T/big.vhd" --format vpc --pivot
expect_grep "error: Copy failed: cannot create '$T/big.vhd': " "$T/err"
[ ! -e "$T/big.vhd" ] || fail "the half-created file was left"
state vm1 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "the VM changed"
exit 0
