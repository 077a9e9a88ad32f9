#!/usr/bin/env bash
# A new image whose name says a format (vm1.qcow2) gets that format when
# --format does not say otherwise; other names get the source's.  A
# directory as DEST is refused as one.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.raw" raw 16M 2
vm_start vm1 $(drive_args "$T/src.raw" raw drive0)
fmt() { "$QEMU_IMG" info -U --output=json "$1" | jq -r .format; }

expect_exit 0 bc vm1 vda "$T/c.qcow2" --finish
expect_eq "$(fmt "$T/c.qcow2")" qcow2 "format of c.qcow2"
images_equal "$T/src.raw" "$T/c.qcow2"

expect_exit 0 bc vm1 vda "$T/c.img" --finish
expect_eq "$(fmt "$T/c.img")" raw "format of c.img (the source's)"

expect_exit 0 bc vm1 vda "$T/c2.qcow2" --format raw --finish
expect_eq "$(fmt "$T/c2.qcow2")" raw "format of c2.qcow2 with --format raw"

expect_exit 0 bc vm1 vda "$T/c.vmdk" --print-xml
expect_grep "<driver type=\"vmdk\"/>" "$T/out"

mkdir "$T/dir"
unchanged vm1 bc vm1 vda "$T/dir"
expect_eq "$(cat "$T/err")" "error: destination '$T/dir' is a directory" "directory as DEST"
unchanged vm1 bc vm1 vda "$T/dir" --reuse-external
expect_grep "is a directory" "$T/err"
