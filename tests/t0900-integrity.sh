#!/usr/bin/env bash
# No guest write is lost: random writes while the copy runs and after it
# is ready, then a pivot; the copy must equal the old source and a
# reference image with the same writes applied offline.  Each round picks
# a source format (qcow2, raw, or a qcow2 over a backing file copied
# shallow) and a copy mode (background or synchronous writes).
#   ROUNDS=N (default 20; make soak runs hundreds), SEED=N to replay one.
# run-tests: start early
. "$(dirname "$0")/lib.sh"
need_qemu

ROUNDS=${ROUNDS:-20}
SEED=${SEED:-$RANDOM}
note "seed $SEED, $ROUNDS rounds"
RANDOM=$SEED
GUEST_IO=$TESTS_DIR/helpers/guest-io
size=$((64 * 1024 * 1024))

for round in $(seq 1 "$ROUNDS"); do
    r=$T/r$round
    mkdir "$r"
    kind=$(( RANDOM % 3 ))
    mode=$(( RANDOM % 2 ))
    seed=$RANDOM
    opts=(--bandwidth 32M)
    [ $mode = 1 ] && opts+=(--synchronous-writes)
    case $kind in
    0) fmt=qcow2; img_create "$r/src" qcow2 64M 12 "0x$((RANDOM % 9 + 1))1" ;;
    1) fmt=raw; img_create "$r/src" raw 64M 12 "0x$((RANDOM % 9 + 1))2" ;;
    2) fmt=qcow2
       img_create "$r/base" qcow2 64M 24 0x5b
       "$QEMU_IMG" create -q -f qcow2 -b "$r/base" -F qcow2 "$r/src"
       "$QEMU_IO" -f qcow2 -c "write -P 0x6c 8M 8M" "$r/src" >/dev/null
       opts+=(--shallow) ;;
    esac
    desc="round $round (seed $seed): source $([ $kind = 2 ] && echo "qcow2 over a backing file" || echo $fmt), $([ $mode = 1 ] && echo synchronous || echo background)"
    cp "$r/src" "$r/ref"
    vm_start "vm$round" $(drive_args "$r/src" $fmt drive0)

    expect_exit 0 bc "vm$round" vda "$r/copy" "${opts[@]}" ||
        fail "$desc: the copy did not start"
    "$GUEST_IO" "$T/vm$round.test.qmp" drive0 $size 24 "$seed" "$r/writes"
    wait_job_status "vm$round" ready
    "$GUEST_IO" "$T/vm$round.test.qmp" drive0 $size 12 "$((seed + 1))" "$r/writes"
    expect_exit 0 bc job "vm$round" vda --pivot
    kill "$(vm_pid "vm$round")"

    args=()
    while read -r w; do args+=(-c "$w"); done <"$r/writes"
    "$QEMU_IO" -f $fmt "${args[@]}" "$r/ref" >/dev/null
    "$QEMU_IMG" compare -q "$r/src" "$r/copy" || fail "$desc: the copy differs from the source"
    "$QEMU_IMG" compare -q "$r/ref" "$r/copy" || fail "$desc: a write was lost"
    if [ $kind = 2 ]; then
        expect_eq "$("$QEMU_IMG" info --output=json "$r/copy" | jq -r '."backing-filename"')" \
            "$r/base" "$desc: backing file"
    fi
    rm -rf "$r"
done
exit 0
