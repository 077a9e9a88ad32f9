#!/usr/bin/env bash
# Nobody can redirect the copy.  The tool creates the destination itself
# (O_CREAT|O_EXCL|O_NOFOLLOW in the directory it opened) and hands QEMU
# the descriptor, so a symbolic link that another user plants at the worst
# moment sends no write anywhere else, and the VM never switches to a file
# its path no longer shows.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 4
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
src=$T/src.qcow2 keep=
src_sum=$(md5sum <"$src")

# The admin copies into a directory that user nobody may write; root's
# file elsewhere is what nobody wants destroyed (or read).
chmod 755 "$T"
mkdir "$T/share"
chown 65534:65534 "$T/share"
printf 'root only\n' >"$T/victim"
chmod 600 "$T/victim"
cp -p "$T/victim" "$T/victim.orig"
D=$T/share/dst.qcow2
plant="setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
    'mv -f $D $D.moved 2>/dev/null; ln -sf $T/victim $D'"

# untouched: root's file is as it was, the VM runs on its intact source,
# and nothing of the tool's is left.
untouched() {
    cmp -s "$T/victim" "$T/victim.orig" || fail "$1: the victim was written"
    expect_eq "$(stat -c %a "$T/victim")" 600 "$1: the victim's mode"
    expect_eq "$(disk_file vm1 drive0)" "$src" "$1: disk"
    expect_eq "$(tool_leftovers vm1 $keep)" "" "$1: left in vm1"
    no_deleted_files vm1
}

# The link planted just before QEMU creates the image, and just before
# it opens it.
for cmd in blockdev-create blockdev-add; do
    proxy_start vm1 --fault run-before --command "$cmd" --run "$plant"
    expect_exit 1 bc "$px" vda "$D" --pivot
    grep -qx "fired run-before $cmd 1" "$T/px-vm1.log" || fail "$cmd: not raced"
    expect_grep "destination '$D' was removed, renamed or replaced" "$T/err"
    [ -L "$D" ] || fail "$cmd: the tool removed the planted link"
    untouched "$cmd"
    proxy_stop vm1
    rm -f "$D" "$D.moved"
done

# The file swapped once the copy runs: the VM is not switched to it.
proxy_start vm1 --fault run-before --command blockdev-mirror --run "$plant"
expect_exit 1 bc "$px" vda "$D" --pivot
grep -qx "fired run-before blockdev-mirror 1" "$T/px-vm1.log" || fail "pivot: not raced"
expect_grep "no longer the file the copy writes" "$T/err"
expect_eq "$(cat "$T/out")" "Copy aborted" "pivot: the result"
untouched pivot
proxy_stop vm1
rm -f "$D" "$D.moved"

# Without a race: the copy is the admin's own file, mode 0600, owned by
# QEMU's user, and the VM runs on it.
expect_exit 0 bc vm1 vda "$D" --pivot
expect_eq "$(stat -c '%a %U' "$D")" "600 root" "the new image's mode and owner"
expect_eq "$(disk_file vm1 drive0)" "$D" "disk after pivot"
images_equal "$T/src.qcow2" "$D"
expect_exit 0 bc vm1 vda "$T/back.qcow2" --pivot
src=$T/back.qcow2 keep=$(node_names vm1 | grep '^bc-')
expect_eq "$(md5sum <"$T/src.qcow2")" "$src_sum" "the source image"

# Where anyone may swap files, the copy is refused up front; the sticky
# bit (as on /tmp) makes it safe.
mkdir -m 777 "$T/open"
chmod 777 "$T/open"
expect_exit 2 bc vm1 vda "$T/open/dst.qcow2" --pivot
expect_grep "may be written by anyone and has no sticky bit" "$T/err"
[ -e "$T/open/dst.qcow2" ] && fail "a file was created in '$T/open'"
chmod 1777 "$T/open"
expect_exit 0 bc vm1 vda "$T/open/dst.qcow2" --finish

# Over a TCP monitor no descriptor can pass: QEMU opens the file the tool
# made by its path, checked again before each command that opens it.
img_create "$T/src2.qcow2" qcow2 64M 4
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
vm_start vm2 $(drive_args "$T/src2.qcow2" qcow2 drive0) \
    -qmp "tcp:127.0.0.1:$port,server=on,wait=off"
expect_exit 0 bc "tcp:127.0.0.1:$port" vda "$T/tcp.qcow2" --pivot
expect_eq "$(qmp vm2 query-block | jq -r '.[0].inserted.file')" "$T/tcp.qcow2" \
    "a file QEMU opened by its path"
expect_eq "$(stat -c %a "$T/tcp.qcow2")" 600 "its mode"
images_equal "$T/src2.qcow2" "$T/tcp.qcow2"

# An existing image is opened without following a link.
ln -s "$T/victim" "$T/link.qcow2"
expect_exit 2 bc vm1 vda "$T/link.qcow2" --reuse-external --finish
expect_grep "symbolic link" "$T/err"
untouched reuse
exit 0
