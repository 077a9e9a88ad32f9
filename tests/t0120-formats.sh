#!/usr/bin/env bash
# The destination's format: the source's by default, or --format / --raw.
. "$(dirname "$0")/lib.sh"
need_qemu

fmt() { "$QEMU_IMG" info -U --output=json "$1" | jq -r .format; }
vsize() { "$QEMU_IMG" info -U --output=json "$1" | jq -r '."virtual-size"'; }

# qcow2 source, raw destination.
img_create "$T/a.qcow2" qcow2 128M 8 0x11
vm_start vm1 $(drive_args "$T/a.qcow2" qcow2 drive0)
expect_exit 0 bc vm1 vda "$T/a.raw" --raw --pivot
expect_eq "$(fmt "$T/a.raw")" raw "format"
expect_eq "$(vsize "$T/a.raw")" 134217728 "size"
images_equal "$T/a.qcow2" "$T/a.raw"
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted.drv')" raw "driver"

# raw source, qcow2 destination.
img_create "$T/b.raw" raw 64M 8 0x22
vm_start vm2 $(drive_args "$T/b.raw" raw drive0)
expect_exit 0 bc vm2 vda "$T/b.qcow2" --format qcow2 --pivot
expect_eq "$(fmt "$T/b.qcow2")" qcow2 "format"
images_equal "$T/b.raw" "$T/b.qcow2"

# The default is the source's format, with its cluster size.
"$QEMU_IMG" create -q -f qcow2 -o cluster_size=128k "$T/c.qcow2" 64M
vm_start vm3 $(drive_args "$T/c.qcow2" qcow2 drive0)
expect_exit 0 bc vm3 vda "$T/c-copy" --pivot
expect_eq "$(fmt "$T/c-copy")" qcow2 "format"
expect_eq "$("$QEMU_IMG" info -U --output=json "$T/c-copy" | jq -r '."cluster-size"')" 131072 "cluster size"

# An unknown format is refused before anything happens.
unchanged vm3 bc vm3 vda "$T/d.img" --format qcow9
expect_grep "unknown or unsupported destination format 'qcow9'" "$T/err"
exit 0
