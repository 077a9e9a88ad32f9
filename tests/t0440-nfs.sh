#!/usr/bin/env bash
# An NFS destination (nfs-ganesha): QEMU creates the qcow2 image on the
# server, for a full copy and for a shallow one over a local backing file.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start nfs
img_create "$T/src.qcow2" qcow2 64M 16 0x6b
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# nfs_xml FILE NAME [FORMAT]: $nfs_export/NAME, as libvirt writes it.
nfs_xml() {
    cat >"$1" <<XML
<disk type='network' device='disk'>
  <driver name='qemu' type='${3:-qcow2}'/>
  <source protocol='nfs' name='$nfs_export/$2'>
    <host name='$nfs_host'/>
  </source>
  <target dev='vda' bus='virtio'/>
</disk>
XML
}

# --finish: a qcow2 image created on the server holds the disk.
nfs_xml "$T/finish.xml" finish.qcow2
expect_exit 0 bc vm1 vda --xml "$T/finish.xml" --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
expect_eq "$(tool_leftovers vm1)" "" "left after finish"
expect_eq "$("$QEMU_IMG" info -U --output=json "$nfs_dir/finish.qcow2" | jq -r .format)" qcow2 "format"
# Read back through the server, as QEMU sees it.
images_equal "$T/src.qcow2" "nfs://$nfs_host$nfs_export/finish.qcow2"

# --pivot: the VM runs on the server's image, the source is closed.
nfs_xml "$T/pivot.xml" pivot.qcow2
expect_exit 0 bc vm1 vda --xml "$T/pivot.xml" --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
not_in_use "$T/src.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "nfs://$nfs_host$nfs_export/pivot.qcow2" "disk after pivot"
hmp vm1 'qemu-io drive0 "write -P 0x99 1M 64k"' >/dev/null
"$QEMU_IO" -r -U -f qcow2 -c "read -P 0x99 1M 64k" "$nfs_dir/pivot.qcow2" | grep -q 'read 65536/65536' ||
    fail "a guest write after the pivot is not on the server"

# --shallow: only the top is copied; the copy keeps the local backing file.
img_create "$T/base.qcow2" qcow2 64M 16 0x11
"$QEMU_IMG" create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/top.qcow2"
"$QEMU_IO" -f qcow2 -c "write -P 0x22 32M 4M" "$T/top.qcow2" >/dev/null
vm_start vm2 $(drive_args "$T/top.qcow2" qcow2 drive0)
nfs_xml "$T/shallow.xml" shallow.qcow2
expect_exit 0 bc vm2 vda --xml "$T/shallow.xml" --shallow --pivot
info=$("$QEMU_IMG" info -U --output=json "$nfs_dir/shallow.qcow2")
expect_eq "$(jq -r '."backing-filename"' <<<"$info")" "$T/base.qcow2" "backing file"
alloc=$("$QEMU_IMG" map -U --output=json "$nfs_dir/shallow.qcow2" |
    jq '[.[] | select(.depth == 0 and .data) | .length] | add // 0')
expect_eq "$alloc" 4194304 "data in the copy's top"
images_equal "$T/top.qcow2" "$nfs_dir/shallow.qcow2"
not_in_use "$T/top.qcow2"
exit 0
