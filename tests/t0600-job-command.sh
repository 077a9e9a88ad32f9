#!/usr/bin/env bash
# The job command as virsh blockjob, and the jobs listing, against real
# jobs: the tool's own and one started by another client.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/a.qcow2" qcow2 64M 32
img_create "$T/b.qcow2" qcow2 64M 8
vm_start vm1 $(drive_args "$T/a.qcow2" qcow2 drive0) \
    -drive "file=$T/b.qcow2,if=none,id=drive1,format=qcow2" \
    -device virtio-blk-pci,drive=drive1,id=virtio-disk1

expect_exit 0 bc job vm1 vda
expect_eq "$(cat "$T/out")" "No current block job for vda" "no job"
expect_exit 0 bc job vm1 vda --raw
expect_eq "$(cat "$T/out")" "" "--raw without a job"

expect_exit 0 bc vm1 vda "$T/c.qcow2" --bandwidth 1M
expect_exit 0 bc job vm1 vda --info
expect_grep "^Block Copy: \[ *[0-9]* %\]    Bandwidth limit: 1048576 bytes/s (1.000 MiB/s)$" "$T/out"
expect_exit 0 bc job vm1 vda --raw
expect_eq "$(sed -n 's/^ type=//p; s/^ bandwidth=//p' "$T/out" | tr '\n' ' ')" \
    "Block Copy 1048576 " "--raw type and bandwidth"
expect_eq "$(sed -n 's/^ end=//p' "$T/out")" 33554432 "--raw end"
expect_exit 0 bc job vm1 vda --bandwidth 2M
expect_exit 0 bc --json job vm1 vda
expect_eq "$(jq -r '.job.speed' "$T/out")" 2097152 "speed after --bandwidth"
expect_eq "$(jq -r '.job | "\(.id) \(.type) \(.status) \(.disk)"' "$T/out")" \
    "bc-drive0 mirror running vda" "job as JSON"

# Another client's job on the second disk.
qmp vm1 blockdev-add "{\"driver\": \"qcow2\", \"node-name\": \"other-target\",
    \"file\": {\"driver\": \"file\", \"filename\": \"$T/other.qcow2\"}}" 2>/dev/null ||
    { "$QEMU_IMG" create -q -f qcow2 "$T/other.qcow2" 64M &&
      qmp vm1 blockdev-add "{\"driver\": \"qcow2\", \"node-name\": \"other-target\",
          \"file\": {\"driver\": \"file\", \"filename\": \"$T/other.qcow2\"}}" >/dev/null; }
qmp vm1 blockdev-mirror '{"job-id": "their-job", "device": "drive1",
    "target": "other-target", "sync": "full", "speed": 1}' >/dev/null
expect_exit 0 bc jobs vm1
expect_grep "^vda  *bc-drive0  *mirror  *running  *[0-9]* %  *2 MiB/s$" "$T/out"
expect_grep "^vdb  *their-job  *mirror  *running  *[0-9]* %  *1 B/s$" "$T/out"
expect_exit 0 bc --json jobs vm1
expect_eq "$(jq -r '[.[] | "\(.disk):\(.id)"] | sort | join(" ")' "$T/out")" \
    "vda:bc-drive0 vdb:their-job" "jobs as JSON"
expect_exit 0 bc job vm1 vdb --abort
expect_eq "$(cat "$T/out")" "Copy aborted" "abort of their job"
expect_eq "$(job_ids vm1)" "bc-drive0" "jobs left"

# Exclusions as virsh.
for pair in "--info --abort" "--raw --pivot" "--info --bandwidth 1" "--pivot --finish" \
            "--abort --finish" "--bandwidth 1 --wait"; do
    unchanged vm1 bc job vm1 vda $pair
    expect_grep "mutually exclusive" "$T/err"
done
unchanged vm1 bc job vm1 vda --verbose
expect_grep "\-\-verbose requires --wait" "$T/err"
unchanged vm1 bc job vm1 vda --async
expect_grep "\-\-async requires" "$T/err"

# What this QEMU offers, from its schema.
has_job_change=$(qmp vm1 query-qmp-schema |
    jq '[.[] | select(.name == "block-job-change")] | length > 0')
expect_exit 0 bc --json version vm1
expect_eq "$(jq -r '.features."block-job-change"' "$T/out")" "$has_job_change" \
    "version: block-job-change"
expect_eq "$(jq -r .qemu "$T/out")" \
    "$(qmp vm1 query-version | jq -r '.qemu | "\(.major).\(.minor).\(.micro)"')" \
    "version: QEMU's"
# actively-synced came with block-job-change (8.2), in a branch of the
# union BlockJobInfo became then.
expect_eq "$(jq -r '.features."actively-synced"' "$T/out")" "$has_job_change" \
    "version: actively-synced"
expect_exit 0 bc version vm1
expect_grep "^  block-job-change   $([ "$has_job_change" = true ] && echo yes || echo 'no (QEMU 8.2 or later)')$" "$T/out"

