#!/usr/bin/env bash
# evacuate --from DIR --to DIR moves every disk under DIR of every VM to
# the same relative path under the other, and nothing else.  --dry-run
# prints the plan and changes nothing.  --bandwidth is the total of the
# jobs running at once.  Killed (kill -9) in the middle, it is run again:
# it adopts the copies still running, and at the end every disk runs on
# its copy, equal to its source, no old image is in use and nothing of
# the tool's is left; a run after that finds nothing to move.
# A VM with nothing under --from is not held while the others move.
# run-tests: start early

# evacuate acts on every VM it finds, in /proc too: in a PID namespace of
# its own, those are the test's VMs only, and the tests beside it are
# safe from it.
if [ -z "${BC_TEST_PIDNS:-}" ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
    BC_TEST_PIDNS=1 exec unshare --pid --fork --mount-proc bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_qemu
[ -n "${BC_TEST_PIDNS:-}" ] || note "no PID namespace: evacuate sees every VM of this machine"

vms="vm1 vm2 vm3"
disks="vm1/a vm1/b vm2/a vm2/b vm3/a vm3/b"

# all_state: the state of the three VMs and of the files.
all_state() {
    local vm
    for vm in $vms vm4; do state "$vm"; done
    (cd "$T" && find from to other -print 2>/dev/null | sort)
}

# dev_of VM/X: the device of VM whose image was from/VM/X.qcow2.
dev_of() {
    case ${1#*/} in a) echo virtio-disk0 ;; b) echo virtio-disk1 ;; esac
}

# mirror_sum: the mirror jobs of every VM as "COUNT READY SPEED-SUM
# UNLIMITED PROGRESS-SUM FIRST-PASS-MAX" (unlimited: running jobs without
# a speed; the last: the furthest offset of a copy not ready yet).
mirror_sum() {
    local vm
    for vm in $vms; do
        qmp "$vm" query-block-jobs
    done | jq -s -r 'add | [length, (map(select(.ready)) | length),
                      (map(select(.ready | not) | .speed) | add // 0),
                      (map(select((.ready | not) and .speed == 0)) | length),
                      (map(.offset) | add // 0),
                      (map(select(.ready | not) | .offset) | max // 0)] |
                     map(tostring) | join(" ")'
}

i=0
for vm in $vms; do
    mkdir -p "$T/from/$vm"
    for x in a b; do
        i=$((i + 1))
        img_create "$T/from/$vm/$x.qcow2" qcow2 64M 20 "0x$i$i"
        cp "$T/from/$vm/$x.qcow2" "$T/$vm-$x.ref"
    done
done
mkdir "$T/other" "$T/to"
img_create "$T/other/c.qcow2" qcow2 64M 1 0x77
img_create "$T/other/d.qcow2" qcow2 64M 1 0x78
# A bystander, with one monitor besides the test's.
vm_start vm4 $(drive_args "$T/other/d.qcow2" qcow2 drive0 virtio-disk0)
for vm in $vms; do
    extra=()
    [ $vm = vm3 ] && extra=($(drive_args "$T/other/c.qcow2" qcow2 drive2 virtio-disk2))
    vm_start $vm $(drive_args "$T/from/$vm/a.qcow2" qcow2 drive0 virtio-disk0) \
        $(drive_args "$T/from/$vm/b.qcow2" qcow2 drive1 virtio-disk1) "${extra[@]}"
    qmp $vm cont >/dev/null
done

# The plan: one line a disk, nothing changed.
all_state >"$T/state.before"
expect_exit 0 bc evacuate --from "$T/from" --to "$T/to" --dry-run
all_state >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "--dry-run changed the VMs or the files"
for d in $disks; do
    grep -F "${d%/*}" "$T/out" | grep -F "$T/from/$d.qcow2" | grep -qF "$T/to/$d.qcow2" ||
        { cat "$T/out" >&2; fail "no line for $d in the plan"; }
done
grep -q "c\.qcow2" "$T/out" && { cat "$T/out" >&2; fail "the plan moves a disk not under --from"; }

# Killed in the middle of the copy: 120 MiB at 4 MiB/s.  QEMU copies the
# first 16 MiB of a copy at once, whatever its limit, then waits until
# the limit allows them (16 s at 1 MiB/s): the kill comes in that wait,
# in the first round, however slowly the tool itself runs (valgrind).
"$BLOCKCOPY" evacuate --from "$T/from" --to "$T/to" --bandwidth 4M >"$T/out1" 2>"$T/err1" &
pid=$!
BG_PIDS+=($pid)
for i in $(seq 1 600); do
    read -r jobs ready speed unlimited offset first <<<"$(mirror_sum)"
    [ "$first" -ge $((16 * 1024 * 1024)) ] && break
    kill -0 $pid 2>/dev/null || { cat "$T/out1" "$T/err1" >&2; fail "evacuate ended before it was killed"; }
    sleep 0.1
done
[ "$first" -ge $((16 * 1024 * 1024)) ] || fail "no copy got through its first 16 MiB: $(mirror_sum)"
# The total: the limits of the jobs still copying add up to at most 4 MiB/s.
for i in 1 2 3; do
    read -r jobs ready speed unlimited offset first <<<"$(mirror_sum)"
    [ "$unlimited" = 0 ] || fail "$unlimited copies run without a limit"
    [ "$speed" -le $((4 * 1024 * 1024)) ] || fail "the copies' limits add up to $speed bytes/s"
    sleep 0.2
done
for sk in "$(sock vm4)" "$T/vm4.test.qmp"; do
    grep -q " 03 [0-9]* $sk\$" /proc/net/unix &&
        fail "evacuate holds the monitor $sk of a VM with nothing to move"
done
kill -9 $pid
wait $pid 2>/dev/null
read -r jobs ready speed unlimited offset first <<<"$(mirror_sum)"
[ "$jobs" -gt 0 ] || fail "no copy left running to adopt"
moved=0
for d in $disks; do
    [ "$(disk_file "${d%/*}" "$(dev_of "$d")")" = "$T/to/$d.qcow2" ] && moved=$((moved + 1))
done
[ $moved -lt 6 ] || fail "every disk was moved before the kill"
note "killed with $jobs copies running, $moved disks moved"

# Run again, to the end, with more to share.
expect_exit 0 timeout 120 "$BLOCKCOPY" evacuate --from "$T/from" --to "$T/to" --bandwidth 64M
for d in $disks; do
    vm=${d%/*}
    expect_eq "$(disk_file $vm "$(dev_of "$d")")" "$T/to/$d.qcow2" "the disk of from/$d.qcow2"
    images_equal "$T/${d/\//-}.ref" "$T/to/$d.qcow2"
    not_in_use "$T/from/$d.qcow2"
done
expect_eq "$(disk_file vm3 virtio-disk2)" "$T/other/c.qcow2" "the disk not under --from"
expect_eq "$(disk_file vm4 virtio-disk0)" "$T/other/d.qcow2" "the bystander's disk"
expect_eq "$(tool_leftovers vm4)" "" "leftovers in the bystander"
for vm in $vms; do
    expect_eq "$(tool_leftovers $vm $(active_nodes $vm))" "" "leftovers in $vm"
    expect_eq "$(qmp $vm query-status | jq -r .status)" running "$vm after the evacuation"
done
expect_eq "$(cd "$T/to" && find . -type f | sort | tr '\n' ' ')" \
    "./vm1/a.qcow2 ./vm1/b.qcow2 ./vm2/a.qcow2 ./vm2/b.qcow2 ./vm3/a.qcow2 ./vm3/b.qcow2 " \
    "the files under --to"

# Nothing left to move.
all_state >"$T/state.before"
expect_exit 0 bc --json evacuate --from "$T/from" --to "$T/to"
all_state >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "a second run changed the VMs or the files"
expect_eq "$(jq -r 'select(.type == "result") | "\(.status) moved \(.moved) already \(.already)"' "$T/out")" \
    "done moved 0 already 6" "the second run's result"
exit 0
