#!/usr/bin/env bash
# An NBD export on another host over a poor link: the VM in one network
# namespace, qemu-storage-daemon in another (tests/helpers/netlink).  With
# 25 ms of latency each way and 1 % loss the copy completes and is
# identical; a server killed and started again mid-copy is survived with
# <reconnect delay='N'/>, and without it the copy fails cleanly.
. "$(dirname "$0")/lib.sh"
need_qemu
netlink_up --loss 1
SRV=10.201.0.2

# export NAME PORT: $T/NAME.raw, 64 MiB, exported as 'exp' on the server
# host; started again on the same file by calling it again.
export_raw() {
    [ -e "$T/$1.raw" ] || truncate -s 64M "$T/$1.raw"
    nbd_serve --netns "$NET_S" "$1" "addr.type=inet,addr.host=$SRV,addr.port=$2" \
        "driver=file,filename=$T/$1.raw,node-name=file0" \
        "driver=raw,file=file0,node-name=fmt0" || fail "cannot export $1 on port $2"
}

# nbd_disk VM: the NBD address the VM's disk runs on.
nbd_disk() {
    qmp "$1" query-block | jq -r '.[0].inserted.image."backing-filename" // .[0].inserted.file'
}

# xml FILE PORT [RECONNECT-ELEMENT]
xml() {
    cat >"$1" <<XML
<disk type='network'>
  <driver type='raw'/>
  <source protocol='nbd' name='exp'>
    <host name='$SRV' port='$2'/>
    ${3:-}
  </source>
</disk>
XML
}

img_create "$T/src1.qcow2" qcow2 64M 32 0x3c
vm_start --netns "$NET_C" vm1 $(drive_args "$T/src1.qcow2" qcow2 drive0)

# A bad <reconnect> is refused before anything changes.
xml "$T/bad.xml" 10809 "<reconnect delay='ten'/>"
unchanged vm1 bc vm1 vda --xml "$T/bad.xml" --reuse-external --pivot
expect_err "error: destination XML, line 5: reconnect delay 'ten' is not a number of seconds (0-4294967295)"
xml "$T/bad.xml" 10809 "<reconnect enabled='no' timeout='10'/>"
unchanged vm1 bc vm1 vda --xml "$T/bad.xml" --reuse-external --pivot
expect_err "error: destination XML, line 5: reconnect timeout '10' is given, but reconnecting is off (enabled='no')"
sed "s|protocol='nbd' name='exp'|protocol='iscsi' name='iqn.2024-01.org.example:t1/0'|" \
    "$T/bad.xml" >"$T/bad2.xml"
sed -i "s|enabled='no' timeout='10'|delay='10'|" "$T/bad2.xml"
unchanged vm1 bc vm1 vda --xml "$T/bad2.xml" --reuse-external --pivot
expect_err "error: destination XML, line 5: protocol 'iscsi' cannot reconnect (<reconnect> is for nbd)"
rm -f "$T/bad.xml" "$T/bad2.xml"

# --print-xml keeps it as libvirt writes it, also for the chardev form;
# --dry-run shows it reaching QEMU.
xml "$T/rec.xml" 10809 "<reconnect enabled='yes' timeout='10'/>"
expect_exit 0 bc vm1 vda --xml "$T/rec.xml" --print-xml
expect_grep '<reconnect delay="10"/>' "$T/out"
cp "$T/out" "$T/printed.xml"
expect_exit 0 bc vm1 vda --xml "$T/printed.xml" --print-xml
diff -u "$T/printed.xml" "$T/out" || fail "--print-xml of its own output differs"

# (a) 25 ms each way and 1 % loss, through a relay on the server host.
export_raw slow 10809
# A dry run opens the export, as the copy would, and closes it again.
expect_exit 0 bc vm1 vda --xml "$T/printed.xml" --reuse-external --dry-run --pivot
expect_eq "$(jq -c 'select(.execute == "blockdev-add" and .arguments.driver == "nbd") | .arguments."reconnect-delay"' "$T/out")" \
    10 "reconnect-delay sent"
rm -f "$T/printed.xml"
ip netns exec "$NET_S" /usr/bin/python3 "$TESTS_DIR/helpers/delay-relay" \
    "$SRV" 10810 "$SRV" 10809 25 >"$T/relay.out" 2>"$T/relay.log" &
BG_PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$T/relay.out" && break; sleep 0.05; done
grep -q listening "$T/relay.out" || { cat "$T/relay.log" >&2; fail "the relay did not start"; }
xml "$T/slow.xml" 10810
expect_exit 0 bc vm1 vda --xml "$T/slow.xml" --reuse-external --wait --pivot
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout"
images_equal "$T/src1.qcow2" "$T/slow.raw"
expect_eq "$(nbd_disk vm1)" "nbd://$SRV:10810/exp" "disk after pivot"
not_in_use "$T/src1.qcow2"

# (b) The server killed and started again 2 s later, mid-copy (a link cut
# for that long is absorbed by TCP alone: the server must go).  The copy
# is slowed to 4 MiB/s so that it is still running.
# restart_server NAME PORT: kill -9, 2 s without a server, start it again.
restart_server() {
    local p
    p=$(cat "$T/$1.pid")
    kill -9 "$p"
    wait "$p" 2>/dev/null
    sleep 2
    export_raw "$1" "$2"
}

img_create "$T/src2.qcow2" qcow2 64M 24 0x5a
vm_start --netns "$NET_C" vm2 $(drive_args "$T/src2.qcow2" qcow2 drive0)
export_raw back 10811
xml "$T/back.xml" 10811 "<reconnect delay='10'/>"
copy_running vm2 vm2 vda --xml "$T/back.xml" --reuse-external --bandwidth 4M --pivot
restart_server back 10811
wait "$pid"
rc=$?
[ $rc -eq 0 ] || { cat "$T/err" >&2; fail "the copy with reconnect exited $rc"; }
expect_eq "$(cat "$T/out")" "Successfully pivoted" "stdout with reconnect"
images_equal "$T/src2.qcow2" "$T/back.raw"
expect_eq "$(nbd_disk vm2)" "nbd://$SRV:10811/exp" "disk after pivot"

# Without it, the copy fails with QEMU's reason; the VM stays on its
# source, and nothing of the tool's is left.
img_create "$T/src3.qcow2" qcow2 64M 24 0x6b
vm_start --netns "$NET_C" vm3 $(drive_args "$T/src3.qcow2" qcow2 drive0)
export_raw gone 10812
xml "$T/gone.xml" 10812
state vm3 >"$T/state.before"
copy_running vm3 vm3 vda --xml "$T/gone.xml" --reuse-external --bandwidth 4M --pivot
restart_server gone 10812
wait "$pid"
rc=$?
[ $rc -eq 1 ] || { cat "$T/out" "$T/err" >&2; fail "the copy without reconnect exited $rc, expected 1"; }
expect_grep "^error: Copy failed: ." "$T/err"
note "without reconnect: $(cat "$T/err")"
expect_eq "$(disk_file vm3 virtio-disk0)" "$T/src3.qcow2" "disk after the failed copy"
expect_eq "$(tool_leftovers vm3)" "" "the tool's leftovers"
state vm3 >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" || fail "the failed copy left something"
"$QEMU_IMG" check -U -q "$T/src3.qcow2" || fail "the source is damaged"
exit 0
