#!/usr/bin/env bash
# --auto-converge: a background copy that the guest (tests/guest) outpaces
# is switched to synchronous writes, says so on stderr and in JSON, and
# converges; the guest then finds its whole log intact.  A QEMU without
# block-job-change cannot switch: the tool says the copy is not
# converging, how fast the guest writes against the copy, and that
# --synchronous-writes is the remedy; the copy times out as asked and the
# VM stays on its intact source.
. "$(dirname "$0")/lib.sh"
need_qemu

rate=$((2 * 1024 * 1024))   # the guest writes 2 MiB/s, the copy has 1 MiB/s

"$QEMU_IMG" create -q -f raw "$T/src.raw" 128M
guest_start g "$T/src.raw"

# Bad uses change nothing.
unchanged g bc g vda "$T/copy.raw" --auto-converge
expect_err "error: --auto-converge requires at least one of --timeout, --wait, --pivot, or --finish"
unchanged g bc g vda "$T/copy.raw" --pivot --auto-converge=0
expect_err "error: invalid --auto-converge '0': expected a whole number greater than 0"
unchanged g bc g vda "$T/copy.raw" --pivot --auto-converge --synchronous-writes
expect_err "error: Options --auto-converge and --synchronous-writes are mutually exclusive"

guest_cmd g "write $rate 16"
guest_wait g '^bcw: acked' >/dev/null
if qmp g query-qmp-schema | jq -e 'any(.[]; .name == "block-job-change")' >/dev/null; then
    expect_exit 0 timeout 120 "$BLOCKCOPY" --json g vda "$T/copy.raw" --bandwidth 1M \
        --pivot --auto-converge=4
    expect_grep 'switched to synchronous writes' "$T/err"
    jq -s -e 'any(.[]; .type == "state" and .state == "switched" and
                     .["dirty-rate"] >= .["copy-rate"])' "$T/out" >/dev/null || { cat "$T/out" >&2; fail "no JSON line says the copy was switched"; }
    jq -s -e 'any(.[]; .type == "result" and .status == "pivoted")' "$T/out" >/dev/null ||
        fail "not pivoted"
    expect_eq "$(disk_file g virtio-disk0)" "$T/copy.raw" "disk after the pivot"
    expect_eq "$(tool_leftovers g bc-drive0-t1 bc-drive0-f1)" "" "leftovers"
else
    expect_exit 1 timeout 120 "$BLOCKCOPY" g vda "$T/copy.raw" --bandwidth 1M \
        --pivot --auto-converge=3 --timeout 8
    expect_grep '^warning: the copy is not converging: the guest writes new data at .*/s, the copy copies .*/s; it cannot be switched to synchronous writes (this QEMU (.*) cannot switch a running copy to synchronous writes: that needs block-job-change, QEMU 8.2 or later); start the copy with --synchronous-writes to make it converge$' "$T/err"
    expect_grep 'Copy aborted' "$T/out"
    expect_eq "$(disk_file g virtio-disk0)" "$T/src.raw" "disk after the timeout"
    expect_eq "$(tool_leftovers g)" "" "leftovers"
fi
guest_cmd g verify
line=$(guest_wait g '^bcw: verify')
[[ $line == "bcw: verify ok"* ]] || fail "the guest's log: $line"
note "$line"
exit 0
