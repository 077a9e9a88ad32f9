#!/usr/bin/env bash
# What blockcopy(1) shows works: the script of EXAMPLES starts a copy
# without waiting, polls it with 'job --json', lifts its speed limit and
# pivots; every destination XML of DESTINATION XML is accepted.
. "$(dirname "$0")/lib.sh"
need_qemu
PAGE=$TOP/man/blockcopy.1

# The script, with this test's VM and a short poll.  It may call only
# blockcopy: a wrapper in PATH records how.
"$TOP/tests/helpers/man-code" extract "$PAGE" SCRIPT >"$T/script.sh" ||
    fail "no script in blockcopy.1"
grep -q '^vm=vm1 disk=vda dest=/srv/fast/vm1.qcow2$' "$T/script.sh" ||
    fail "the script's first lines changed: adapt this test"
sed -i -e "s|^vm=vm1 disk=vda dest=.*|vm=vm1 disk=vda dest=$T/moved.qcow2|" \
    -e 's/sleep 10/sleep 0.2/' -e 's/date +%H/echo 23/' "$T/script.sh"
mkdir "$T/bin"
cat >"$T/bin/blockcopy" <<EOF2
#!/bin/sh
echo "\$*" >>"$T/calls"
exec "$BLOCKCOPY" "\$@"
EOF2
chmod +x "$T/bin/blockcopy"

# 48 MiB of data at 20 MiB/s: the first polls find the copy running.
img_create "$T/src.qcow2" qcow2 64M 48 0x3d
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
PATH=$T/bin:$PATH expect_exit 0 sh "$T/script.sh"
expect_grep '^running: [0-9]* of [0-9]* bytes$' "$T/out"
expect_grep '^ready: 50331648 of 50331648 bytes$' "$T/out"
expect_eq "$(tail -n 1 "$T/out")" "Successfully pivoted" "the script's last line"
expect_grep "^-q vm1 vda $T/moved.qcow2 --bandwidth 20M\$" "$T/calls"
expect_grep '^--json job vm1 vda$' "$T/calls"
expect_grep '^-q job vm1 vda --bandwidth 0$' "$T/calls"
expect_grep '^job vm1 vda --pivot$' "$T/calls"
[ "$(grep -c -- '--bandwidth 0' "$T/calls")" = 1 ] || fail "the limit was lifted more than once"
images_equal "$T/src.qcow2" "$T/moved.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/moved.qcow2" "disk after the script"

# Every <disk> example parses as a destination.
awk -v dir="$T" '
    /^\.EX$/ { ex = 1; n++; buf = ""; next }
    /^\.EE$/ { if (ex && buf ~ /^<disk/) { f = dir "/dest" n ".xml"; printf "%s", buf > f; close(f) } ex = 0; next }
    ex { buf = buf $0 "\n" }
' "$PAGE"
count=0
for x in "$T"/dest*.xml; do
    [ -e "$x" ] || continue
    sed -i -e 's/\\-/-/g' "$x"
    count=$((count + 1))
    expect_exit 0 bc vm1 vda --xml "$x" --print-xml
done
[ "$count" -ge 6 ] || fail "found $count destination XML examples, expected at least 6"
exit 0
