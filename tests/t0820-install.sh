#!/usr/bin/env bash
# make install puts exactly the tool, the library (shared with its links,
# static, header, pkg-config file), the man pages and the completion
# where PREFIX and the directories say, under DESTDIR; what it installs
# works: the tool runs, and the example program of libblockcopy(3) builds
# against the installed header and library through pkg-config, shared and
# static, and copies and pivots a disk of a real VM.  make uninstall
# leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need_qemu
command -v pkg-config >/dev/null || fail "pkg-config not found (Debian: apt-get install pkg-config)"
command -v readelf >/dev/null || fail "readelf not found (Debian: apt-get install binutils)"

version=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")
# A sanitized build must link the example with the same runtime.
san=
nm "$TOP/lib/libblockcopy.a" 2>/dev/null | grep -q __asan_ &&
    san="-fsanitize=address,undefined"

# make_here TARGET VARIABLES...: install what is built, never rebuild it.
make_here() {
    make -C "$TOP" -s -o all "$@" >"$T/make.log" 2>&1 ||
        { cat "$T/make.log" >&2; fail "make $*"; }
}
installed() {
    (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
}

stage=$T/stage
dirs=(PREFIX=/usr/local BINDIR=/usr/local/bin LIBDIR=/usr/local/lib
      INCLUDEDIR=/usr/local/include MANDIR=/usr/local/share/man)
make_here install DESTDIR="$stage" "${dirs[@]}"
cat >"$T/want" <<EOF2
/usr/local/bin/blockcopy
/usr/local/include/blockcopy.h
/usr/local/lib/libblockcopy.a
/usr/local/lib/libblockcopy.so
/usr/local/lib/libblockcopy.so.0
/usr/local/lib/libblockcopy.so.$version
/usr/local/lib/pkgconfig/libblockcopy.pc
/usr/local/share/bash-completion/completions/blockcopy
/usr/local/share/man/man1/blockcopy.1
/usr/local/share/man/man3/libblockcopy.3
EOF2
installed "$stage" >"$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "make install put other files"

p=$stage/usr/local
expect_eq "$(stat -c %a "$p/bin/blockcopy")" 755 "mode of the tool"
for f in lib/libblockcopy.so.$version lib/libblockcopy.a include/blockcopy.h \
         share/man/man1/blockcopy.1 share/bash-completion/completions/blockcopy; do
    expect_eq "$(stat -c %a "$p/$f")" 644 "mode of $f"
done
expect_eq "$(readlink "$p/lib/libblockcopy.so.0")" "libblockcopy.so.$version" "soname link"
expect_eq "$(readlink "$p/lib/libblockcopy.so")" "libblockcopy.so.0" "dev link"
readelf -d "$p/lib/libblockcopy.so.$version" | grep -q 'SONAME.*\[libblockcopy\.so\.0\]' ||
    fail "the library's SONAME is not libblockcopy.so.0"
cmp -s "$TOP/man/blockcopy.1" "$p/share/man/man1/blockcopy.1" || fail "blockcopy.1 changed on the way"
cmp -s "$TOP/completion/blockcopy.bash" "$p/share/bash-completion/completions/blockcopy" ||
    fail "the completion script changed on the way"
grep -qx 'libdir=/usr/local/lib' "$p/lib/pkgconfig/libblockcopy.pc" || fail "libdir in the .pc"
grep -qx "Version: $version" "$p/lib/pkgconfig/libblockcopy.pc" || fail "Version in the .pc"

# The installed tool.
expect_exit 0 "$p/bin/blockcopy" --version
expect_eq "$(cat "$T/out")" "blockcopy $version" "installed blockcopy --version"
img_create "$T/src.qcow2" qcow2 64M 8 0x7e
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)
expect_exit 0 "$p/bin/blockcopy" vm1 vda "$T/kept.qcow2" --finish
expect_eq "$(cat "$T/out")" "Successfully copied" "installed blockcopy's copy"
images_equal "$T/src.qcow2" "$T/kept.qcow2"

