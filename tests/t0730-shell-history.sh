#!/usr/bin/env bash
# The shell's history: kept across sessions in
# $XDG_STATE_HOME/blockcopy/history (else ~/.local/state/...), private to
# the user, at most 1000 lines, without lines that start with a space.
. "$(dirname "$0")/lib.sh"

session() {
    "$TESTS_DIR/helpers/pty-run" "$1" --log "$T/$(basename "$1").log" -- \
        "$BLOCKCOPY" || fail "the terminal session $1"
}

export XDG_STATE_HOME=$T/state
HIST=$T/state/blockcopy/history

cat >"$T/first" <<'EOF'
expect blockcopy> 
send version\r
expect blockcopy 0.1.0
send  help list\r
expect usage: blockcopy list
send help job\r
expect usage: blockcopy job
send quit\r
exit 0
EOF
session "$T/first"
printf 'version\nhelp job\nquit\n' >"$T/expect"
diff -u "$T/expect" "$HIST" || fail "history after the first session"
expect_eq "$(stat -c %a "$HIST")" 600 "mode of the history file"
expect_eq "$(stat -c %a "$T/state/blockcopy")" 700 "mode of its directory"
expect_eq "$(stat -c %a "$T/state")" 700 "mode of XDG_STATE_HOME"

# The next day: Ctrl-P brings the commands back.
cat >"$T/second" <<'EOF'
expect blockcopy> 
send \x10\x10\r
expect usage: blockcopy job
# Ctrl-D only at the prompt: typed ahead, the terminal drops it.
expect blockcopy> 
send \x04
exit 0
EOF
session "$T/second"
printf 'version\nhelp job\nquit\nhelp job\n' >"$T/expect"
diff -u "$T/expect" "$HIST" || fail "history after the second session"

# The file keeps the newest 1000 lines; they are all recalled.
for i in $(seq 1 1500); do echo "version # $i"; done >"$HIST"
cat >"$T/third" <<'EOF'
expect blockcopy> 
send \x10\r
expect blockcopy 0.1.0
send help\r
expect 'help COMMAND'
# Ctrl-D only at the prompt: typed ahead, the terminal drops it.
expect blockcopy> 
send \x04
exit 0
EOF
session "$T/third"
expect_eq "$(wc -l <"$HIST")" 1000 "lines kept"
expect_eq "$(head -n 1 "$HIST")" "version # 502" "oldest line kept"
expect_eq "$(tail -n 2 "$HIST" | tr '\n' ,)" "version # 1500,help," "newest lines"

# Without XDG_STATE_HOME (or with a relative one), under the home directory.
unset XDG_STATE_HOME
mkdir "$T/home"
printf 'expect blockcopy> \nsend version\\r\nexpect 0.1.0\nexpect blockcopy> \nsend \\x04\nexit 0\n' >"$T/fourth"
HOME=$T/home XDG_STATE_HOME=relative/path session "$T/fourth"
expect_eq "$(cat "$T/home/.local/state/blockcopy/history")" "version" \
    "history under HOME"
expect_eq "$(stat -c %a "$T/home/.local/state")" 700 "mode of ~/.local/state"
[ -e relative ] && fail "a relative XDG_STATE_HOME was used"

# A history that cannot be kept is a warning, not the end of the shell.
cat >"$T/fifth" <<'EOF'
expect warning: history is not kept: cannot create '/proc/bc-none'
expect blockcopy> 
send version\r
expect blockcopy 0.1.0
# Ctrl-D only at the prompt: typed ahead, the terminal drops it.
expect blockcopy> 
send \x04
exit 0
EOF
XDG_STATE_HOME=/proc/bc-none session "$T/fifth"

# A history file planted as a link is never followed: another user's
# file stays as it was, and nothing typed goes there.
mkdir -p "$T/linked/blockcopy"
printf 'not yours\n' >"$T/target"
ln -s "$T/target" "$T/linked/blockcopy/history"
sed "s|/proc/bc-none'|$T/linked/blockcopy/history': it is a symbolic link|; s|cannot create|cannot read|" \
    "$T/fifth" >"$T/sixth"
XDG_STATE_HOME=$T/linked session "$T/sixth"
expect_eq "$(cat "$T/target")" "not yours" "the link's target"

# An existing history readable by others is made private.
mkdir -p "$T/loose/blockcopy"
printf 'help\n' >"$T/loose/blockcopy/history"
chmod 644 "$T/loose/blockcopy/history"
printf 'expect blockcopy> \nsend version\\r\nexpect 0.1.0\nexpect blockcopy> \nsend \\x04\nexit 0\n' >"$T/seventh"
XDG_STATE_HOME=$T/loose session "$T/seventh"
expect_eq "$(stat -c %a "$T/loose/blockcopy/history")" 600 "mode of an old history"
expect_eq "$(cat "$T/loose/blockcopy/history")" "help
version" "the old history, kept"
exit 0
