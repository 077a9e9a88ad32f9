#!/usr/bin/env bash
# --json: one document for one-shot commands, JSON lines while waiting;
# progress only when the percentage changes, never a flood.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/a.qcow2" qcow2 64M 24
vm_start vm1 $(drive_args "$T/a.qcow2" qcow2 drive0)

expect_exit 0 bc --json vm1 vda "$T/b.qcow2" --bandwidth 8M --pivot --verbose
jq -e . "$T/out" >/dev/null || fail "output is not JSON lines"
expect_eq "$(jq -r 'select(.type != "progress") | "\(.type) \(.state // .status)"' "$T/out" | tr '\n' ',')" \
    "state ready,state pivoted,result pivoted," "state and result lines"
expect_eq "$(tail -1 "$T/out" | jq -c '{type, disk, status, exit}')" \
    '{"type":"result","disk":"vda","status":"pivoted","exit":0}' "result line"
jq -se 'map(select(.type == "progress")) | all(.job == "bc-drive0" and
       (.offset | type) == "number" and (.len | type) == "number" and
       .speed == 8388608 and .time > 1e9 and (.percent | type) == "number")' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "progress line fields"; }
[ "$(jq -r 'select(.type == "progress") | .percent' "$T/out" | uniq -d | wc -l)" = 0 ] ||
    fail "a percentage was printed twice"
[ "$(jq -r 'select(.type == "progress") | .percent' "$T/out" | wc -l)" -ge 2 ] ||
    fail "too few progress lines"
[ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "human progress with --json"; }
# The summary in the result: the data written is the disk's 24 MiB (and
# the image's metadata), not its 64 MiB; the rate is the work over time,
# so it keeps to the limit however many zeroes the copy passes over.
jq -se 'last | .duration > 0 and .written >= 24*1048576 and
        .written < 26*1048576 and .["switch-time"] >= 0 and
        .["average-rate"] <= 2*8388608 and .["average-rate"] > 0' \
    "$T/out" >/dev/null || { tail -1 "$T/out" >&2; fail "summary in the result"; }
jq -se 'map(select(.type == "progress" and .written != null)) |
        length > 0 and all(.rate <= 2*8388608 and .data >= 24*1048576)' \
    "$T/out" >/dev/null || { cat "$T/out" >&2; fail "rate from the data written"; }

# Without a terminal, --verbose prints one plain line per percent.
expect_exit 0 bc vm1 vda "$T/c.qcow2" --bandwidth 8M --finish --verbose
[ "$(uniq -d "$T/err" | wc -l)" = 0 ] || fail "a progress line was repeated"
expect_grep "^Block Copy: \[100 %\]$" "$T/err"
expect_grep "^Copied 2[45]\.[0-9] MiB in [0-9.]* s (.* of zeroes skipped), [0-9.]* [KM]iB/s; switched [0-9.]* s after ready$" "$T/err"

# One document for one-shot commands, errors included.
for cmd in "disks vm1" "jobs vm1" "job vm1 vda" "list" "version" "help" \
           "qmp vm1 query-status"; do
    expect_exit 0 bc --json $cmd
    [ "$(jq -s length "$T/out")" = 1 ] || fail "'$cmd --json' is not one document"
done
expect_exit 0 bc --json vm1 vda /x/y.qcow2 --print-xml
expect_eq "$(jq -r .type "$T/out")" xml "--print-xml --json"
expect_exit 2 bc --json vm1 vda "$T/c.qcow2"
expect_eq "$(jq -c '{status, exit, code: .error.code}' "$T/out")" \
    '{"status":"error","exit":2,"code":"invalid-arg"}' "error document"
expect_exit 2 bc --json vm1 vda "$T/x.qcow2" --pivot --finish
expect_eq "$(jq -c '{status, exit, code: .error.code}' "$T/out")" \
    '{"status":"error","exit":2,"code":"usage"}' "usage error document"
expect_exit 0 bc --json vm1 vda "$T/d.qcow2" --bandwidth 1M
expect_eq "$(jq -c '{status, exit}' "$T/out")" '{"status":"started","exit":0}' "started"
expect_exit 0 bc --json job vm1 vda --abort
expect_eq "$(jq -r .status "$T/out")" aborted "job --abort"
exit 0
