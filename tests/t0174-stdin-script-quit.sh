#!/usr/bin/env bash
# --xml - reads the XML from standard input; a script's errors say their
# line; 'qmp DOMAIN quit' succeeds when the VM quit, also when QEMU hangs
# up before it answers, and fails when the VM still runs.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 16M 2
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

printf '<disk type="file"><driver type="qcow2"/><source file="%s"/></disk>\n' \
    "$T/x.qcow2" >"$T/dest.xml"
expect_exit 0 bc vm1 vda --xml - --finish <"$T/dest.xml"
expect_eq "$(cat "$T/out")" "Successfully copied" "--xml -"
images_equal "$T/src.qcow2" "$T/x.qcow2"
# In the shell standard input holds the commands.
printf 'copy vm1 vda --xml - --finish\n' >"$T/script"
unchanged vm1 bc shell <"$T/script"
expect_grep "error: line 1: --xml - cannot read standard input in the shell" "$T/err"

# Errors and warnings of a script carry the line they come from.
printf 'disks vm1\n\n# a comment\ndsks vm1\njob vm1 vda --bandwidth\n' >"$T/script"
expect_exit 2 bc <"$T/script"
expect_eq "$(cat "$T/err")" "error: line 4: unknown command 'dsks'; did you mean 'disks'?
error: line 5: option --bandwidth needs a value (SIZE)" "script errors"

# QEMU hangs up without answering 'quit' (the proxy drops the answer):
# the VM is gone, so that is success.
proxy_start vm1 --fault close-after --command quit
expect_exit 0 bc qmp "unix:$px" quit
expect_eq "$(jq -c . "$T/out")" "{}" "qmp quit"
pid=$(cat "$T/vm1.pid")
for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the VM still runs after quit"
proxy_stop vm1

# The connection lost before QEMU got 'quit': the VM runs, a failure.
vm_start vm2 $(drive_args "$T/src.qcow2" qcow2 drive0) -snapshot
proxy_start vm2 --fault close-before --command quit
expect_exit 1 bc qmp "unix:$px" quit
expect_grep "closed the monitor connection" "$T/err"
kill -0 "$(cat "$T/vm2.pid")" || fail "vm2 quit"
expect_exit 0 bc qmp vm2 quit
