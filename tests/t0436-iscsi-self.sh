#!/usr/bin/env bash
# A VM whose disk is an iSCSI LUN is never copied onto that LUN, even with
# --reuse-external (which a LUN always needs): the tool compares the
# destination's portal, target and LUN with the source's.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start tgt 64M
"$QEMU_IO" -f raw -c "write -P 0x5a 0 8M" "$tgt_lun1" >/dev/null
cp "$tgt_lun1" "$T/lun1.orig"
vm_start vm1 -object "secret,id=pw,file=$tgt_secret" \
    -blockdev "driver=iscsi,transport=tcp,portal=$tgt_host:$tgt_port,target=$tgt_iqn,lun=1,user=$tgt_user,password-secret=pw,node-name=lun1" \
    -blockdev driver=raw,file=lun1,node-name=drive0 \
    -device virtio-blk-pci,drive=drive0,id=virtio-disk0
iscsi_xml "$T/self.xml" 1
unchanged vm1 bc vm1 vda --xml "$T/self.xml" --secret-file "$tgt_secret" \
    --reuse-external --pivot
cmp "$T/lun1.orig" "$tgt_lun1" || fail "the VM's own LUN was changed"
exit 0
