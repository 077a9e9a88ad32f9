#!/usr/bin/env bash
# Every invalid request exits 2 with its own message and leaves the VM's
# nodes, jobs and disks, and the files, exactly as they were.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 4
echo "precious" >"$T/exists.qcow2"
ln -s "$T/nowhere" "$T/dangling"
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0) \
    -drive if=none,id=cd0,media=cdrom -device ide-cd,drive=cd0,bus=ide.0,id=cdrom0

# check MESSAGE ARGS...: refused with MESSAGE on stderr, nothing changed.
check() {
    local msg=$1; shift
    unchanged vm1 bc "$@"
    expect_grep "$msg" "$T/err"
    [ ! -s "$T/out" ] || { cat "$T/out" >&2; fail "'$*' printed on stdout"; }
}

check "destination 'rel.qcow2' is not an absolute path" vm1 vda rel.qcow2
check "is the disk's own image" vm1 vda "$T/src.qcow2" --reuse-external
check "is the disk's own image" vm1 vda "$T/src.qcow2"
check "already exists; use --reuse-external" vm1 vda "$T/exists.qcow2"
expect_eq "$(cat "$T/exists.qcow2")" precious "the existing file"
check "is a symbolic link to a missing file" vm1 vda "$T/dangling"
expect_eq "$(readlink "$T/dangling")" "$T/nowhere" "the dangling link"
check "directory '$T/no/such' of destination" vm1 vda "$T/no/such/x.qcow2"
check "granularity must be a power of 2 between 512 B and 64 MiB, not 1000" \
    vm1 vda "$T/g.qcow2" --granularity 1000
check "not 256" vm1 vda "$T/g.qcow2" --granularity 256
check "not 134217728" vm1 vda "$T/g.qcow2" --granularity 128M
check "invalid --granularity: size '8G' is too large" vm1 vda "$T/g.qcow2" --granularity 8G
check "buf-size must be between 1 and" vm1 vda "$T/g.qcow2" --buf-size 0
check "invalid --bandwidth: invalid size 'fast'" vm1 vda "$T/g.qcow2" --bandwidth fast
check "no disk 'vdz' in this VM (disks: vda, sda)" vm1 vdz "$T/g.qcow2"
check "disk 'sda' has no medium" vm1 sda "$T/g.qcow2"
check "disk 'cdrom0' has no medium" vm1 cdrom0 "$T/g.qcow2"
check "no VM named 'nope'" nope vda "$T/g.qcow2"
check "cannot be told that the destination is zeroed: that needs target-is-zero, QEMU 10.1 or later" \
    vm1 vda "$T/exists.qcow2" --reuse-external --dest-is-zero
check "Options --pivot and --finish are mutually exclusive" \
    vm1 vda "$T/g.qcow2" --pivot --finish
check "Options --dest and --xml are mutually exclusive" \
    vm1 vda "$T/g.qcow2" --xml "$T/x.xml"
check "Options --format and --xml are mutually exclusive" \
    vm1 vda --xml "$T/x.xml" --format raw
check "Options --blockdev and --xml are mutually exclusive" \
    vm1 vda --xml "$T/x.xml" --blockdev
check "need either --dest or --xml" vm1 vda
check "--verbose requires at least one of --timeout, --wait, --pivot, or --finish" \
    vm1 vda "$T/g.qcow2" --verbose
check "--async requires at least one of" vm1 vda "$T/g.qcow2" --async
check "invalid --timeout '0'" vm1 vda "$T/g.qcow2" --timeout 0
check "invalid --timeout '1.5'" vm1 vda "$T/g.qcow2" --timeout 1.5
check "unknown option --speed" vm1 vda "$T/g.qcow2" --speed 1
check "command 'copy' doesn't support option --speed" copy vm1 vda "$T/g.qcow2" --speed 1
check "option --bandwidth needs a value" vm1 vda "$T/g.qcow2" --bandwidth
check "unexpected argument 'extra'" vm1 vda "$T/g.qcow2" extra
check "command 'copy' requires <disk> option" copy vm1
check "unknown command 'vm1'" vm1
check "cannot read '$T/x.xml'" vm1 vda --xml "$T/x.xml"

printf '<disk type="file">\n  <source file="%s/x.qcow2">\n</disk>\n' "$T" >"$T/bad.xml"
check "destination XML is not well-formed, line 3" vm1 vda --xml "$T/bad.xml"
printf '<disk type="network"><source protocol="http" name="x"><host name="h"/></source></disk>' >"$T/http.xml"
check "read-only in QEMU" vm1 vda --xml "$T/http.xml"
printf '<disk type="network"><driver type="raw"/><source protocol="nbd" name="x"><host name="127.0.0.1" port="1"/></source></disk>' >"$T/nbd.xml"
check "QEMU cannot create images over nbd" vm1 vda --xml "$T/nbd.xml"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/huge.xml"
check "is larger than 1024 KiB" vm1 vda --xml "$T/huge.xml"
rm -f "$T/bad.xml" "$T/http.xml" "$T/nbd.xml" "$T/huge.xml"

# A QEMU waiting for an incoming migration holds its disks inactive:
# QEMU 10.0 says so, and the copy is refused up front.
img_create "$T/in.qcow2" qcow2 64M 1
vm_start vmin $(drive_args "$T/in.qcow2" qcow2 drive0) -incoming defer
if [ "$(qmp vmin query-named-block-nodes | jq '[.[] | has("active")] | any')" = true ]; then
    unchanged vmin bc vmin vda "$T/in-copy.qcow2"
    expect_grep "disk 'vda' is inactive: this QEMU waits for an incoming migration" "$T/err"
else
    note "QEMU $(qmp vmin query-version | jq -r '.qemu | "\(.major).\(.minor)"') does not say whether a node is active"
fi
exit 0
