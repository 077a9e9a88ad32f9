#!/usr/bin/env bash
# The README's commands work as written: its QEMU command line starts a VM
# (also where /run/blockcopy does not exist yet) that blockcopy finds by
# name and through the second monitor; its qemu-nbd example keeps the
# export for more than one client (-t).
. "$(dirname "$0")/lib.sh"
need_qemu

R=$TOP/README.md
# The shell block that starts with "mkdir -p /run/blockcopy".
sed -n '/^    mkdir -p \/run\/blockcopy$/,/^$/p' "$R" | sed 's/^    //' >"$T/block"
[ -s "$T/block" ] || fail "the README has no 'mkdir -p /run/blockcopy' block"
grep -q '^qemu-system-x86_64 ' "$T/block" || fail "the block starts no QEMU"

# Run it under $T/root: /run and /srv moved there, QEMU from lib.sh, the
# VM stopped and headless as every VM of the suite.
mkdir -p "$T/root/run" "$T/root/srv"
img_create "$T/root/srv/vm1.qcow2" qcow2 16M 1
sed -e "s#/run/#$T/root/run/#g" -e "s#/srv/#$T/root/srv/#g" \
    -e "s#^qemu-system-x86_64 #exec \"\$QEMU\" -S -display none -machine accel=tcg #" \
    "$T/block" >"$T/block.sh"
QEMU=$QEMU bash "$T/block.sh" >"$T/qemu.log" 2>&1 &
VM_PIDS+=($!)
for i in $(seq 1 200); do
    [ -S "$T/root/run/vm1-admin.qmp" ] && [ -S "$T/root/run/blockcopy/vm1.qmp" ] && break
    kill -0 "${VM_PIDS[-1]}" 2>/dev/null || { cat "$T/qemu.log" >&2; fail "the README's QEMU exited"; }
    sleep 0.05
done
BLOCKCOPY_SOCKET_DIRS=$T/root/run/blockcopy expect_exit 0 bc disks vm1
expect_grep "vda .*$T/root/srv/vm1.qcow2" "$T/out"
expect_exit 0 bc -s "$T/root/run/vm1-admin.qmp" jobs
expect_eq "$(cat "$T/out")" "No block jobs" "jobs through the second monitor"

# qemu-nbd serves one client and exits unless -t says to persist.
nbd=$(tr '\n' ' ' <"$R" | grep -o 'qemu-nbd [^`]*')
[ -n "$nbd" ] || fail "no qemu-nbd example in the README"
[[ " $nbd " == *" -t "* ]] || fail "the README's qemu-nbd example lacks -t: $nbd"