# Synchronous writes for a running copy: QEMU 8.2's block-job-change.
# Without it, refused up front and the copy goes on as it was; with it,
# the copy switches while the guest writes and ends identical.
if [ "$has_job_change" = true ]; then
    hmp vm1 'qemu-io drive0 "write -P 0x5a 1M 1M"' >/dev/null
    expect_exit 0 bc job vm1 vda --synchronous-writes
    expect_eq "$(cat "$T/out")" "Switched to synchronous writes" "switched"
    hmp vm1 'qemu-io drive0 "write -P 0x5b 3M 1M"' >/dev/null
    expect_exit 0 bc job vm1 vda --bandwidth 0
    for _ in $(seq 100); do
        [ "$(qmp vm1 query-block-jobs | jq -r '.[0]."actively-synced"')" = true ] && break
        sleep 0.1
    done
    expect_exit 0 bc --json job vm1 vda
    expect_eq "$(jq -r '.job."actively-synced"' "$T/out")" true "actively synced"
    expect_exit 0 bc job vm1 vda --info
    expect_grep "^Actively synced" "$T/out"
else
    state vm1 >"$T/state.before"
    expect_exit 2 bc job vm1 vda --synchronous-writes
    expect_grep "cannot switch a running copy to synchronous writes: that needs block-job-change, QEMU 8.2 or later" "$T/err"
    state vm1 >"$T/state.after"
    diff -u "$T/state.before" "$T/state.after" || fail "a refused switch changed the VM"
    expect_exit 0 bc --json job vm1 vda
    expect_eq "$(jq -r '.job | has("actively-synced")' "$T/out")" false \
        "actively-synced from a QEMU that does not say"
fi
unchanged vm1 bc job vm1 vdb --synchronous-writes
expect_grep "No current block job for vdb\|no block job" "$T/err"
unchanged vm1 bc job vm1 vda --synchronous-writes --pivot
expect_grep "mutually exclusive" "$T/err"

# Attach to the running copy, then finish it.
expect_exit 0 bc job vm1 vda --bandwidth 0
expect_exit 0 bc job vm1 vda --wait --verbose --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "job --wait --finish"
expect_grep "Block Copy: \[100 %\]" "$T/err"
images_equal "$T/a.qcow2" "$T/c.qcow2"
expect_eq "$(job_ids vm1)" "" "jobs left"
expect_eq "$(node_names vm1 | grep -c '^bc-')" 0 "tool nodes left"
unchanged vm1 bc job vm1 vda --pivot
expect_grep "No current block job for vda" "$T/err"

# Ctrl-C while only watching a copy (job --wait, nothing asked yet)
# detaches: the copy goes on, and the command says how to attach again.
# The copy's own command still aborts it (t0150).
expect_exit 0 bc vm1 vda "$T/w.qcow2" --bandwidth 64K
for sig in INT TERM; do
    copy_running vm1 job vm1 vda --wait --pivot --verbose
    # Once it shows progress it waits, and a signal is its to take.
    for _ in $(seq 600); do
        grep -q "^Block Copy: " "$T/err" && break
        sleep 0.05
    done
    kill -$sig $pid
    wait $pid
    expect_eq "$?" 1 "exit after SIG$sig while watching"
    expect_eq "$(cat "$T/out")" "Stopped watching; the copy goes on" \
        "stdout after SIG$sig while watching"
    expect_grep "hint: 'blockcopy job unix:.*/vm1.qmp vda --wait' watches it again; --abort ends it" "$T/err"
    expect_eq "$(job_ids vm1)" "bc-drive0" "job after SIG$sig while watching"
    expect_eq "$(qmp vm1 query-block-jobs | jq -r '.[0].status')" running \
        "the copy after SIG$sig while watching"
done
expect_exit 0 bc job vm1 vda --abort
expect_eq "$(job_ids vm1)" "" "jobs left"

# A job paused on an I/O error is reported, not waited on forever.
truncate -s 64M "$T/bad.raw"
qmp vm1 blockdev-add "{\"driver\": \"raw\", \"node-name\": \"bad\",
    \"file\": {\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\",
    \"filename\": \"$T/bad.raw\"}, \"inject-error\": [{\"event\": \"none\",
    \"iotype\": \"write\", \"errno\": 28}]}}" >/dev/null
qmp vm1 blockdev-mirror '{"job-id": "paused-job", "device": "drive1",
    "target": "bad", "sync": "full", "on-target-error": "stop"}' >/dev/null
expect_exit 1 bc job vm1 vdb --wait
grep -Eq "block job 'paused-job' is paused after (a write|an I/O) error: no space left on device" "$T/err" || fail "paused job message"
expect_exit 0 bc job vm1 vdb --abort
expect_eq "$(job_ids vm1)" "" "jobs left"
exit 0
