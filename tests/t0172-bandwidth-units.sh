#!/usr/bin/env bash
# --bandwidth follows the same rules in 'copy' and 'job': a bare number
# under 1 MiB/s, which virsh would read as MiB/s, is refused unless --bytes
# says it is bytes; "10Mb" (bits or bytes?) is refused; limits are shown
# in the unit that fits.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 8
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

speed() { qmp vm1 query-block-jobs | jq -r '.[0].speed'; }

unchanged vm1 bc vm1 vda "$T/c.qcow2" --bandwidth 100
expect_eq "$(cat "$T/err")" \
    "error: --bandwidth 100 would be 100 B/s; did you mean 100M? (--bytes if bytes are meant)" \
    "copy --bandwidth 100"
unchanged vm1 bc vm1 vda "$T/c.qcow2" --bandwidth 10Mb
expect_grep "error: --bandwidth 10Mb is ambiguous (bits or bytes?): write 10MB (bytes, powers of 1000) or 10M (powers of 1024)" "$T/err"
[ ! -e "$T/c.qcow2" ] || fail "a refused copy created its destination"

# Bytes when --bytes says so; in the fitting unit everywhere.
expect_exit 0 bc vm1 vda "$T/c.qcow2" --bandwidth 100 --bytes
expect_eq "$(speed)" 100 "speed with --bytes"
expect_exit 0 bc job vm1 vda
expect_grep "Bandwidth limit: 100 bytes/s (100.000 B/s)" "$T/out"
expect_exit 0 bc jobs vm1
expect_grep " 100 B/s$" "$T/out"

unchanged vm1 bc job vm1 vda --bandwidth 50
expect_eq "$(cat "$T/err")" \
    "error: --bandwidth 50 would be 50 B/s; did you mean 50M? (--bytes if bytes are meant)" \
    "job --bandwidth 50"
expect_eq "$(speed)" 100 "speed after a refused --bandwidth"
unchanged vm1 bc job vm1 vda --bandwidth 1Kb
expect_grep "ambiguous" "$T/err"

expect_exit 0 bc job vm1 vda --bandwidth 50 --bytes
expect_eq "$(speed)" 50 "job --bandwidth 50 --bytes"
expect_exit 0 bc job vm1 vda --bandwidth 512K
expect_exit 0 bc jobs vm1
expect_grep " 512 KiB/s$" "$T/out"
expect_exit 0 bc job vm1 vda --bandwidth 1536K
expect_exit 0 bc jobs vm1
expect_grep " 1.5 MiB/s$" "$T/out"
expect_exit 0 bc job vm1 vda --bandwidth 3G
expect_exit 0 bc job vm1 vda
expect_grep "Bandwidth limit: 3221225472 bytes/s (3.000 GiB/s)" "$T/out"
# A bare number of at least 1 MiB/s is bytes, as libvirt's API reads it.
expect_exit 0 bc job vm1 vda --bandwidth 2097152
expect_eq "$(speed)" 2097152 "a large bare number"
expect_exit 0 bc job vm1 vda --bandwidth 0
expect_exit 0 bc jobs vm1
expect_grep " unlimited$" "$T/out"
expect_exit 0 bc job vm1 vda --abort

# The progress line on a terminal shows the limit in its unit too; Ctrl-C
# aborts the copy and leaves the VM on its source.
printf 'expect limit 512 KiB/s\nsend \\x03\nexit 1\n' >"$T/session"
"$TESTS_DIR/helpers/pty-run" "$T/session" --log "$T/terminal.log" -- \
    "$BLOCKCOPY" vm1 vda "$T/p.qcow2" --bandwidth 512K --wait --verbose ||
    { cat "$T/terminal.log" >&2; fail "no limit on the progress line"; }
expect_eq "$(qmp vm1 query-block-jobs)" "[]" "jobs after Ctrl-C"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/src.qcow2" "disk after Ctrl-C"
