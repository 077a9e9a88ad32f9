#!/usr/bin/env bash
# --print-xml shows the destination as it will be used; --dry-run the QMP
# commands that would change the VM.  Neither changes anything.
. "$(dirname "$0")/lib.sh"
need_qemu

expect_exit 0 bc novm vda /srv/new.qcow2 --format qcow2 --print-xml
cat >"$T/want" <<'XML'
<disk type="file">
  <driver type="qcow2"/>
  <source file="/srv/new.qcow2"/>
</disk>
XML
diff -u "$T/want" "$T/out" || fail "--print-xml of DEST"

expect_exit 0 bc novm vda /dev/vg/new --blockdev --raw --print-xml
expect_grep '<disk type="block">' "$T/out"
expect_grep '<source dev="/dev/vg/new"/>' "$T/out"

cat >"$T/dest.xml" <<'XML'
<disk type='network' device='disk'>
  <driver name='qemu' type='raw' cache='none'/>
  <source protocol='nbd' name='export1'>
    <host name='192.0.2.7' port='10809'/>
  </source>
  <target dev='vdb' bus='virtio'/>
  <iotune><total_bytes_sec>1000</total_bytes_sec></iotune>
</disk>
XML
expect_exit 0 bc novm vda --xml "$T/dest.xml" --print-xml
cat >"$T/want" <<'XML'
<disk type="network">
  <driver type="raw"/>
  <source protocol="nbd" name="export1">
    <host name="192.0.2.7" port="10809"/>
  </source>
</disk>
XML
diff -u "$T/want" "$T/out" || fail "--print-xml of --xml"
rm -f "$T/want" "$T/dest.xml"

img_create "$T/src.qcow2" qcow2 64M 4
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
state vm1 >"$T/state.before"
expect_exit 0 bc vm1 vda "$T/dry.qcow2" --dry-run --bandwidth 10M --pivot
state vm1 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "--dry-run changed the VM"
[ ! -e "$T/dry.qcow2" ] || fail "--dry-run created the destination"
expect_eq "$(jq -r .execute "$T/out" | tr '\n' ' ')" \
    "add-fd blockdev-create blockdev-add blockdev-create blockdev-add object-add blockdev-mirror " \
    "commands"
# The file goes to QEMU as a descriptor (not made in a dry run).
expect_eq "$(jq -r 'select(.execute == "add-fd") | .arguments.opaque' "$T/out")" \
    "bc-drive0-f1 0:0 $T/dry.qcow2" "the fd set's note"
expect_eq "$(jq -r 'select(.execute == "blockdev-create") | .arguments.options.filename // empty' "$T/out")" \
    "/dev/fdset/N" "the name QEMU opens"
expect_eq "$(jq -r 'select(.execute == "blockdev-mirror") | .arguments | "\(.device) \(.target) \(.sync) \(.speed) \(."auto-dismiss")"' "$T/out")" \
    "#block$(qmp vm1 query-block | jq -r '.[0].inserted."node-name"' | sed 's/#block//') bc-drive0-t1 full 10485760 false" \
    "blockdev-mirror arguments"
expect_eq "$(jq -r 'select(.execute == "blockdev-add") | .arguments.discard' "$T/out" | sort -u)" \
    unmap "discard on the destination nodes"
# A network destination QEMU would create is first probed, read-only,
# for an image that is there already (t0470 has the real server): a dry
# run makes that check too, and says why it cannot.
cat >"$T/ssh.xml" <<'XML'
<disk type='network'>
  <driver type='qcow2'/>
  <source protocol='ssh' name='/srv/images/vm1.qcow2'>
    <host name='127.0.0.1' port='1'/>
  </source>
</disk>
XML
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/ssh.xml" --dry-run
expect_grep "cannot tell whether destination 'ssh://127.0.0.1:1/srv/images/vm1.qcow2' exists: " "$T/err"
[ -s "$T/out" ] && fail "a dry run that failed its checks printed commands"
rm -f "$T/ssh.xml"

# A dry run makes every check the real run makes before its first change,
# and ends as it would: an image of the wrong size to copy into, a local
# one (its header) or an NBD export (QEMU opens it read-only and closes it
# again), is refused by both with the same words, exit 2.
"$QEMU_IMG" create -q -f qcow2 "$T/small.qcow2" 32M
"$QEMU_IMG" create -q -f raw "$T/small.raw" 32M
nbd_serve small "addr.type=unix,addr.path=$T/small.sock" \
    "driver=file,filename=$T/small.raw,node-name=fmt0" ||
    fail "qemu-storage-daemon did not start"
nbd_xml "$T/small.xml" "$T/small.sock"
for args in "$T/small.qcow2 --format qcow2" "$T/small.raw --format raw" \
            "--xml $T/small.xml"; do
    unchanged vm1 bc vm1 vda $args --reuse-external --dry-run
    cp "$T/err" "$T/err.dry"
    [ -s "$T/out" ] && fail "a dry run that failed its checks printed commands"
    unchanged vm1 bc vm1 vda $args --reuse-external --pivot
    diff -u "$T/err.dry" "$T/err" || fail "the dry run and the real one differ: $args"
    expect_grep "(33554432 bytes) is smaller than the disk\|has a virtual size of 33554432 bytes" "$T/err"
done
exit 0
