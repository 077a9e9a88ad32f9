#!/usr/bin/env bash
# Guest writes during the copy, before and after READY, reach the copy:
# after the pivot the copy equals the original image with the same writes
# applied offline.
. "$(dirname "$0")/lib.sh"
need_qemu

writes=("write -P 0x41 0 1M" "write -P 0x42 100M 2M" "write -P 0x43 31M 2M"
        "write -P 0x44 127M 1M")
ready_writes=("write -P 0x51 64M 4M" "write -z 0 64k" "write -P 0x52 32M 64k")

for mode in background synchronous_writes; do
    img_create "$T/src-$mode.qcow2" qcow2 128M 24 0x01
    cp "$T/src-$mode.qcow2" "$T/expect-$mode.qcow2"
    vm_start "vm_$mode" $(drive_args "$T/src-$mode.qcow2" qcow2 drive0)
    extra=()
    [ "$mode" = synchronous_writes ] && extra=(--synchronous-writes)
    expect_exit 0 bc "vm_$mode" vda "$T/dst-$mode.qcow2" --bandwidth 8M "${extra[@]}"
    # While the copy runs: inside, beyond and across what was copied.
    for w in "${writes[@]}"; do
        hmp "vm_$mode" "qemu-io drive0 \"$w\"" >/dev/null
    done
    wait_job_status "vm_$mode" ready
    for w in "${ready_writes[@]}"; do
        hmp "vm_$mode" "qemu-io drive0 \"$w\"" >/dev/null
    done
    expect_exit 0 bc job "vm_$mode" vda --pivot
    for w in "${writes[@]}" "${ready_writes[@]}"; do
        "$QEMU_IO" -f qcow2 -c "$w" "$T/expect-$mode.qcow2" >/dev/null
    done
    images_equal "$T/expect-$mode.qcow2" "$T/dst-$mode.qcow2"
    images_equal "$T/src-$mode.qcow2" "$T/dst-$mode.qcow2"
done
exit 0
