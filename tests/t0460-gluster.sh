#!/usr/bin/env bash
# A Gluster destination (glusterd, one brick): QEMU creates the qcow2
# image on the volume.  An image that exists there is never truncated
# without --reuse-external, and never when it is the VM's own disk (QEMU's
# Gluster create opens with O_TRUNC, so the tool must look first).
# Every close of a Gluster connection takes about 10 s, during which
# QEMU's monitor does not answer, and an image written into the brick
# directory behind Gluster's back does not read back: this test is one
# copy, and the refusals work on the image that copy made.
# run-tests: start early
. "$(dirname "$0")/lib.sh"
need_qemu
# Under valgrind only the tool is slower, and its code for a network
# destination is the same for every protocol but a few options, which
# t0430 and t0440 run there.
[ "${BC_TEST_CHECKER:-}" = valgrind ] &&
    skip "not under valgrind: every Gluster close takes 10 s, and CI has no time for it"

img_create "$T/src.qcow2" qcow2 64M 16 0x47
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
# QEMU 9.2 deprecates its gluster driver, and nothing the tool uses may
# be deprecated (a run that refuses deprecated input fails the copy).
qmp vm1 query-qmp-schema | jq -e '.[] | .members? // [] | .[] |
    select(type == "object" and .name == "gluster" and
           (.features // [] | index("deprecated")))' >/dev/null &&
    skip "this QEMU deprecates its gluster driver"
server_start gluster
cat >"$T/pivot.xml" <<XML
<disk type='network' device='disk'>
  <driver name='qemu' type='qcow2'/>
  <source protocol='gluster' name='$gluster_volume/vm1.qcow2'>
    <host name='$gluster_host' port='24007'/>
  </source>
  <target dev='vda' bus='virtio'/>
</disk>
XML

# --pivot: the VM runs on the volume's image; the source is closed.
expect_exit 0 bc vm1 vda --xml "$T/pivot.xml" --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
not_in_use "$T/src.qcow2"
expect_eq "$(tool_leftovers vm1 $(node_names vm1 | grep '^bc-'))" "" "left after pivot"
# The brick holds the image as a plain file.
expect_eq "$("$QEMU_IMG" info -U --output=json "$gluster_brick/vm1.qcow2" | jq -r .format)" qcow2 "format"
images_equal "$T/src.qcow2" "$gluster_brick/vm1.qcow2"
hmp vm1 'qemu-io drive0 "write -P 0x99 1M 64k"' >/dev/null
"$QEMU_IO" -r -U -f qcow2 -c "read -P 0x99 1M 64k" "$gluster_brick/vm1.qcow2" |
    grep -q 'read 65536/65536' || fail "a guest write after the pivot is not on the volume"

# Another VM's copy onto that image, without --reuse-external.
cp "$gluster_brick/vm1.qcow2" "$T/vm1.orig"
img_create "$T/src2.qcow2" qcow2 64M 4 0x24
vm_start vm2 $(drive_args "$T/src2.qcow2" qcow2 drive0)
unchanged vm2 bc_limited 120 vm2 vda --xml "$T/pivot.xml" --pivot
expect_grep "exists" "$T/err"
cmp "$T/vm1.orig" "$gluster_brick/vm1.qcow2" || fail "the existing image was changed"
# vm1's copy onto the image it runs on.
unchanged vm1 bc_limited 120 vm1 vda --xml "$T/pivot.xml" --reuse-external --pivot
cmp "$T/vm1.orig" "$gluster_brick/vm1.qcow2" || fail "the VM's own disk was changed"
exit 0
