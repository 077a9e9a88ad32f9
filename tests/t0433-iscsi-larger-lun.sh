#!/usr/bin/env bash
# A LUN larger than the disk: the copy either fits the disk onto the
# LUN's start or is refused before anything changes, naming both sizes;
# it never fails after copying.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start tgt 128M
img_create "$T/src.qcow2" qcow2 64M 8 0x5a
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
iscsi_xml "$T/lun1.xml" 1
state vm1 >"$T/state.before"
bc vm1 vda --xml "$T/lun1.xml" --secret-file "$tgt_secret" --reuse-external --finish \
    >"$T/out" 2>"$T/err"
rc=$?
case $rc in
0)
    # The LUN's tail reads as zeroes, which compare accepts.
    "$QEMU_IMG" compare -U -q -f qcow2 -F raw "$T/src.qcow2" "$tgt_lun1" ||
        fail "the LUN does not hold the disk"
    ;;
2)
    expect_grep "67108864" "$T/err"
    expect_grep "134217728" "$T/err"
    state vm1 >"$T/state.after"
    diff -u "$T/state.before" "$T/state.after" || fail "a refused copy changed something"
    ;;
*)
    cat "$T/err" >&2
    fail "a LUN larger than the disk: exit $rc, neither copied nor refused up front"
    ;;
esac
exit 0
