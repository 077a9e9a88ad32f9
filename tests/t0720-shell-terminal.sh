#!/usr/bin/env bash
# The shell on a terminal: the prompt, help, Tab completion of a command,
# a VM, an option and a disk of the connected VM, Ctrl-C clearing the line
# at the prompt and aborting a copy being waited on, and the shell going
# on after both.
. "$(dirname "$0")/lib.sh"
need_qemu
export XDG_STATE_HOME=$T/state

# Other QEMUs on this machine show up in VM name completion: this name
# is nobody else's.
VM=bcshell$$
img_create "$T/src.qcow2" qcow2 1G 64
vm_start "$VM" $(blockdev_args "$T/src.qcow2" qcow2 disk0)

cat >"$T/session" <<EOF
expect blockcopy> 
send help\r
expect Shell:
expect connect    make DOMAIN the VM
expect 'help COMMAND' describes a command's options.
expect blockcopy> 
# A command name and a VM name.
send conn\tbcshell\t\r
expect blockcopy ($VM)> 
# A disk of the connected VM and an option of the command.
send job vd\t--inf\t\r
expect No current block job for vda
# When the candidates agree no further, Tab lists them.
send job \t
expect disk0
expect vda
expect virtio-disk0
expect blockcopy ($VM)> job 
# Ctrl-C at the prompt throws the line away.
send vda --abort\x03
expect ^C
expect blockcopy ($VM)> 
send version\r
expect blockcopy 0.1.0
# Ctrl-C while a copy is waited on aborts the copy, not the shell.
send copy vda $T/slow.qcow2 --wait --verbose --pivot --bandwidth 1M\r
expect Block Copy: [
send \x03
expect Copy aborted
expect blockcopy ($VM)> 
# The shell handles Ctrl-C again.
send jobs --domain nosuchvm\x03
expect ^C
send jobs\r
expect No block jobs
# Ctrl-D only at the prompt: typed ahead, the terminal drops it.
expect blockcopy ($VM)> 
send \x04
exit 0
absent error:
EOF
"$TESTS_DIR/helpers/pty-run" "$T/session" --log "$T/terminal.log" -- \
    "$BLOCKCOPY" || fail "the terminal session"

# The VM is still on its source, with nothing of the aborted copy left.
expect_eq "$(disk_file "$VM" virtio-disk0)" "$T/src.qcow2" "disk after Ctrl-C"
expect_eq "$(job_ids "$VM")" "" "jobs left"
expect_eq "$(node_names "$VM" | tr '\n' ' ')" "disk0 disk0-file " "nodes"
exit 0
