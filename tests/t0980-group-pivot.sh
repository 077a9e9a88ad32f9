#!/usr/bin/env bash
# copy --all --pivot: every disk with an image (virtio-blk, SCSI, SATA)
# is copied into --dest-dir under its source's base name, all at once;
# the empty CD-ROM is skipped; guest writes during the copy, before and
# after a disk's READY, reach its copy; every disk switches while the
# guest is paused (the jobs conclude between QEMU's STOP and RESUME), and
# a running guest runs on.  A list of disks copies those only, a paused
# guest stays paused.  An existing file, two sources of one base name and
# an unknown disk are refused before anything changes.
. "$(dirname "$0")/lib.sh"
need_qemu

# result_disks TEXT: the disks of the result lines on stdout that say TEXT.
result_disks() {
    grep -- "$1" "$T/out" | grep -o -w -e 'vd[a-z]' -e 'sd[a-z]' | sort | tr '\n' ' '
}

# mirrors VM STATUS: how many mirror jobs of VM are in STATUS.
mirrors() {
    qmp "$1" query-jobs | jq --arg s "$2" '[.[] | select(.type == "mirror" and .status == $s)] | length'
}

# vda holds less data than the others: it is ready while they still copy.
img_create "$T/vda.qcow2" qcow2 128M 8 0x11
img_create "$T/scsi.qcow2" qcow2 128M 16 0x22
img_create "$T/sata.raw" raw 128M 16 0x33
for f in vda.qcow2 scsi.qcow2 sata.raw; do cp "$T/$f" "$T/expect-$f"; done
vm_start vm1 $(drive_args "$T/vda.qcow2" qcow2 drive0) \
    -device virtio-scsi-pci,id=scsi0 \
    -drive "file=$T/scsi.qcow2,if=none,id=drive1,format=qcow2" \
    -device scsi-hd,drive=drive1,bus=scsi0.0,id=scsi-disk0 \
    -drive "file=$T/sata.raw,if=none,id=drive2,format=raw" \
    -device ide-hd,drive=drive2,bus=ide.0,id=sata-disk0 \
    -drive if=none,id=cd0,media=cdrom -device ide-cd,drive=cd0,bus=ide.1,id=cdrom0 \
    -qmp "unix:$T/vm1.ev.qmp,server=on,wait=off"
qmp vm1 cont >/dev/null
expect_exit 0 bc disks vm1
expect_eq "$(awk 'NR > 1 {print $1, $2}' "$T/out" | tr '\n' ',')" \
    "vda virtio-disk0,sda scsi-disk0,sdb sata-disk0,sdc cdrom0," "the disks of vm1"
mkdir "$T/dest"

# Refused before anything changes: a file of that name in DIR, a disk
# the VM does not have.
touch "$T/dest/scsi.qcow2"
unchanged vm1 bc copy vm1 --all --dest-dir "$T/dest" --pivot
expect_grep "'$T/dest/scsi.qcow2' already exists" "$T/err"
expect_eq "$(ls -A "$T/dest")" "scsi.qcow2" "DIR after the refusal"
rm "$T/dest/scsi.qcow2"
unchanged vm1 bc copy vm1 vda,vdz --dest-dir "$T/dest" --pivot
expect_grep "no disk 'vdz'" "$T/err"
expect_eq "$(ls -A "$T/dest")" "" "DIR after the refusal"
expect_eq "$(qmp vm1 query-status | jq -r .status)" running "vm1 after the refusals"

# The copy, watched on a monitor of its own.
python3 -u "$QMPC" "$T/vm1.ev.qmp" --events 60 >"$T/events" 2>"$T/events.err" &
evpid=$!
BG_PIDS+=($evpid)
"$BLOCKCOPY" copy vm1 --all --dest-dir "$T/dest" --pivot --bandwidth 3M >"$T/out" 2>"$T/err" &
pid=$!
BG_PIDS+=($pid)
for i in $(seq 1 300); do
    [ "$(mirrors vm1 running)" = 3 ] && break
    sleep 0.1
done
[ "$(mirrors vm1 running)" = 3 ] || { qmp vm1 query-jobs >&2; cat "$T/err" >&2; fail "three copies do not run at once"; }
writes=("write -P 0x41 0 1M" "write -P 0x42 100M 2M" "write -P 0x43 15M 2M" "write -P 0x44 127M 1M")
for d in 0 1 2; do
    for w in "${writes[@]}"; do
        hmp vm1 "qemu-io drive$d \"${w/0x4/0x$((d + 5))}\"" >/dev/null
    done
done
# vda ready, the others still copying: its writes wait in its mirror.
for i in $(seq 1 300); do
    [ "$(mirrors vm1 ready)" -ge 1 ] && break
    sleep 0.1
done
[ "$(mirrors vm1 ready)" = 1 ] && [ "$(mirrors vm1 running)" = 2 ] ||
    { qmp vm1 query-jobs >&2; fail "vda was not ready alone"; }
ready_writes=("write -P 0x51 64M 4M" "write -z 0 64k" "write -P 0x52 2M 64k")
for w in "${ready_writes[@]}"; do
    hmp vm1 "qemu-io drive0 \"$w\"" >/dev/null
