#!/usr/bin/env bash
# copy DOMAIN vda,vdb --finish holds both disks as they were at one
# instant.  The real guest writes one log across its two disks, record N
# on vda if N is even, on vdb if odd, each on its disk before the next is
# written: two images of one instant hold together an exact prefix of
# that log (tests/guest/writer.c, check-pair).  Two copies finished one
# after the other while the guest writes do not, and the checker says so.
# run-tests: start early
. "$(dirname "$0")/lib.sh"
need_qemu

rate=$((1024 * 1024))   # 256 records a second, if the guest keeps up

# records_past N: wait (at most 30 s) until the guest acknowledged more
# than N records.
records_past() {
    local i
    for i in $(seq 1 300); do
        [ "$(guest_acked g1)" -gt "$1" ] && return 0
        sleep 0.1
    done
    fail "the guest does not write: $(guest_acked g1) records acknowledged"
}

# wait_ready N: wait (at most 30 s) until g1 has N mirror jobs, all ready.
wait_ready() {
    local i
    for i in $(seq 1 300); do
        [ "$(qmp g1 query-jobs | jq '[.[] | select(.type == "mirror" and .status == "ready")] | length')" = "$1" ] &&
            return 0
        sleep 0.1
    done
    qmp g1 query-jobs >&2
    fail "the copies of g1 never became ready"
}

"$QEMU_IMG" create -q -f raw "$T/vda.raw" 32M
"$QEMU_IMG" create -q -f raw "$T/vdb.raw" 32M
guest_start g1 "$T/vda.raw" raw "$T/vdb.raw"
guest_cmd g1 "alternate $rate /dev/vdb"
guest_wait g1 '^bcw: acked' >/dev/null

# The checker's teeth: each disk copied on its own, vda finished, then
# vdb once the guest wrote on.  The copies are two instants apart.
expect_exit 0 bc g1 vda "$T/apart-vda.raw"
expect_exit 0 bc g1 vdb "$T/apart-vdb.raw"
wait_ready 2
expect_exit 0 timeout 60 "$BLOCKCOPY" job g1 vda --finish --wait
expect_grep 'Successfully copied' "$T/out"
records_past $(($(guest_acked g1) + 16))
expect_exit 0 timeout 60 "$BLOCKCOPY" job g1 vdb --finish --wait
expect_grep 'Successfully copied' "$T/out"
expect_eq "$(tool_leftovers g1)" "" "leftovers after the single copies"

# The group: both finished at one instant while the guest writes.
mkdir "$T/copies"
records_past $(($(guest_acked g1) + 16))
before=$(guest_acked g1)
expect_exit 0 timeout 120 "$BLOCKCOPY" copy g1 vda,vdb --dest-dir "$T/copies" --finish
grep 'vda' "$T/out" | grep -q 'Successfully copied' || { cat "$T/out" >&2; fail "no result line for vda"; }
grep 'vdb' "$T/out" | grep -q 'Successfully copied' || { cat "$T/out" >&2; fail "no result line for vdb"; }
expect_eq "$(disk_file g1 virtio-disk0)" "$T/vda.raw" "vda after the finish"
expect_eq "$(disk_file g1 virtio-disk1)" "$T/vdb.raw" "vdb after the finish"
expect_eq "$(tool_leftovers g1)" "" "leftovers after the group finish"
expect_eq "$(qmp g1 query-status | jq -r .status)" running "g1 after the group finish"
# The guest goes on writing on its sources, then reads its log back.
records_past $(($(guest_acked g1) + 16))
guest_cmd g1 verify
line=$(guest_wait g1 '^bcw: verify')
[[ $line == "bcw: verify ok"* ]] || fail "the sources after the finish: $line"
total=${line##*records=}
vm_quit g1

"$TESTS_DIR/guest/writer" check-pair "$T/apart-vda.raw" "$T/apart-vdb.raw" >"$T/check" 2>&1 &&
    { cat "$T/check" >&2; fail "the checker took copies finished one after the other for one instant"; }
grep -q 'not one instant' "$T/check" || { cat "$T/check" >&2; fail "the checker failed, but not on the instant"; }
note "apart: $(grep 'not one instant' "$T/check")"

"$TESTS_DIR/guest/writer" check-pair "$T/copies/vda.raw" "$T/copies/vdb.raw" "$before" >"$T/check" 2>&1 ||
    { cat "$T/check" >&2; fail "the group's copies are not of one instant"; }
held=$(sed -n 's/^prefix \([0-9]*\) .*/\1/p' "$T/check")
# Taken while the guest wrote, not after: the log went on past them.
[ "$held" -lt "$total" ] || fail "the copies hold $held records, the whole log is $total"
note "group: $before records acknowledged before the copy, the copies hold $held, the log $total"
exit 0
