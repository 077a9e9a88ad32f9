#!/usr/bin/env bash
# A monitor the tool cannot use: missing, stale, not a socket, out of
# reach of the user, or held by another client.  Each has its own message
# and exit status 1, and the VM is left as it was.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 4
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
s=$(sock vm1)

# Missing, not a socket, stale (QEMU gone, its socket file still there).
expect_exit 1 bc_limited 30 disks "$T/run/none.qmp"
expect_err "error: monitor socket '$T/run/none.qmp' does not exist"
echo not a socket >"$T/run/file.qmp"
expect_exit 1 bc_limited 30 disks "$T/run/file.qmp"
expect_err "error: '$T/run/file.qmp' is not a socket"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/run/stale.qmp"
expect_exit 1 bc_limited 30 disks "$T/run/stale.qmp"
expect_err "error: connection to '$T/run/stale.qmp' refused: no QEMU is listening there (a stale socket?)"
expect_exit 0 bc_limited 30 --json list
expect_eq "$(jq -r --arg s "unix:$T/run/stale.qmp" '.[] | select(.socket == $s) | .state' "$T/out")" \
    stale "list: a stale socket"

# Held by another client: QEMU serves one QMP client per socket, and a
# second one is accepted by the kernel but never greeted.
python3 - "$s" "$T/held" <<'PY' &
import socket, sys, time
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
c.recv(65536)
open(sys.argv[2], "w").close()
time.sleep(120)
PY
holder=$!
BG_PIDS+=($holder)
for i in $(seq 1 100); do [ -e "$T/held" ] && break; sleep 0.05; done
[ -e "$T/held" ] || fail "the first client did not connect"
BLOCKCOPY_GREETING_TIMEOUT_MS=500 expect_exit 1 bc_limited 30 "$s" drive0 "$T/dst.qcow2" --wait --pivot
# The kernel tells who holds it (sock_diag names the peer).
expect_err "error: monitor 'unix:$s' is held by pid $holder (python3): QEMU serves one client per monitor socket; a second one for the VM (-qmp unix:PATH,server=on,wait=off) lets blockcopy use whichever is free"
[ ! -e "$T/dst.qcow2" ] || fail "a copy with a busy monitor created $T/dst.qcow2"
# The socket given is the one used; a name leads to the VM's free one
# (every test VM has a second monitor, $T/vm1.test.qmp).
expect_exit 0 bc_limited 30 disks vm1
expect_grep "drive0" "$T/out"
expect_exit 0 bc_limited 30 --json list
expect_eq "$(jq -r --arg t "unix:$T/" '.[] | select(.name == "vm1" and
    (.socket | startswith($t))) | "\(.socket) \(.state)"' "$T/out" | sort)" \
"unix:$s busy
unix:$T/vm1.test.qmp free" "list: every monitor of vm1 and its state"
expect_exit 0 bc_limited 30 list
expect_grep "^vm1  *[0-9]*  *root  *busy  *unix:$s$" "$T/out"
kill "$holder"; wait "$holder" 2>/dev/null
# Once the other client is gone, the monitor is the tool's.
for i in $(seq 1 50); do
    bc_limited 30 disks "$s" >"$T/out" 2>"$T/err" && break
    sleep 0.1
done
expect_grep drive0 "$T/out"

# Out of reach of an unprivileged user: a directory it cannot enter, then
# a socket it cannot write.  The tests run as root, so the tool runs as
# nobody; root itself passes any permission check.
if [ "$(id -u)" -ne 0 ]; then
    note "not root: cannot run the tool as another user, permission cases skipped"
    exit 0
fi
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}
if [ "${BC_TEST_CHECKER:-}" = valgrind ]; then
    # The wrapper runs the tool in the tree, which nobody must reach.
    bcn=$BLOCKCOPY
else
    # A copy of the tool, in case nobody cannot reach the tree.
    mkdir -m 755 "$T/bin"
    cp "$TOP/blockcopy" "$T/bin/blockcopy"
    bcn=$T/bin/blockcopy
fi
chmod 711 "$T"
chmod 755 "$T/run"
as_nobody "$bcn" version >/dev/null 2>&1 || {
    note "nobody cannot run $bcn here, permission cases skipped"
    exit 0
}
note "running the tool as nobody: $bcn"
mkdir -m 700 "$T/private"
ln -s "$s" "$T/private/vm1.qmp"
expect_exit 1 as_nobody "$bcn" disks "$T/private/vm1.qmp"
expect_err "error: no permission to connect to monitor socket '$T/private/vm1.qmp' (try as root or as QEMU's user)"
chmod 600 "$s"
expect_exit 1 as_nobody "$bcn" disks "$s"
expect_err "error: no permission to connect to monitor socket '$s' (try as root or as QEMU's user)"
# With the permission, the same user gets in.
chmod 666 "$s"
expect_exit 0 as_nobody "$bcn" disks "$s"
expect_grep drive0 "$T/out"
exit 0
