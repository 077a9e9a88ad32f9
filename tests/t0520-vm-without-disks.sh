#!/usr/bin/env bash
# A VM without a single disk: 'disks' shows an empty table (this passed
# NULL to qsort(), which UBSan reports) and a copy is refused as usage.
. "$(dirname "$0")/lib.sh"
need_qemu

vm_start vm1
expect_exit 0 bc_limited 30 disks "$(sock vm1)"
expect_eq "$(wc -l <"$T/out")" "1" "lines of the table"
expect_grep "^Target" "$T/out"
expect_exit 0 bc_limited 30 --json disks "$(sock vm1)"
expect_eq "$(jq -c . "$T/out")" "[]" "JSON"
expect_exit 2 bc_limited 30 "$(sock vm1)" vda "$T/dst.qcow2" --wait
[ ! -e "$T/dst.qcow2" ] || fail "a refused copy created $T/dst.qcow2"
exit 0
