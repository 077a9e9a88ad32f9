#!/usr/bin/env bash
# Completion without a terminal: the hidden '__complete LINE' command that
# the shell's Tab key and completion scripts use offers commands, options,
# option values, VM names, the disks of the live VM and file names.
. "$(dirname "$0")/lib.sh"
need_qemu

# VM names come from every QEMU process on this machine: this one is
# nobody else's, and the tests complete VM names from its start.
VM=bccomplete$$
img_create "$T/src.qcow2" qcow2 64M
img_create "$T/data.raw" raw 16M
vm_start "$VM" $(blockdev_args "$T/src.qcow2" qcow2 disk0) \
    $(drive_args "$T/data.raw" raw drive1 virtio-disk1)
mkdir "$T/dir with space"
touch "$T/dest.xml"

# complete LINE EXPECTED...: the candidates, one a line, nothing else.
complete() {
    local line=$1; shift
    expect_exit 0 bc __complete -- "$line"
    printf '%s\n' "$@" | sed '/^$/d' >"$T/expect"
    diff -u "$T/expect" "$T/out" || fail "completions of '$line'"
    [ -s "$T/err" ] && { cat "$T/err" >&2; fail "stderr for '$line'"; }
    return 0
}

# Commands, and VM names for the default command; not the shell's own.
expect_exit 0 bc __complete
printf '%s\n' copy disks help job jobs list qmp shell version "$VM" |
    LC_ALL=C sort >"$T/expect"
grep -xF -f "$T/expect" "$T/out" | diff -u "$T/expect" - ||
    fail "completions of an empty line"
complete "bccomplete" "$VM"
complete "jo" job jobs
complete "help con" ""
complete "--j" --json

# The disks of the named VM, from QEMU: target, device, drive and node.
complete "copy $VM " disk0 drive1 vda vdb virtio-disk0 virtio-disk1
complete "$VM v" vda vdb virtio-disk0 virtio-disk1
complete "job $VM vd" vda vdb
complete "copy nosuchvm " ""
complete "disks bccomplete" "$VM"
complete "disks --domain bccomplete" "$VM"

# Options of the command being typed, without those already given.
complete "copy $VM vda --wa" --wait
complete "copy $VM vda --p" --pivot --print-xml
complete "job $VM vda --pivot --" --abort --any-owner --async --bandwidth --bytes \
    --finish --help --info --json --quiet --raw --socket --synchronous-writes \
    --timeout --verbose --wait
complete "copy $VM vda /x --wait " --all --any-owner --async --auto-converge --bandwidth --blockdev --buf-size \
    --bytes --dest-dir --dest-is-zero --dry-run --finish --format --granularity \
    --help --json --pivot --print-xml --quiet --raw --reuse-external --secret-file \
    --shallow --socket --synchronous-writes --timeout --tls-dir --tls-hostname \
    --transient-job \
    --verbose --xml
# Its value only follows '=': the next word is not one.
complete "copy $VM vda /x --pivot --auto-converge --sh" --shallow

# Option values.
complete "copy $VM vda /x --format q" qcow2 qed
complete "copy $VM vda /x --format=r" --format=raw
complete "help j" job jobs

# File names for DEST and --xml, unquoted; directories end with '/'.
complete "copy $VM vda $T/d" "$T/data.raw" "$T/dest.xml" "$T/dir with space/"
complete "copy $VM vda $T/dir\\ w" "$T/dir with space/"
complete "copy $VM vda '$T/dir w" "$T/dir with space/"
complete "copy $VM vda --xml=$T/de" "--xml=$T/dest.xml"
complete "copy $VM vda --xml $T/de" "$T/dest.xml"
complete "-s $T/run/b" "$T/run/$VM.qmp"

# In the shell, after 'connect', DISK comes without DOMAIN and the
# shell's own commands complete too.
printf '%s\n' "connect $VM" "__complete 'job '" "__complete 'copy vda $T/s'" \
    "__complete 'con'" "__complete 'help di'" | expect_exit 0 bc shell || exit 1
cat >"$T/expect" <<EOF
disk0
drive1
vda
vdb
virtio-disk0
virtio-disk1
$T/src.qcow2
connect
disconnect
disks
EOF
diff -u "$T/expect" "$T/out" || fail "completions in the shell"
exit 0
