#!/usr/bin/env bash
# The shell reading commands from a pipe: the one-shot commands with the
# same options, DISK without DOMAIN after 'connect', quoting, errors on
# stderr, and an exit status that is 0 only if every command succeeded.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 8
vm_start vm1 $(blockdev_args "$T/src.qcow2" qcow2 disk0)
mkdir "$T/new dir"

# Move the disk into a directory with a space in its name and back.
cat >"$T/script" <<EOF
# Comments and blank lines are skipped.

connect vm1
disks
copy vda '$T/new dir/copy.qcow2' --wait
job vda --info
job vda --pivot
disks
copy vda $T/back\\ again.qcow2 --wait --pivot
job vda --info
disconnect
EOF
cat "$T/script" | expect_exit 0 bc shell || exit 1
cat >"$T/expect" <<EOF
Target  Device        Drive  Node   Format  Virtual size  Source
vda     virtio-disk0  -      disk0  qcow2   64 MiB        $T/src.qcow2
Now in mirroring phase
Block Copy: [100 %]
Successfully pivoted
Target  Device        Drive  Node                Format  Virtual size  Source
vda     virtio-disk0  -      bc-virtio-disk0-t1  qcow2   64 MiB        $T/new dir/copy.qcow2
Successfully pivoted
No current block job for vda
EOF
diff -u "$T/expect" "$T/out" || fail "stdout of the script"
[ -s "$T/err" ] && { cat "$T/err" >&2; fail "stderr is not empty"; }
images_equal "$T/src.qcow2" "$T/new dir/copy.qcow2"
images_equal "$T/src.qcow2" "$T/back again.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/back again.qcow2" "disk at the end"
expect_eq "$(job_ids vm1)" "" "jobs left"

# Without a command and with stdin not a terminal, blockcopy runs the
# same way.
printf 'connect vm1\njob vda --info\n' | expect_exit 0 bc || exit 1
expect_eq "$(cat "$T/out")" "No current block job for vda" "stdout without 'shell'"

# A failing command does not stop the script; the exit status is the
# first failure's, and only the errors go to stderr.
cat >"$T/bad" <<EOF
disks nosuchvm
nosuchcmd
connect vm1
copy vda '/unterminated
job vda --info
shell
EOF
expect_exit 2 bc shell <"$T/bad"
expect_eq "$(cat "$T/out")" "No current block job for vda" "stdout"
cat >"$T/expect" <<EOF
error: line 1: no VM named 'nosuchvm': no socket for it in $T/run and no QEMU process with -name nosuchvm
error: line 2: unknown command 'nosuchcmd'; to copy a disk: copy DOMAIN DISK DEST (see 'help')
error: line 4: unterminated single quote
error: line 6: already in the shell
EOF
diff -u "$T/expect" "$T/err" || fail "stderr of a script with errors"

# --stop-on-error stops at the first failure.
expect_exit 2 bc shell --stop-on-error <"$T/bad"
expect_eq "$(cat "$T/out")" "" "stdout after --stop-on-error"
expect_eq "$(wc -l <"$T/err")" "1" "errors after --stop-on-error"
printf 'connect vm1\ncopy vda %s --wait --pivot --granularity 3\njob vda --info\n' \
    "$T/never.qcow2" | expect_exit 2 bc shell --stop-on-error || exit 1
expect_eq "$(cat "$T/out")" "" "stdout after a refused copy"
expect_grep "granularity" "$T/err"
[ -e "$T/never.qcow2" ] && fail "a refused copy created its destination"

# 'quit' ends the script; global options at the start of a line hold for
# that line only.
printf -- '--json version\nversion\nquit\nnosuchcmd\n' | expect_exit 0 bc shell || exit 1
printf '{"blockcopy":"%s"}\nblockcopy %s\n' 0.1.0 0.1.0 >"$T/expect"
diff -u "$T/expect" "$T/out" || fail "stdout of --json, quit"

# The shell's own commands are refused on the command line.
expect_exit 2 bc connect vm1
expect_grep "'connect' works only in the shell" "$T/err"
printf 'disconnect\n' | expect_exit 2 bc shell || exit 1
expect_grep "not connected to a VM" "$T/err"
# A signal that aborts a waited copy also stops the script.
printf 'connect vm1\ncopy vda %s --bandwidth 1M --wait\nversion\n' "$T/slow.qcow2" \
    >"$T/script"
copy_running vm1 shell <"$T/script"
kill -INT $pid
wait $pid
expect_eq "$?" 1 "exit status of a script whose copy was aborted"
expect_eq "$(cat "$T/out")" "Copy aborted" "stdout of an aborted script"
expect_eq "$(job_ids vm1)" "" "jobs left"
exit 0
