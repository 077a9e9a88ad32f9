#!/usr/bin/env bash
# make dist: the tarball holds every file git tracks (but .ci/ and
# .gitignore) and a generated configure, comes out the same twice, and
# builds, tests, installs, uninstalls and cleans up on its own
# (scripts/distcheck --quick; make distcheck runs all of make check).
. "$(dirname "$0")/lib.sh"
need_qemu

if ! git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    note "not a git checkout (an unpacked tarball): make dist needs one"
    exit 0
fi
command -v autoconf >/dev/null || fail "autoconf not found (Debian: apt-get install autoconf)"
version=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")
name=blockcopy-$version

mkdir "$T/a" "$T/b"
"$TOP/scripts/dist" "$version" "$T/a" >/dev/null || fail "scripts/dist"
sleep 1
"$TOP/scripts/dist" "$version" "$T/b" >/dev/null || fail "scripts/dist, again"
cmp -s "$T/a/$name.tar.gz" "$T/b/$name.tar.gz" || fail "two runs of make dist differ"

tar -tzf "$T/a/$name.tar.gz" | grep -v '/$' | sed "s|^$name/||" | sort >"$T/got"
{ git -C "$TOP" ls-files | grep -v -e '^\.ci/' -e '^\.gitignore$'; echo configure; } |
    sort >"$T/want"
diff -u "$T/want" "$T/got" >&2 || fail "the tarball's files ('+': not tracked, '-': missing)"
tar -tvzf "$T/a/$name.tar.gz" | grep -q " $name/configure$" || fail "no configure"
tar -tvzf "$T/a/$name.tar.gz" | awk '$1 ~ /x/ {print $6}' | grep -qx "$name/configure" ||
    fail "configure is not executable in the tarball"

"$TOP/scripts/distcheck" --quick "$T/a/$name.tar.gz" >"$T/log" 2>&1 ||
    { cat "$T/log" >&2; fail "the tarball does not stand on its own"; }
exit 0
