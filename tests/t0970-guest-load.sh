#!/usr/bin/env bash
# A real guest (tests/guest) writes its log to vda with O_DIRECT faster
# than the copy's bandwidth.  Pivot: the copy converges (write-blocking,
# switched on a running copy where QEMU has block-job-change, from the
# start where it has not), the guest writes on, on the copy, and then
# reads its whole log back: no acknowledged record lost, none torn.
# Finish: the copy, read after the VM stopped, holds an exact prefix of
# the log, with every record acknowledged before the finish.
. "$(dirname "$0")/lib.sh"
need_qemu

rate=$((2 * 1024 * 1024))   # the guest writes 2 MiB/s, the copy has 1 MiB/s

has_job_change() {
    qmp "$1" query-qmp-schema | jq -e 'any(.[]; .name == "block-job-change")' >/dev/null
}

# Pivot.
"$QEMU_IMG" create -q -f raw "$T/src1.raw" 128M
guest_start g1 "$T/src1.raw"
guest_cmd g1 "write $rate 16"
guest_wait g1 '^bcw: acked' >/dev/null
if has_job_change g1; then
    expect_exit 0 bc g1 vda "$T/copy1.raw" --bandwidth 1M
    sleep 2
    expect_exit 0 bc job g1 vda --synchronous-writes
    expect_grep 'Switched to synchronous writes' "$T/out"
else
    expect_exit 0 bc g1 vda "$T/copy1.raw" --bandwidth 1M --synchronous-writes
fi
expect_exit 0 timeout 120 "$BLOCKCOPY" job g1 vda --pivot --wait
expect_grep 'Successfully pivoted' "$T/out"
expect_eq "$(disk_file g1 virtio-disk0)" "$T/copy1.raw" "disk after the pivot"
expect_eq "$(tool_leftovers g1 bc-drive0-t1 bc-drive0-f1)" "" "leftovers"
acked=$(guest_acked g1)
# The guest goes on writing on the copy, then reads the whole log back.
for i in $(seq 1 100); do
    [ "$(guest_acked g1)" -gt $((acked + 256)) ] && break
    sleep 0.1
done
guest_cmd g1 verify
line=$(guest_wait g1 '^bcw: verify')
[[ $line == "bcw: verify ok"* ]] || fail "after the pivot: $line"
note "pivot: $line"

# Finish: synchronous writes from the start, on every QEMU.
"$QEMU_IMG" create -q -f raw "$T/src2.raw" 128M
guest_start g2 "$T/src2.raw"
guest_cmd g2 "write $rate 16"
guest_wait g2 '^bcw: acked' >/dev/null
expect_exit 0 bc g2 vda "$T/copy2.raw" --bandwidth 1M --synchronous-writes
wait_job_status g2 ready
acked=$(guest_acked g2)
expect_exit 0 timeout 120 "$BLOCKCOPY" job g2 vda --finish --wait
expect_grep 'Successfully copied' "$T/out"
expect_eq "$(disk_file g2 virtio-disk0)" "$T/src2.raw" "disk after the finish"
expect_eq "$(tool_leftovers g2)" "" "leftovers"
guest_cmd g2 verify
line=$(guest_wait g2 '^bcw: verify')
[[ $line == "bcw: verify ok"* ]] || fail "the source after the finish: $line"
vm_quit g2
"$TESTS_DIR/guest/writer" check "$T/copy2.raw" "$acked" >"$T/check" 2>&1 ||
    { cat "$T/check" >&2; fail "the copy is not an exact prefix of the log"; }
note "finish: $acked records acknowledged before it, the copy holds $(cut -d' ' -f2 "$T/check")"
exit 0
