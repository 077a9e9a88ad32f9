#!/usr/bin/env bash
# The fault matrix: every copy scenario (pivot, finish, into an existing
# image, the user's --timeout expiring, job --abort) runs once for each
# QMP command it sends, with each fault of timing on that command: its
# reply held back past the tool's timeout, the connection closed before
# or after QEMU ran it, the tool killed right after sending it.  After
# each, tests/helpers/fault-cell checks that the VM runs on its intact
# source or a complete copy, that the report is what QEMU shows, that
# nothing of the tool's is left, and that no file was lost.
#
# Queries between two changes are one step: the first of each kind in it
# is faulted.  A query changes nothing, so it gets the faults that differ
# for it (a late reply, and in the first scenario a connection closed);
# a change gets all four.
# The checks before anything changes are the same for every scenario and
# are faulted in the first one only.  MATRIX_JOBS cells run at once;
# MATRIX_SCENARIOS picks scenarios (pivot, the one the others share a
# prefix with, always runs).
# run-tests: start early
. "$(dirname "$0")/lib.sh"
need_qemu
CELL=$TESTS_DIR/helpers/fault-cell
JOBS=${MATRIX_JOBS:-3}
SCENARIOS="pivot $(printf '%s\n' ${MATRIX_SCENARIOS:-finish reuse timeout abort} |
    grep -v -x pivot | tr '\n' ' ')"

is_change() {
    case $1 in
    query-*|qom-list|qom-get|qmp_capabilities) return 1 ;;
    *) return 0 ;;
    esac
}

: >"$T/cells"
prefix=
for sc in $SCENARIOS; do
    "$CELL" "$sc" record >"$T/seq.$sc" 2>"$T/seq.$sc.err" ||
        { cat "$T/seq.$sc.err" >&2; fail "scenario $sc without a fault"; }
    # The steps: every change, and the first query of a kind after each.
    awk '
        function change(c) { return c !~ /^(query-|qom-list$|qom-get$|qmp_capabilities$)/ }
        change($1) { seg++; print; next }
        !seen[seg, $1]++ { print }
    ' "$T/seq.$sc" >"$T/steps.$sc"
    # The part that pivot shares with the others (up to the first change
    # of the destination) is faulted once.
    skip=0
    if [ "$sc" != pivot ] && [ "$sc" != abort ]; then
        skip=$(awk -v p="$prefix" 'BEGIN { n = split(p, a, "\n") }
            { if (NR <= n && a[NR] == $0 && $1 !~ /^blockdev-(create|add)$/) s = NR; else exit }
            END { print s + 0 }' "$T/steps.$sc")
    fi
    [ "$sc" = pivot ] && prefix=$(cat "$T/steps.pivot")
    tail -n +$((skip + 1)) "$T/steps.$sc" | while read -r cmd nth; do
        # A connection closed after a query is the same fault in every
        # scenario: the first one has it.
        if is_change "$cmd"; then
            faults="hold close-before close-after kill-after"
        elif [ "$sc" = pivot ]; then
            faults="hold close-after"
        else
            faults="hold"
        fi
        for f in $faults; do
            echo "$sc $f $cmd $nth" >>"$T/cells"
        done
    done
done
note "$(wc -l <"$T/cells") cells, $JOBS at a time"

mkdir "$T/results"
# shellcheck disable=SC2016
xargs -P "$JOBS" -L 1 sh -c '
    out=$1/results/$2.$3.$4.$5
    "$0" "$2" "$3" "$4" "$5" >"$out" 2>&1 || echo "FAIL: exit $?" >>"$out"
' "$CELL" "$T" <"$T/cells"

# The matrix: a row a step, a column a fault.
failed=0
for sc in $SCENARIOS; do
    printf '%s\n%-34s %-6s %-6s %-6s %-6s\n' "$sc" "  step" hold c-bef c-aft kill >&2
    awk -v s="$sc" '$1 == s { print $3, $4 }' "$T/cells" | uniq | while read -r cmd nth; do
        row=$(printf '  %-32s' "$cmd $nth")
        for f in hold close-before close-after kill-after; do
            r=$T/results/$sc.$f.$cmd.$nth
            if [ ! -e "$r" ]; then
                cell=-
            elif grep -q "FAIL" "$r"; then
                cell=FAIL
            else
                cell=pass
            fi
            row="$row $(printf '%-6s' $cell)"
        done
        echo "$row" >&2
    done
done
for r in "$T"/results/*; do
    if grep -q FAIL "$r"; then
        failed=$((failed + 1))
        echo "--- $(basename "$r"):" >&2
        tail -15 "$r" >&2
    fi
done
[ $failed -eq 0 ] || fail "$failed cells of the fault matrix failed"
exit 0
