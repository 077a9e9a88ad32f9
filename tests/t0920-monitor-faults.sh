#!/usr/bin/env bash
# Monitors that misbehave as no real QEMU does, played by fake-qmp: each
# fault ends the tool at once (or after its timeout) with exit status 1
# and a message that names the problem, and nothing is left behind.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 not found (Debian: apt-get install python3)"

# A monitor that accepts but never greets is held by another client; the
# wait honours BLOCKCOPY_GREETING_TIMEOUT_MS.
fake_qmp silent silent
BLOCKCOPY_GREETING_TIMEOUT_MS=700 expect_exit 1 bc_limited 30 disks "$(sock silent)"
expect_err "error: 'unix:$(sock silent)' accepted the connection but QEMU sent no greeting within 700 ms: the monitor is held by another client (libvirtd keeps its own connection open)"
expect_eq "$(cat "$T/out")" "" "stdout"

# A greeting that is not JSON, and JSON that is not a QMP greeting.
fake_qmp badjson bad-json
expect_exit 1 bc_limited 30 disks "$(sock badjson)"
expect_err "error: 'unix:$(sock badjson)' is not a QMP monitor: it does not speak JSON (a human monitor, -monitor, perhaps?)"
fake_qmp notqmp not-qmp
expect_exit 1 bc_limited 30 disks "$(sock notqmp)"
expect_err "error: 'unix:$(sock notqmp)' is not a QMP monitor: its first message is not a QMP greeting"

# Half a reply, then the end of the stream.
fake_qmp truncated truncated
expect_exit 1 bc_limited 30 disks "$(sock truncated)"
expect_err "error: QEMU closed the monitor connection in the middle of a message (49 bytes read)"

# Binary garbage for a reply.
fake_qmp garbage garbage
expect_exit 1 bc_limited 30 disks "$(sock garbage)"
expect_err "error: malformed JSON from QEMU: unexpected character"

# A reply that never comes: the command times out, and a copy stops
# before it has created anything.
fake_qmp noreply no-reply
BLOCKCOPY_COMMAND_TIMEOUT_MS=700 expect_exit 1 bc_limited 30 disks "$(sock noreply)"
expect_err "error: QEMU did not answer 'query-block' within 700 ms"
BLOCKCOPY_COMMAND_TIMEOUT_MS=700 expect_exit 1 bc_limited 30 "$(sock noreply)" vda "$T/dst.qcow2" --wait --pivot
expect_err "error: Copy failed: QEMU did not answer 'query-block' within 700 ms"
[ ! -e "$T/dst.qcow2" ] || fail "a copy that timed out created $T/dst.qcow2"

# An error reply to every command, qmp_capabilities included.
fake_qmp errall error-all
expect_exit 1 bc_limited 30 disks "$(sock errall)"
expect_err "error: cannot negotiate QMP capabilities with 'unix:$(sock errall)': fake failure of 'qmp_capabilities'"

# An error reply to every command after a good handshake: QEMU's reason
# is shown; --json carries its class.
fake_qmp errcmd error-commands
expect_exit 1 bc_limited 30 disks "$(sock errcmd)"
expect_err "error: fake failure of 'query-block'"
expect_exit 1 bc_limited 30 --json disks "$(sock errcmd)"
expect_eq "$(jq -r '.error."qmp-class"' "$T/out")" "GenericError" "qmp-class"
expect_exit 1 bc_limited 30 "$(sock errcmd)" vda "$T/dst.qcow2" --wait --pivot
expect_err "error: Copy failed: fake failure of 'query-block'"
[ ! -e "$T/dst.qcow2" ] || fail "a failed copy created $T/dst.qcow2"
exit 0
