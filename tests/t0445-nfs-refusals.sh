#!/usr/bin/env bash
# An image that exists on an NFS server is never truncated without
# --reuse-external, and never when it is the VM's own disk: QEMU's NFS
# create opens with O_CREAT and truncates, so the tool must look first.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start nfs
img_create "$T/src.qcow2" qcow2 64M 8 0x6b
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
img_create "$nfs_dir/exists.qcow2" qcow2 64M 4 0x42
cp "$nfs_dir/exists.qcow2" "$T/exists.orig"
cat >"$T/exists.xml" <<XML
<disk type='network'>
  <driver type='qcow2'/>
  <source protocol='nfs' name='$nfs_export/exists.qcow2'>
    <host name='$nfs_host'/>
  </source>
</disk>
XML
unchanged vm1 bc vm1 vda --xml "$T/exists.xml" --pivot
expect_grep "exists" "$T/err"
cmp "$T/exists.orig" "$nfs_dir/exists.qcow2" || fail "the existing image was changed"

# The VM's disk is itself on the server: a copy onto it is refused.
img_create "$nfs_dir/vm2.qcow2" qcow2 64M 4 0x24
cp "$nfs_dir/vm2.qcow2" "$T/vm2.orig"
vm_start vm2 $(drive_args "nfs://$nfs_host$nfs_export/vm2.qcow2" qcow2 drive0)
sed "s|exists.qcow2|vm2.qcow2|" "$T/exists.xml" >"$T/self.xml"
unchanged vm2 bc vm2 vda --xml "$T/self.xml" --pivot
unchanged vm2 bc vm2 vda --xml "$T/self.xml" --reuse-external --pivot
cmp "$T/vm2.orig" "$nfs_dir/vm2.qcow2" || fail "the VM's own disk was changed"
exit 0
