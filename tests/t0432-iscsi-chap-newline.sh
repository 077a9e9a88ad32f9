#!/usr/bin/env bash
# A password file as 'echo PASSWORD > FILE' writes it: the trailing
# newline is not part of the CHAP secret.
. "$(dirname "$0")/lib.sh"
need_qemu

server_start tgt 64M
img_create "$T/src.qcow2" qcow2 64M 8 0x5a
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
echo "$(cat "$tgt_secret")" >"$T/pw"
chmod 600 "$T/pw"
iscsi_xml "$T/lun1.xml" 1
expect_exit 0 bc vm1 vda --xml "$T/lun1.xml" --secret-file "$T/pw" --reuse-external --finish
images_equal "$T/src.qcow2" "$tgt_lun1"
exit 0
