#!/usr/bin/env bash
# An NBD destination over TLS, as libvirt describes it (tls='yes',
# tlsHostname): the certificates come from --tls-dir, $BLOCKCOPY_TLS_DIR
# or /etc/pki/qemu, reach QEMU as a tls-creds-x509 object of the copy's,
# and the object lives exactly as long as the node that uses it.  A client
# in the clear, a wrong CA and a wrong host name fail with QEMU's reason
# and change nothing.
. "$(dirname "$0")/lib.sh"
need_qemu
command -v certtool >/dev/null ||
    fail "certtool not found (Debian: apt-get install gnutls-bin)"

# cert NAME TEMPLATE-LINES [SIGNER]: NAME-key.pem and NAME-cert.pem in
# $T/pki, self-signed or signed by the CA SIGNER.  ECDSA keys: quick to make.
cert() {
    local name=$1 template=$2 signer=${3:-}
    printf '%s\nexpiration_days = 2\n' "$template" >"$T/pki/$name.info"
    certtool --generate-privkey --key-type ecdsa \
        --outfile "$T/pki/$name-key.pem" 2>/dev/null ||
        fail "certtool: key for $name"
    if [ -z "$signer" ]; then
        certtool --generate-self-signed --load-privkey "$T/pki/$name-key.pem" \
            --template "$T/pki/$name.info" --outfile "$T/pki/$name-cert.pem"
    else
        certtool --generate-certificate --load-privkey "$T/pki/$name-key.pem" \
            --load-ca-certificate "$T/pki/$signer-cert.pem" \
            --load-ca-privkey "$T/pki/$signer-key.pem" \
            --template "$T/pki/$name.info" --outfile "$T/pki/$name-cert.pem"
    fi >/dev/null 2>&1 || fail "certtool: certificate for $name"
}

# The directories as QEMU names the files: the server's, the client's,
# one that trusts another CA only, and one whose CA did not sign its own
# client certificate.
mkdir -p "$T/pki" "$T/server" "$T/client" "$T/other" "$T/mixed"
cert ca "cn = blockcopy test CA
ca
cert_signing_key"
cert other-ca "cn = another CA
ca
cert_signing_key"
cert server "cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
tls_www_server
encryption_key
signing_key" ca
cert client "cn = blockcopy test client
tls_www_client
encryption_key
signing_key" ca
cp "$T/pki/ca-cert.pem" "$T/server/ca-cert.pem"
cp "$T/pki/server-cert.pem" "$T/server/server-cert.pem"
cp "$T/pki/server-key.pem" "$T/server/server-key.pem"
for d in client mixed; do
    cp "$T/pki/client-cert.pem" "$T/pki/client-key.pem" "$T/$d/"
done
cp "$T/pki/ca-cert.pem" "$T/client/ca-cert.pem"
cp "$T/pki/other-ca-cert.pem" "$T/other/ca-cert.pem"
cp "$T/pki/other-ca-cert.pem" "$T/mixed/ca-cert.pem"

# A TLS-only export of $T/tls.raw on 127.0.0.1 that wants a client
# certificate.
truncate -s 64M "$T/tls.raw"
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    nbd_serve --object "tls-creds-x509,id=tls0,endpoint=server,dir=$T/server,verify-peer=on" \
        tls "addr.type=inet,addr.host=127.0.0.1,addr.port=$port,tls-creds=tls0" \
        "driver=file,filename=$T/tls.raw,node-name=file0" \
        "driver=raw,file=file0,node-name=fmt0" && break
done

# tls.xml: the export over TLS; plain.xml: the same without it.
nbd_xml "$T/plain.xml" "127.0.0.1:$port"
sed "s|name='exp'>|name='exp' tls='yes'>|" "$T/plain.xml" >"$T/tls.xml"
sed "s|tls='yes'>|tls='yes' tlsHostname='localhost'>|" "$T/tls.xml" >"$T/tls-name.xml"
grep -q "tls='yes'" "$T/tls.xml" || fail "no tls.xml"

img_create "$T/src.qcow2" qcow2 64M 16 0x3c
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
unset BLOCKCOPY_TLS_DIR

