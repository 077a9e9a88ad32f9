#!/usr/bin/env bash
# A destination with <auth>: the secret comes from a file (--secret-file or
# $BLOCKCOPY_SECRET_FILE, made absolute in the user's working directory),
# reaches QEMU as a secret object that QEMU reads itself, and never shows
# in output, errors or the dry run.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 4
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
printf 'TOPSECRETKEY' >"$T/key"
chmod 600 "$T/key"
cat >"$T/rbd.xml" <<'XML'
<disk type='network'>
  <driver type='raw'/>
  <source protocol='rbd' name='pool/img'>
    <host name='192.0.2.1' port='6789'/>
    <auth username='admin'><secret type='ceph' usage='client.admin'/></auth>
  </source>
</disk>
XML

unchanged vm1 bc vm1 vda --xml "$T/rbd.xml"
expect_grep "authenticates as 'admin': give the file holding its secret" "$T/err"
unchanged vm1 bc vm1 vda --xml "$T/rbd.xml" --secret-file "$T/nokey"
expect_grep "cannot read secret file '$T/nokey'" "$T/err"

# A dry run opens an image to copy into, as the copy would: a real
# iSCSI target with CHAP.  The secret object shows hidden.
server_start tgt
cat >"$T/lun.xml" <<XML
<disk type='network'>
  <driver type='raw'/>
  <source protocol='iscsi' name='$tgt_iqn/1'>
    <host name='$tgt_host' port='$tgt_port'/>
    <auth username='$tgt_user'><secret type='iscsi' usage='t1'/></auth>
  </source>
</disk>
XML
cp "$tgt_secret" "$T/chapkey"
chmod 600 "$T/chapkey"
expect_exit 0 bc vm1 vda --xml "$T/lun.xml" --secret-file "$T/chapkey" --reuse-external --dry-run
expect_eq "$(jq -c 'select(.execute == "object-add" and .arguments.id == "bc-drive0-s1") | .arguments' "$T/out" | sort -u)" \
    '{"qom-type":"secret","id":"bc-drive0-s1","data":"(hidden)","format":"base64"}' \
    "secret object"
expect_eq "$(jq -r 'select(.execute == "blockdev-add" and .arguments.driver == "iscsi") | .arguments."password-secret"' "$T/out")" \
    bc-drive0-s1 "password-secret"
BLOCKCOPY_SECRET_FILE=$T/chapkey expect_exit 0 bc vm1 vda --xml "$T/lun.xml" --reuse-external --dry-run
expect_grep '"password-secret":"bc-drive0-s1"' "$T/out"
[ -s "$T/err" ] && fail "a warning for a private secret file: $(cat "$T/err")"

# A relative secret file is the user's, not one in QEMU's working
# directory; one that others may read draws a warning.
(cd "$T" && expect_exit 0 bc vm1 vda --xml lun.xml --secret-file chapkey --reuse-external --dry-run) ||
    exit 1
expect_grep '"password-secret":"bc-drive0-s1"' "$T/out"
chmod 640 "$T/chapkey"
expect_exit 0 bc vm1 vda --xml "$T/lun.xml" --secret-file "$T/chapkey" --reuse-external --dry-run
expect_err "warning: secret file '$T/chapkey' may be read by others (mode 0640): 'chmod 600' it"
chmod 600 "$T/chapkey"
if grep -rq "$(cat "$T/chapkey")" "$T/out" "$T/err"; then
    fail "the secret leaked into a dry run"
fi

# No Ceph here: QEMU fails, and the secret object goes with the rest.
qmp vm1 qom-list '{"path": "/objects"}' | jq -r '.[].name' | sort >"$T/objects.before"
state vm1 >"$T/state.before"
BLOCKCOPY_SECRET_FILE=$T/key expect_exit 1 bc vm1 vda --xml "$T/rbd.xml" --pivot
expect_grep "error: Copy failed: " "$T/err"
state vm1 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "a failed copy left something"
qmp vm1 qom-list '{"path": "/objects"}' | jq -r '.[].name' | sort >"$T/objects.after"
diff -u "$T/objects.before" "$T/objects.after" || fail "the secret object was left"
if grep -rq TOPSECRETKEY "$T/out" "$T/err" "$T"/*.log; then
    fail "the secret leaked into the output"
fi
# The secret QEMU holds is the file's without its trailing newline (a
# CHAP password written with echo), as base64; a Ceph key file holds
# base64 text already ('ceph auth get-key'), passed on as it is, which
# QEMU hands librados unchanged.  Read from QEMU's object after a proxy
# hung up instead of passing on the protocol's blockdev-add (no server
# here; librados would try one for minutes), then removed by hand.
cat >"$T/iscsi.xml" <<'XML'
<disk type='network'>
  <driver type='raw'/>
  <source protocol='iscsi' name='iqn.2026-01.org.example:t1/0'>
    <host name='127.0.0.1' port='1'/>
    <auth username='chap'><secret type='iscsi' usage='t1'/></auth>
  </source>
</disk>
XML
held_secret() {
    proxy_start vm1 --fault close-before --command blockdev-add
    BLOCKCOPY_SECRET_FILE=$2 expect_exit 1 bc "$px" vda --xml "$1" --reuse-external --finish
    proxy_stop vm1
    qmp vm1 qom-get '{"path": "/objects/bc-drive0-s1", "property": "data"}' | jq -r .
    qmp vm1 object-del '{"id": "bc-drive0-s1"}' >/dev/null
    expect_eq "$(tool_leftovers vm1)" "" "left by a failed copy"
}
echo 'pa ss' >"$T/chap"
chmod 600 "$T/chap"
expect_eq "$(held_secret "$T/iscsi.xml" "$T/chap" | base64 -d)" "pa ss" "the CHAP password"
printf 'pa ss\r\n' >"$T/chap"
expect_eq "$(held_secret "$T/iscsi.xml" "$T/chap" | base64 -d)" "pa ss" "the CHAP password (CRLF)"
printf 'AQBkZmVnAAAAABAAp5mZ0vXkRmDb7Jv5nN0HnA==\n' >"$T/ceph"
chmod 600 "$T/ceph"
expect_eq "$(held_secret "$T/rbd.xml" "$T/ceph")" \
    "AQBkZmVnAAAAABAAp5mZ0vXkRmDb7Jv5nN0HnA==" "the Ceph key"
if grep -rq -e 'pa ss' -e cGEgc3M -e AQBkZmVn "$T/out" "$T/err" "$T"/*.log; then
    fail "the secret leaked into the output"
fi
# A Ceph key that is not base64, an empty file: refused up front.
echo 'not a key!' >"$T/ceph"
BLOCKCOPY_SECRET_FILE=$T/ceph unchanged vm1 bc vm1 vda --xml "$T/rbd.xml" --reuse-external
expect_err "error: secret file '$T/ceph' does not hold a key in base64, as 'ceph auth get-key' prints it"
echo >"$T/ceph"
BLOCKCOPY_SECRET_FILE=$T/ceph unchanged vm1 bc vm1 vda --xml "$T/rbd.xml" --reuse-external
expect_err "error: secret file '$T/ceph' is empty"
exit 0
