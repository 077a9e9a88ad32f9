#!/usr/bin/env bash
# A background copy of a qcow2 disk started while the real guest writes.
# QEMU from 8.1 until 10.0.9 (in the 10.0 series) neither copies nor marks
# a write made while its mirror job scans the source for allocated data:
# a write into a range the scan has passed and found unallocated (the
# log's next clusters) is missing from the copy.  The source holds 131072
# small zero clusters far from the log and the guest's drive a small L2
# cache, so that the scan takes a while and yields to the guest; on
# bookworm-backports' QEMU 10.0.2 every start lost records that way before
# the tool paused the guest across the start on such QEMUs.  Each copy,
# finished, must hold an exact prefix of the log with every record
# acknowledged before the finish.
. "$(dirname "$0")/lib.sh"
need_qemu

read -r major minor micro < <(qemu_version)
case $major.$minor in
7.*|8.0) skip "QEMU $major.$minor.$micro marks the writes made while its mirror scans" ;;
10.0)    [ "$micro" -lt 9 ] || skip "QEMU $major.$minor.$micro marks the writes made while its mirror scans" ;;
8.*|9.*|10.*) ;;
*)       skip "QEMU $major.$minor.$micro: not one this test knows" ;;
esac

"$QEMU_IMG" create -q -f qcow2 -o cluster_size=4096 "$T/base.qcow2" 4G
for i in $(seq 0 2 262143); do
    echo "write -q -z $((1024 * 1024 * 1024 + i * 4096)) 4096"
done | "$QEMU_IO" -f qcow2 "$T/base.qcow2" >/dev/null ||
    fail "cannot write the source's zero clusters"

for r in 1 2; do
    cp "$T/base.qcow2" "$T/src.qcow2"
    rm -f "$T/copy.raw"
    guest_start g$r "$T/src.qcow2" qcow2,l2-cache-size=8192
    guest_cmd g$r "write 0 16"
    guest_wait g$r '^bcw: acked' >/dev/null
    start_watched g$r bc g$r vda "$T/copy.raw" --format raw
    finish_checked g$r "$T/copy.raw"
    expect_eq "$(start_events)" "STOP created RESUME " "the events of start $r"
    expect_eq "$(qmp g$r query-status | jq -r .status)" running "the guest after start $r"
    note "start $r: $(start_pause), $(cat "$T/check")"
    vm_quit g$r
done
exit 0
