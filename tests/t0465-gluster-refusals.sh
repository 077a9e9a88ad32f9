#!/usr/bin/env bash
# An image that exists on a Gluster volume is never truncated without
# --reuse-external, and never when it is the VM's own disk: QEMU's Gluster
# create opens with O_TRUNC, so the tool must look first.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start gluster
img_create "$T/src.qcow2" qcow2 64M 8 0x6b
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
img_create "$gluster_brick/exists.qcow2" qcow2 64M 4 0x42
cp "$gluster_brick/exists.qcow2" "$T/exists.orig"
cat >"$T/exists.xml" <<XML
<disk type='network'>
  <driver type='qcow2'/>
  <source protocol='gluster' name='$gluster_volume/exists.qcow2'>
    <host name='$gluster_host'/>
  </source>
</disk>
XML
unchanged vm1 bc_limited 120 vm1 vda --xml "$T/exists.xml" --pivot
expect_grep "exists" "$T/err"
cmp "$T/exists.orig" "$gluster_brick/exists.qcow2" || fail "the existing image was changed"

# The VM's disk is itself on the volume: a copy onto it is refused.
vm_start vm2 $(drive_args "gluster://$gluster_host/$gluster_volume/exists.qcow2" qcow2 drive0)
unchanged vm2 bc_limited 120 vm2 vda --xml "$T/exists.xml" --reuse-external --pivot
cmp "$T/exists.orig" "$gluster_brick/exists.qcow2" || fail "the VM's own disk was changed"
exit 0
