#!/usr/bin/env bash
# A 100 MiB reply is refused once it passes the 16 MiB limit, without
# reading the rest or holding it in memory.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 not found (Debian: apt-get install python3)"

fake_qmp huge huge --log "$T/huge.log"
expect_exit 1 "$TESTS_DIR/helpers/maxrss" "$T/rss" \
    timeout -k 5 60 "$BLOCKCOPY" disks "$(sock huge)"
expect_err "error: message from QEMU exceeds 16 MiB; refusing it"

# The tool hung up long before the end of the message.
for i in $(seq 1 100); do
    [ -s "$T/huge.log" ] && break
    sleep 0.1
done
sent=$(sed -n 's/^huge: sent \([0-9]*\) bytes$/\1/p' "$T/huge.log")
[ -n "$sent" ] || fail "fake-qmp did not log what it sent"
[ "$sent" -lt $((32 * 1024 * 1024)) ] ||
    fail "the tool read $sent bytes of a message it should refuse at 16 MiB"

# At most the limit is ever held, not the message: far below 100 MiB.
# (maxrss reports the largest of timeout and the tool it ran.)
# Under a memory checker the process is the checker's and much larger.
rss=$(cat "$T/rss")
note "peak RSS ${rss} KiB, fake-qmp sent $sent bytes"
if [ -z "${BC_TEST_CHECKER:-}" ]; then
    [ "$rss" -lt $((48 * 1024)) ] ||
        fail "peak RSS $rss KiB for a refused message: it is being kept"
fi
exit 0