done
wait $pid
rc=$?
[ $rc = 0 ] || { cat "$T/out" "$T/err" >&2; fail "copy --all --pivot exited $rc"; }

expect_eq "$(result_disks 'Successfully pivoted')" "sda sdb vda " "the disks said pivoted"
grep 'skipping' "$T/err" | grep -q 'sdc' || { cat "$T/err" >&2; fail "the CD-ROM was not said skipped"; }
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/dest/vda.qcow2" "vda after the pivot"
expect_eq "$(disk_file vm1 scsi-disk0)" "$T/dest/scsi.qcow2" "sda after the pivot"
expect_eq "$(disk_file vm1 sata-disk0)" "$T/dest/sata.raw" "sdb after the pivot"
expect_eq "$(qmp vm1 query-block | jq -r '.[] | select(.device == "cd0") | .inserted // "none"')" \
    none "the CD-ROM"
expect_eq "$(ls "$T/dest" | tr '\n' ' ')" "sata.raw scsi.qcow2 vda.qcow2 " "the files in DIR"
for f in vda.qcow2 scsi.qcow2 sata.raw; do not_in_use "$T/$f"; done
for d in 0 1 2; do
    f=$(sed -n "$((d + 1))p" <<<$'vda.qcow2\nscsi.qcow2\nsata.raw')
    fmt=qcow2; [ "$f" = sata.raw ] && fmt=raw
    for w in "${writes[@]}"; do
        "$QEMU_IO" -f $fmt -c "${w/0x4/0x$((d + 5))}" "$T/expect-$f" >/dev/null
    done
    [ $d = 0 ] && for w in "${ready_writes[@]}"; do
        "$QEMU_IO" -f $fmt -c "$w" "$T/expect-$f" >/dev/null
    done
    images_equal "$T/expect-$f" "$T/dest/$f"
done
expect_eq "$(tool_leftovers vm1 $(active_nodes vm1))" "" "leftovers"
expect_eq "$(qmp vm1 query-status | jq -r .status)" running "vm1 after the pivot"
# One instant: the guest paused, every job concluded, the guest resumed.
kill $evpid 2>/dev/null
# The copies are the jobs that became ready (not those creating images).
expect_eq "$(jq -s -r '(map(select(.event == "JOB_STATUS_CHANGE" and .data.status == "ready") |
                            .data.id)) as $copies |
                       .[] | select(.event == "STOP" or .event == "RESUME" or
                                    (.event == "JOB_STATUS_CHANGE" and .data.status == "concluded" and
                                     (.data.id as $id | $copies | index($id)))) |
                       if .event == "JOB_STATUS_CHANGE" then "concluded" else .event end' "$T/events" |
             tr '\n' ' ')" "STOP concluded concluded concluded RESUME " "the events of the switch"

# A list of disks, one of two sources named alike left out; the guest
# is paused (-S) and stays so.
mkdir "$T/a" "$T/b" "$T/dest2"
img_create "$T/a/disk.qcow2" qcow2 32M 2 0x61
img_create "$T/b/disk.qcow2" qcow2 32M 2 0x62
img_create "$T/c.qcow2" qcow2 32M 2 0x63
vm_start vm2 $(drive_args "$T/a/disk.qcow2" qcow2 drive0 virtio-disk0) \
    $(drive_args "$T/b/disk.qcow2" qcow2 drive1 virtio-disk1) \
    $(drive_args "$T/c.qcow2" qcow2 drive2 virtio-disk2)
unchanged vm2 bc copy vm2 --all --dest-dir "$T/dest2" --pivot
expect_grep "both be copied to '$T/dest2/disk.qcow2'" "$T/err"
unchanged vm2 bc copy vm2 vda,vdb --dest-dir "$T/dest2" --finish
expect_grep "both be copied to '$T/dest2/disk.qcow2'" "$T/err"
expect_eq "$(ls -A "$T/dest2")" "" "DIR after the refusals"
expect_exit 0 bc --json copy vm2 vda,vdc --dest-dir "$T/dest2" --pivot
jq -e . "$T/out" >/dev/null || fail "--json output is not JSON lines"
expect_eq "$(jq -r 'select(.type == "result") | "\(.disk) \(.status)"' "$T/out" | sort | tr '\n' ',')" \
    "vda pivoted,vdc pivoted," "the result lines"
expect_eq "$(disk_file vm2 virtio-disk0)" "$T/dest2/disk.qcow2" "vda of vm2"
expect_eq "$(disk_file vm2 virtio-disk1)" "$T/b/disk.qcow2" "vdb of vm2"
expect_eq "$(disk_file vm2 virtio-disk2)" "$T/dest2/c.qcow2" "vdc of vm2"
images_equal "$T/a/disk.qcow2" "$T/dest2/disk.qcow2"
images_equal "$T/c.qcow2" "$T/dest2/c.qcow2"
not_in_use "$T/a/disk.qcow2"
not_in_use "$T/c.qcow2"
expect_eq "$(ls "$T/dest2" | tr '\n' ' ')" "c.qcow2 disk.qcow2 " "the files in DIR"
expect_eq "$(tool_leftovers vm2 $(active_nodes vm2))" "" "leftovers of vm2"
expect_eq "$(qmp vm2 query-status | jq -r .status)" prelaunch "vm2 after the pivot"
exit 0