# The example program, against the installed files only.
export PKG_CONFIG_PATH=$p/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
pc_cflags=$(pkg-config --cflags libblockcopy) || fail "pkg-config --cflags libblockcopy"
pc_libs=$(pkg-config --libs libblockcopy) || fail "pkg-config --libs libblockcopy"
[[ " $pc_cflags " == *" -I$p/include "* ]] || fail "pkg-config --cflags: $pc_cflags"
expect_eq "$(echo $pc_libs)" "-L$p/lib -lblockcopy" "pkg-config --libs"
cp "$TOP/man/example.c" "$T/example.c"
cc -std=c99 -Wall -Wextra -Werror $san "$T/example.c" $pc_cflags $pc_libs \
    -o "$T/example-shared" || fail "the example does not build against the installed library"
readelf -d "$T/example-shared" | grep -q 'NEEDED.*\[libblockcopy\.so\.0\]' ||
    fail "the example is not linked with libblockcopy.so.0"
LD_LIBRARY_PATH=$p/lib ldd "$T/example-shared" | grep -q "libblockcopy.so.0 => $p/lib/" ||
    fail "the example does not load the installed library"

static_libs=$(pkg-config --static --libs-only-l libblockcopy | sed 's/-lblockcopy//') ||
    fail "pkg-config --static --libs libblockcopy"
cc -std=c99 -Wall -Wextra -Werror $san "$T/example.c" $pc_cflags \
    "$p/lib/libblockcopy.a" $static_libs -o "$T/example-static" ||
    fail "the example does not build against the installed static library"
readelf -d "$T/example-static" | grep -q libblockcopy &&
    fail "the static example still needs libblockcopy.so"

LD_LIBRARY_PATH=$p/lib expect_exit 0 "$T/example-shared" vm1 vda "$T/copy1.qcow2" 64M
expect_eq "$(cat "$T/out")" "Successfully pivoted" "shared example's output"
images_equal "$T/src.qcow2" "$T/copy1.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/copy1.qcow2" "disk after the shared example"
not_in_use "$T/src.qcow2"

expect_exit 0 "$T/example-static" vm1 vda "$T/copy2.qcow2"
expect_eq "$(cat "$T/out")" "Successfully pivoted" "static example's output"
images_equal "$T/src.qcow2" "$T/copy2.qcow2"
expect_eq "$(disk_file vm1 virtio-disk0)" "$T/copy2.qcow2" "disk after the static example"

unchanged vm1 "$T/example-static" vm1 nosuch "$T/copy3.qcow2"
expect_grep "error: no disk 'nosuch'" "$T/err"

make_here uninstall DESTDIR="$stage" "${dirs[@]}"
[ -z "$(installed "$stage")" ] || { installed "$stage" >&2; fail "make uninstall left files"; }

# Other directories: every one of them is honoured, by install and
# uninstall alike, and the .pc file follows.
odirs=(PREFIX=/opt/bc BINDIR=/opt/bc/sbin LIBDIR=/opt/bc/lib64
       INCLUDEDIR=/opt/bc/inc MANDIR=/opt/bc/man BASHCOMPDIR=/opt/bc/compl)
make_here install DESTDIR="$stage" "${odirs[@]}"
cat >"$T/want" <<EOF2
/opt/bc/compl/blockcopy
/opt/bc/inc/blockcopy.h
/opt/bc/lib64/libblockcopy.a
/opt/bc/lib64/libblockcopy.so
/opt/bc/lib64/libblockcopy.so.0
/opt/bc/lib64/libblockcopy.so.$version
/opt/bc/lib64/pkgconfig/libblockcopy.pc
/opt/bc/man/man1/blockcopy.1
/opt/bc/man/man3/libblockcopy.3
/opt/bc/sbin/blockcopy
EOF2
installed "$stage" >"$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "make install with other directories"
grep -qx 'libdir=/opt/bc/lib64' "$stage/opt/bc/lib64/pkgconfig/libblockcopy.pc" ||
    fail "libdir in the .pc with LIBDIR=/opt/bc/lib64"
grep -qx 'includedir=/opt/bc/inc' "$stage/opt/bc/lib64/pkgconfig/libblockcopy.pc" ||
    fail "includedir in the .pc with INCLUDEDIR=/opt/bc/inc"
make_here uninstall DESTDIR="$stage" "${odirs[@]}"
[ -z "$(installed "$stage")" ] || { installed "$stage" >&2; fail "make uninstall left files"; }

# Leave the tree's .pc file as a plain build makes it.
make -C "$TOP" -s lib/libblockcopy.pc >/dev/null 2>&1
exit 0
