#!/usr/bin/env bash
# One source of truth: every command and option of the command table
# (blockcopy --json help, in the shell so that its own commands count) and
# every global option of --help is in blockcopy(1), grouped as the table
# groups them, with the same argument names; and the man page lists
# nothing the tool does not have.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 not found (Debian: apt-get install python3)"
MT=$TOP/tests/helpers/man-table

printf 'help\n' | "$BLOCKCOPY" --json shell >"$T/help.json" ||
    fail "blockcopy --json shell could not run 'help'"
"$BLOCKCOPY" --help >"$T/help.txt" || fail "blockcopy --help failed"
{
    "$MT" table <"$T/help.json" &&
    "$MT" globals <"$T/help.txt"
} | sort >"$T/tool" || fail "cannot read the tool's command table"
"$MT" man "$TOP/man/blockcopy.1" >"$T/man" || fail "cannot read blockcopy.1"

# A table that reads as nothing would make the comparison pointless.
[ "$(grep -c '^group ' "$T/tool")" -ge 10 ] || fail "too few commands in the table"
grep -q '^copy: --bandwidth SIZE$' "$T/tool" || fail "the table lacks copy --bandwidth"
grep -q '^global: -s, --socket PATH$' "$T/tool" || fail "no global options in --help"

if ! diff -u "$T/tool" "$T/man" >"$T/diff"; then
    cat "$T/diff" >&2
    fail "blockcopy.1 and the command table differ ('-' only in the tool, '+' only in the man page)"
fi

# The one-shot table is the shell's without the shell-only commands.
"$BLOCKCOPY" --json help | "$MT" table >"$T/oneshot"
for c in $(jq -r '.commands[] | select(."shell-only" | not) | .name' "$T/help.json"); do
    [[ $c == __* ]] && continue
    grep -q "^group [A-Za-z]*: $c\$" "$T/oneshot" || fail "'$c' missing from blockcopy --json help"
done
exit 0