# Refused before anything changes: certificates that are not there, TLS
# where it cannot be, a host name without TLS.
unchanged vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --tls-dir "$T/none"
expect_grep "^error: cannot use TLS directory '$T/none' of destination 'nbd://127.0.0.1:$port/exp': No such file or directory$" "$T/err"
unchanged vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --tls-dir ""
expect_grep "^error: the 'tls-dir' parameter is empty$" "$T/err"
unchanged vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --tls-dir "$T/pki/.."
expect_grep "TLS directory '$T/pki/..' has no readable 'ca-cert.pem'" "$T/err"
rm "$T/mixed/client-key.pem"
unchanged vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --tls-dir "$T/mixed"
expect_grep "has 'client-cert.pem' but no readable 'client-key.pem'" "$T/err"
cp "$T/pki/client-key.pem" "$T/mixed/"
sed "s|protocol='nbd' name='exp'|protocol='rbd' name='pool/img'|" "$T/tls.xml" >"$T/rbd.xml"
unchanged vm1 bc vm1 vda --xml "$T/rbd.xml" --tls-dir "$T/client"
expect_grep "^error: destination XML, line 3: protocol 'rbd' cannot use TLS (tls='yes' is for nbd)$" "$T/err"
unchanged vm1 bc vm1 vda --xml "$T/plain.xml" --reuse-external --tls-hostname localhost
expect_grep "a TLS host name ('localhost') is given, but destination" "$T/err"

# --print-xml keeps the attributes; --dry-run shows the object, with the
# directory made absolute (QEMU's working directory is not ours).
expect_exit 0 bc vm1 vda --xml "$T/tls-name.xml" --print-xml
expect_grep '<source protocol="nbd" name="exp" tls="yes" tlsHostname="localhost">' "$T/out"
(cd "$T" && expect_exit 0 bc vm1 vda --xml tls.xml --reuse-external --tls-dir client --dry-run)
expect_eq "$(jq -c 'select(.execute == "object-add" and .arguments."qom-type" == "tls-creds-x509") | .arguments' "$T/out")" \
    "{\"qom-type\":\"tls-creds-x509\",\"id\":\"bc-drive0-x1\",\"endpoint\":\"client\",\"dir\":\"$T/client\",\"verify-peer\":true}" \
    "TLS object"
expect_eq "$(jq -r 'select(.execute == "blockdev-add" and .arguments.driver == "nbd") | .arguments."tls-creds"' "$T/out")" \
    bc-drive0-x1 "tls-creds"

# Failures QEMU finds: its reason, exit 1, the VM as it was and nothing
# of the tool's left.
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/plain.xml" --reuse-external --pivot
expect_grep "^error: Copy failed: TLS negotiation required.*; the server of 'nbd://127.0.0.1:$port/exp' accepts only TLS: add tls='yes' to the destination's <source>$" "$T/err"
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --pivot --tls-dir "$T/other"
expect_grep "^error: Copy failed: cannot connect to 'nbd://127.0.0.1:$port/exp' over TLS with the certificates in '$T/other': .*certificate.*known issuer" "$T/err"
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --pivot --tls-dir "$T/mixed"
expect_grep "^error: Copy failed: .*client-cert.pem failed validation against $T/mixed/ca-cert.pem" "$T/err"
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/tls.xml" --reuse-external --pivot \
    --tls-dir "$T/client" --tls-hostname wrong.example.org
expect_grep "^error: Copy failed: cannot connect to .* over TLS .*: .*wrong.example.org" "$T/err"
expect_eq "$(tool_leftovers vm1)" "" "left after failures"

# --finish, certificates from the environment and the name from the XML:
# the copy is the disk, and the credentials go with the copy's nodes.
BLOCKCOPY_TLS_DIR=$T/client expect_exit 0 bc vm1 vda --xml "$T/tls-name.xml" \
    --reuse-external --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "stdout"
images_equal "$T/src.qcow2" "$T/tls.raw"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after finish"
expect_eq "$(tool_leftovers vm1)" "" "left after finish"

# --pivot with new data: the VM runs on the export, whose node still
# needs its credentials.
hmp vm1 'qemu-io drive0 "write -P 0x5a 1M 2M"' >/dev/null
expect_exit 0 bc vm1 vda --xml "$T/tls.xml" --reuse-external --pivot --tls-dir "$T/client"
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
images_equal "$T/src.qcow2" "$T/tls.raw"
expect_eq "$(qmp vm1 query-block | jq -r '.[0].inserted."node-name"')" \
    bc-drive0-t1 "node after pivot"
expect_eq "$(tool_leftovers vm1 bc-drive0-t1 bc-drive0-f1)" \
    "object bc-drive0-x1" "left after pivot"
not_in_use "$T/src.qcow2"

# Copied away again, the export's node closes and its credentials go.
expect_exit 0 bc vm1 vda "$T/back.qcow2" --pivot
images_equal "$T/tls.raw" "$T/back.qcow2"
expect_eq "$(tool_leftovers vm1 bc-drive0-t2 bc-drive0-f2)" "" \
    "left after moving off the export"
exit 0
