#!/usr/bin/env bash
# While the shell waits for input, the connected VM's events that matter
# appear above the prompt, and the line being typed stays as it was: a
# copy getting ready, a copy cancelled elsewhere, the VM going away.
. "$(dirname "$0")/lib.sh"
need_qemu
export XDG_STATE_HOME=$T/state

VM=bcevents$$
img_create "$T/src.qcow2" qcow2 1G 64
# A second monitor: the shell holds the first one.
vm_start "$VM" $(blockdev_args "$T/src.qcow2" qcow2 disk0) \
    -qmp "unix:$T/mon2.qmp,server=on,wait=off"

# mon2 COMMAND [ARGS]: a QMP command on the second monitor; JOB in ARGS
# stands for the id of the VM's block job.
cat >"$T/mon2" <<EOF
#!/bin/sh
job=\$("$QMPC" "$T/mon2.qmp" query-block-jobs | jq -r '.[0].device // empty')
exec "$QMPC" "$T/mon2.qmp" "\$1" \${2:+"\$(echo "\$2" | sed "s/JOB/\$job/")"} >/dev/null
EOF
chmod +x "$T/mon2"

# held-again: wait until a client holds the VM's first monitor again.
cat >"$T/held-again" <<EOF
#!/bin/sh
for i in \$(seq 100); do
    "$BLOCKCOPY" --json list | jq -e --arg s "unix:$T/run/$VM.qmp" \
        '.[] | select(.socket == \$s and .state == "busy")' >/dev/null && exit 0
    sleep 0.1
done
exit 1
EOF
chmod +x "$T/held-again"

cat >"$T/session" <<EOF
expect blockcopy> 
send connect $VM\r
expect blockcopy ($VM)> 
send copy vda $T/dst.qcow2 --bandwidth 1M\r
expect Block Copy started
expect blockcopy ($VM)> 
# Half a command typed; then the copy gets ready.
send job vda --inf
expect job vda --inf
run $T/mon2 block-job-set-speed '{"device": "JOB", "speed": 0}'
expect [$VM] vda: Block Copy ready, now in mirroring phase
expect blockcopy ($VM)> job vda --inf
send o\r
expect Block Copy: [100 %]
send job vda --abort\r
expect Successfully copied
expect blockcopy ($VM)> 
send copy vda $T/dst2.qcow2 --bandwidth 1M\r
expect Block Copy started
expect blockcopy ($VM)> 
run $T/mon2 block-job-cancel '{"device": "JOB"}'
expect [$VM] vda: Block Copy cancelled
expect blockcopy ($VM)> 
# Another client waits for the monitor the idle shell holds: the shell
# lets it go, and takes it back once it is free.
run $BLOCKCOPY disks $T/run/$VM.qmp >$T/other.out
expect (the monitor of $VM is left to another client that waits for it; events resume once it is free)
expect blockcopy ($VM)> 
run $T/held-again
# Connecting again to the VM the shell holds.
send connect $VM\r
expect blockcopy ($VM)> 
absent held by
# QEMU goes away: the shell says so and forgets the VM.
send disks
expect disks
run $T/mon2 quit
expect [$VM] the VM shut down (host-qmp-quit)
expect [$VM] QEMU went away: disconnected
expect blockcopy> disks
send \r
expect error: command 'disks' requires <domain> option
# Ctrl-D only at the prompt: typed ahead, the terminal drops it.
expect blockcopy> 
send \x04
exit 0
EOF
"$TESTS_DIR/helpers/pty-run" "$T/session" --log "$T/events.log" -- \
    "$BLOCKCOPY" || fail "the terminal session"
images_equal "$T/src.qcow2" "$T/dst.qcow2"
exit 0
