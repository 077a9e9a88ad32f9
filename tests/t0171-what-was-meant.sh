#!/usr/bin/env bash
# A misspelt command, a virsh command name or an option of another command
# is refused (exit 2, nothing changed) with what was probably meant, never
# run as a copy; COMMAND --help shows that command's help.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 16M 1
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# meant MESSAGE ARGS...: refused with exactly MESSAGE, the VM unchanged.
meant() {
    local msg=$1; shift
    unchanged vm1 bc "$@"
    expect_eq "$(cat "$T/err")" "error: $msg" "message of '$*'"
    [ ! -s "$T/out" ] || fail "'$*' printed on stdout"
}

meant "unknown command 'dsks'; did you mean 'disks'?" dsks vm1
meant "unknown command 'disk'; did you mean 'disks'?" disk vm1
meant "unknown command 'jbos'; did you mean 'jobs'?" jbos vm1
meant "unknown command 'domblklist'; did you mean 'disks'?" domblklist vm1
meant "unknown command 'domjobinfo'; did you mean 'jobs'?" domjobinfo vm1
meant "unknown command 'blockjob'; did you mean 'job'?" blockjob vm1 vda --info
meant "unknown command 'blockcopy'; did you mean 'copy'?" blockcopy vm1 vda "$T/d.qcow2"
meant "unknown command 'blockjob'; did you mean 'job'?" -s "$(sock vm1)" blockjob vda
meant "unknown command 'dsks'; did you mean 'disks'?" -s "$(sock vm1)" dsks
meant "unknown command 'dsks'; did you mean 'disks'?" help dsks
# Neither a command nor a VM, and no copy could follow.
meant "unknown command 'status'; to copy a disk: blockcopy DOMAIN DISK DEST (see 'blockcopy help')" status vm1

# Options: of another command, or a slip.
meant "unknown option --info; it is an option of 'job'" vm1 vda "$T/d.qcow2" --info
meant "command 'copy' doesn't support option --info; it is an option of 'job'" copy vm1 vda "$T/d.qcow2" --info
meant "unknown option --versoin; did you mean --version?" --versoin
meant "unknown option -v; did you mean -V (--version)?" -v
meant "unknown option --jsn; did you mean --json?" --jsn list
meant "command 'job' doesn't support option --wiat; did you mean --wait?" job vm1 vda --wiat

# A VM that is not running is not found; no command is suggested.
meant "no VM named 'newvm': no socket for it in $T/run and no QEMU process with -name newvm" \
    newvm vda "$T/d.qcow2"

# A VM whose name is near a command's is still that VM.
img_create "$T/other.qcow2" qcow2 16M 1
vm_start disk $(drive_args "$T/other.qcow2" qcow2 drive0)
expect_exit 0 bc disk vda "$T/d.qcow2" --dry-run
expect_grep '"blockdev-mirror"' "$T/out"
[ ! -e "$T/d.qcow2" ] || fail "the dry run created the destination"

# COMMAND --help: that command's help, exit 0, in the shell too.
expect_exit 0 bc copy --help
expect_grep "^usage: blockcopy copy DOMAIN \[DISK\] \[DEST\]" "$T/out"
expect_grep "--bandwidth SIZE" "$T/out"
expect_exit 0 bc vm1 vda --help
expect_grep "^usage: blockcopy copy " "$T/out"
expect_exit 0 bc job -h
expect_grep "^usage: blockcopy job DOMAIN DISK" "$T/out"
expect_exit 0 bc --json disks --help
expect_eq "$(jq -r '.commands[0].name' "$T/out")" disks "--json disks --help"
expect_exit 0 bc shell <<<"jobs --help"
expect_grep "^usage: blockcopy jobs DOMAIN" "$T/out"
expect_exit 2 bc shell <<<"dsks vm1"
expect_grep "unknown command 'dsks'; did you mean 'disks'?" "$T/err"
