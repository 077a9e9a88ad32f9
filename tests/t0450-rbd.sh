#!/usr/bin/env bash
# A Ceph RBD destination (one monitor, one OSD) with cephx: QEMU creates
# the qcow2 image in the pool; the client key is the base64 text that
# 'ceph auth get-key' prints, given with --secret-file.
. "$(dirname "$0")/lib.sh"
need_qemu
# Under valgrind only the tool is slower, and its code for a network
# destination is the same for every protocol but a few options, which
# t0430 and t0440 run there.
[ "${BC_TEST_CHECKER:-}" = valgrind ] &&
    skip "not under valgrind: a Ceph cluster takes 11 s to start, and CI has no time for it"
# librados reads $CEPH_CONF, /etc/ceph or ./ceph.conf by itself: nothing
# of the sort may point QEMU at another cluster.
unset CEPH_CONF CEPH_ARGS

server_start ceph
rbd_() {
    timeout 60 rbd -c "$ceph_conf" --keyring "$ceph_keyring" "$@"
}

img_create "$T/src.qcow2" qcow2 64M 16 0x3e
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# rbd_xml FILE IMAGE: the destination as libvirt writes it.
rbd_xml() {
    cat >"$1" <<XML
<disk type='network' device='disk'>
  <driver name='qemu' type='qcow2'/>
  <source protocol='rbd' name='$ceph_pool/$2'>
    <host name='$ceph_host' port='$ceph_port'/>
  </source>
  <auth username='$ceph_user'>
    <secret type='ceph' usage='client.$ceph_user secret'/>
  </auth>
  <target dev='vda' bus='virtio'/>
</disk>
XML
}

# --finish: the image in the pool holds the disk.
rbd_xml "$T/finish.xml" finish
expect_exit 0 bc vm1 vda --xml "$T/finish.xml" --secret-file "$ceph_secret" --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
expect_eq "$(tool_leftovers vm1)" "" "left after finish"
rbd_ export --no-progress "$ceph_pool/finish" "$T/finish.qcow2" || fail "rbd export"
expect_eq "$("$QEMU_IMG" info --output=json "$T/finish.qcow2" | jq -r .format)" qcow2 "format"
images_equal "$T/src.qcow2" "$T/finish.qcow2"

# An image that exists: RBD itself refuses to create it again.
unchanged vm1 bc vm1 vda --xml "$T/finish.xml" --secret-file "$ceph_secret" --pivot
rbd_ export --no-progress "$ceph_pool/finish" "$T/finish2.qcow2" || fail "rbd export"
cmp "$T/finish.qcow2" "$T/finish2.qcow2" || fail "the existing image was changed"

# --pivot: the VM runs on the pool's image; the source is closed.
rbd_xml "$T/pivot.xml" pivot
expect_exit 0 bc vm1 vda --xml "$T/pivot.xml" --secret-file "$ceph_secret" \
    --wait --verbose --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
not_in_use "$T/src.qcow2"
hmp vm1 'qemu-io drive0 "write -P 0x99 1M 64k"' >/dev/null
hmp vm1 'qemu-io drive0 "flush"' >/dev/null
rbd_ export --no-progress "$ceph_pool/pivot" "$T/pivot.qcow2" || fail "rbd export"
"$QEMU_IO" -r -f qcow2 -c "read -P 0x99 1M 64k" "$T/pivot.qcow2" | grep -q 'read 65536/65536' ||
    fail "a guest write after the pivot is not in the pool"
grep -qF "$(cat "$ceph_secret")" "$T/out" "$T/err" "$T"/vm1.log && fail "the key leaked"

# --shallow: only the top is copied; the copy keeps the local backing file.
img_create "$T/base.qcow2" qcow2 64M 16 0x11
"$QEMU_IMG" create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/top.qcow2"
"$QEMU_IO" -f qcow2 -c "write -P 0x22 32M 4M" "$T/top.qcow2" >/dev/null
vm_start vm2 $(drive_args "$T/top.qcow2" qcow2 drive0)
rbd_xml "$T/shallow.xml" shallow
expect_exit 0 bc vm2 vda --xml "$T/shallow.xml" --secret-file "$ceph_secret" --shallow --finish
rbd_ export --no-progress "$ceph_pool/shallow" "$T/shallow.qcow2" || fail "rbd export"
expect_eq "$("$QEMU_IMG" info --output=json "$T/shallow.qcow2" | jq -r '."backing-filename"')" \
    "$T/base.qcow2" "backing file"
alloc=$("$QEMU_IMG" map --output=json "$T/shallow.qcow2" |
    jq '[.[] | select(.depth == 0 and .data) | .length] | add // 0')
expect_eq "$alloc" 4194304 "data in the copy's top"
images_equal "$T/top.qcow2" "$T/shallow.qcow2"

# vm1 runs on the image 'pivot' now: a copy onto it is refused, also
# with --reuse-external.
unchanged vm1 bc vm1 vda --xml "$T/pivot.xml" --secret-file "$ceph_secret" \
    --reuse-external --pivot
rbd_ export --no-progress "$ceph_pool/pivot" "$T/pivot2.qcow2" || fail "rbd export"
cmp "$T/pivot.qcow2" "$T/pivot2.qcow2" || fail "the VM's own disk was changed"
exit 0
