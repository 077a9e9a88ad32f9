#!/usr/bin/env bash
# The man pages: lint-clean for groff and mandoc, the example program in
# libblockcopy(3) identical to man/example.c (and compiling cleanly), every
# environment variable described, and one version everywhere it is
# written.
. "$(dirname "$0")/lib.sh"

command -v groff >/dev/null ||
    fail "groff not found (Debian: apt-get install groff-base)"
command -v mandoc >/dev/null ||
    fail "mandoc not found (Debian: apt-get install mandoc)"

for page in "$TOP/man/blockcopy.1" "$TOP/man/libblockcopy.3"; do
    groff -man -ww -z "$page" >"$T/lint" 2>&1
    [ ! -s "$T/lint" ] || { cat "$T/lint" >&2; fail "groff warns about $page"; }
    mandoc -Tlint "$page" >"$T/lint" 2>&1
    [ ! -s "$T/lint" ] || { cat "$T/lint" >&2; fail "mandoc -Tlint warns about $page"; }
done

# The program a reader copies from the page is the one the tests run.
"$TOP/tests/helpers/man-code" extract "$TOP/man/libblockcopy.3" EXAMPLE \
    >"$T/example.c" || fail "no example program in libblockcopy.3"
diff -u "$TOP/man/example.c" "$T/example.c" >&2 ||
    fail "the example in libblockcopy.3 differs from man/example.c (tests/helpers/man-code escape man/example.c)"
cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$TOP/lib" -fsyntax-only \
    "$TOP/man/example.c" || fail "man/example.c does not compile cleanly"

# Every variable the code reads is in ENVIRONMENT (HOME goes without saying).
sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$TOP/man/blockcopy.1" >"$T/environ"
vars=$(cat "$TOP"/cli/*.c "$TOP"/lib/*.c | grep -o 'getenv("[A-Za-z_]*")' |
       sed 's/getenv("\(.*\)")/\1/' | sort -u | grep -vx HOME)
[ -n "$vars" ] || fail "found no getenv() in the sources"
for v in $vars; do
    grep -qx "\.B $v" "$T/environ" || fail "blockcopy.1 does not describe \$$v under ENVIRONMENT"
done

# One version: the Makefile's is the one the others must repeat.
version=$(sed -n 's/^VERSION = //p' "$TOP/Makefile")
[ -n "$version" ] || fail "no VERSION in the Makefile"
expect_eq "$(sed -n 's/^#define BC_VERSION_STRING "\(.*\)"/\1/p' "$TOP/lib/blockcopy.h")" \
    "$version" "BC_VERSION_STRING"
expect_eq "$(sed -n 's/^AC_INIT(\[blockcopy\], \[\([^]]*\)\].*/\1/p' "$TOP/configure.ac")" \
    "$version" "AC_INIT's version"
expect_eq "$("$BLOCKCOPY" --version)" "blockcopy $version" "blockcopy --version"
for page in blockcopy.1 libblockcopy.3; do
    expect_eq "$(sed -n 's/^\.TH [^"]*"blockcopy \([^"]*\)".*/\1/p' "$TOP/man/$page")" \
        "$version" "the version in $page"
done
exit 0
