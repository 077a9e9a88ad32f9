#!/usr/bin/env bash
# A VM name leads only to the caller's own QEMU processes and sockets:
# anyone can start a process that passes for QEMU, under a name the caller
# knows, with a monitor of its own.  --any-owner and a socket path reach
# other users' VMs; a socket that a QEMU process declares but another user
# owns is refused by name, with --any-owner too; 'list' says whose each VM
# is, and completion offers only the names that lead somewhere.
. "$(dirname "$0")/lib.sh"
need_qemu

if [ "$(id -u)" -ne 0 ]; then
    note "not root: cannot run a fake QEMU as another user, skipped"
    exit 0
fi
command -v setpriv >/dev/null ||
    fail "setpriv not found (Debian: apt-get install util-linux)"
other=$(getent passwd 65534 | cut -d: -f1)
[ -n "$other" ] || fail "no user with uid 65534"
me=$(id -un)
tag=bco$$r$RANDOM

# The other user must reach the fake and a directory to put sockets in;
# the socket directory is one everyone may write, as /tmp is.
chmod 711 "$T"
mkdir -m 755 "$T/bin"
cp "$TESTS_DIR/helpers/fake-qmp" "$T/bin/fake-qmp"
chmod 755 "$T/bin/fake-qmp"
chmod 1777 "$T/run"
mkdir -m 1777 "$T/shared"
mkdir -m 755 "$T/p"

wait_sock() {
    local i
    for i in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
    fail "no socket $1"
}

# fake UID SOCKET [FAKE-QMP-OPTIONS...]: fake-qmp run by UID on SOCKET,
# answering every command with an error and writing "accepted" to
# SOCKET.accepted for every connection.  Its pid is in $fpid.
fake() {
    local uid=$1 sock=$2; shift 2
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
        bash -c 'exec -a qemu-system-x86_64 python3 "$@"' fake \
        "$T/bin/fake-qmp" "$sock" error-commands --accept-log "$T/shared/$(basename "$sock").accepted" \
        "$@" 2>>"$T/fake.log" &
    fpid=$!
    BG_PIDS+=($fpid)
    wait_sock "$sock"
}

# no_connection SOCKET: nobody connected to the fake on SOCKET.
no_connection() {
    [ ! -s "$T/shared/$(basename "$1").accepted" ] ||
        fail "blockcopy connected to $1"
}

connected() {
    [ -s "$T/shared/$(basename "$1").accepted" ] ||
        fail "blockcopy did not connect to $1"
}

# (1) A name that only another user's process has.
x=$T/shared/x.sock
fake 65534 "$x" --as-qemu -name "$tag-x" -qmp "unix:$x,server=on,wait=off"
xpid=$fpid
expect_eq "$(awk '/^Uid:/ {print $2}' "/proc/$xpid/status")" 65534 "real uid of the fake"

expect_exit 2 bc qmp "$tag-x" query-status
expect_err "error: VM '$tag-x' belongs to user '$other' (uid 65534), not to you; use --any-owner or its socket path"
expect_exit 2 bc "$tag-x" vda "$T/copy.qcow2" --wait --pivot
expect_err "error: VM '$tag-x' belongs to user '$other' (uid 65534), not to you; use --any-owner or its socket path"
expect_exit 2 bc --json disks "$tag-x"
expect_eq "$(jq -r .error.code "$T/out")" "no-domain" "JSON error of another user's VM"
printf 'connect %s\n' "$tag-x" >"$T/script"
expect_exit 2 bc <"$T/script"
expect_grep "VM '$tag-x' belongs to user '$other'" "$T/err"
no_connection "$x"
[ ! -e "$T/copy.qcow2" ] || fail "a copy to another user's VM created its destination"

# With --any-owner, before the command, after it, or in the shell, the
# name leads there: the fake's error says it got the command.
expect_exit 1 bc --any-owner qmp "$tag-x" query-status
expect_err "error: fake failure of 'query-status'"
connected "$x"
rm -f "$T/shared/x.sock.accepted"
expect_exit 1 bc qmp "$tag-x" query-status --any-owner
expect_err "error: fake failure of 'query-status'"
connected "$x"
rm -f "$T/shared/x.sock.accepted"
printf 'connect %s --any-owner\n' "$tag-x" >"$T/script"
expect_exit 0 bc <"$T/script"
connected "$x"
rm -f "$T/shared/x.sock.accepted"
# ... but only for that line of the shell.
printf 'connect %s --any-owner\ndisconnect\nconnect %s\n' "$tag-x" "$tag-x" >"$T/script"
expect_exit 2 bc <"$T/script"
expect_grep "VM '$tag-x' belongs to user '$other'" "$T/err"
rm -f "$T/shared/x.sock.accepted"

# (5) A socket path is the user's own statement: used as given.
for d in "$x" "unix:$x"; do
    expect_exit 1 bc qmp "$d" query-status
    expect_err "error: fake failure of 'query-status'"
done
expect_exit 1 bc -s "$x" qmp query-status
expect_err "error: fake failure of 'query-status'"
connected "$x"

# (2) The caller's VM, found by its process, and another user's socket of
# the same name in a socket directory, which is looked at first: the
# caller's is the one used, also with --any-owner.
img_create "$T/d.qcow2" qcow2 16M
own=$T/p/own.sock
"$QEMU" -machine q35,accel=tcg -nodefaults -display none -S -name "$tag-own" \
    -qmp "unix:$own,server=on,wait=off" $(drive_args "$T/d.qcow2" qcow2 drive0) \
    >"$T/own.log" 2>&1 &
ownpid=$!
BG_PIDS+=($ownpid)
wait_sock "$own"
squat=$T/run/$tag-own.qmp
fake 65534 "$squat"
for g in "" --any-owner; do
    expect_exit 0 bc $g --json disks "$tag-own"
    expect_eq "$(jq -r '.[0].source' "$T/out")" "$T/d.qcow2" "disks of $tag-own ${g:-by name}"
done
no_connection "$squat"

# A socket in a socket directory that the caller owns but another user
# serves (it was made by that user and given away, or swapped after the
# look): the kernel says who listens, and the name is refused before a
# command is sent.
peer=$T/run/$tag-peer.qmp
fake 65534 "$peer"
chown 0:0 "$peer"
expect_exit 2 bc qmp "$tag-peer" query-status
expect_err "error: monitor socket '$peer' is served by a process of user '$other' (uid 65534), not of user '$me' (uid 0) as the lookup found: refused by name; give the socket path if you trust it"

# (3) The caller's QEMU process whose declared socket another user owns:
# refused by name, also with --any-owner.  So are a declared socket that
# is a symbolic link (to the caller's own VM, even) and one that is not a
# socket.
c3=$T/shared/c3.sock
fake 65534 "$c3"
# root_qemu NAME SOCKET: a process of the caller's that passes for a QEMU
# named NAME with its monitor on SOCKET (the interpreter itself: a
# wrapper script in PATH would exec it under its own name).
py=$(python3 -c 'import sys; print(sys.executable)')
root_qemu() {
    local i
    bash -c 'exec -a qemu-system-x86_64 "$0" -c "import time; time.sleep(600)" "$@"' \
        "$py" -name "$1" -qmp "unix:$2,server=on,wait=off" &
    BG_PIDS+=($!)
    rpid=$!
    # Until the exec, /proc shows bash.
    for i in $(seq 200); do
        tr '\0' ' ' <"/proc/$rpid/cmdline" 2>/dev/null | grep -q -- "-name $1 " &&
            return 0
        sleep 0.05
    done
    fail "the process named $1 did not start"
}
root_qemu "$tag-c3" "$c3"
c3pid=$rpid
ln -s "$own" "$T/p/link.sock"
root_qemu "$tag-link" "$T/p/link.sock"
linkpid=$rpid
echo not a socket >"$T/p/file.sock"
root_qemu "$tag-file" "$T/p/file.sock"
filepid=$rpid
for g in "" --any-owner; do
    expect_exit 2 bc $g qmp "$tag-c3" query-status
    expect_err "error: VM '$tag-c3' (pid $c3pid): its monitor socket '$c3' belongs to user '$other' (uid 65534), the QEMU process to user '$me' (uid 0): refused by name; give the socket path if you trust it"
done
no_connection "$c3"
expect_exit 2 bc disks "$tag-link"
expect_err "error: VM '$tag-link' (pid $linkpid): its monitor socket '$T/p/link.sock' is a symbolic link: refused by name; give the socket path if you trust it"
expect_exit 2 bc disks "$tag-file"
expect_err "error: VM '$tag-file' (pid $filepid): its monitor socket '$T/p/file.sock' is not a socket: refused by name; give the socket path if you trust it"
# Given as a path, the user's word counts.
expect_exit 1 bc qmp "$c3" query-status
expect_err "error: fake failure of 'query-status'"
expect_exit 0 bc disks "$T/p/link.sock"

# (4) 'list' shows whose each VM is and marks what a name does not lead to.
expect_exit 0 bc --json list
entry() {
    jq -c --arg n "$1" --arg s "$2" '.[] | select(.name == $n and .socket == $s) | {pid, owner, uid, note}' "$T/out"
}
expect_eq "$(entry "$tag-x" "unix:$x")" \
    "{\"pid\":$xpid,\"owner\":\"$other\",\"uid\":65534,\"note\":\"owned by $other: use --any-owner\"}" "list: another user's process"
expect_eq "$(entry "$tag-own" "unix:$squat")" \
    "{\"pid\":null,\"owner\":\"$other\",\"uid\":65534,\"note\":\"owned by $other: use --any-owner\"}" "list: another user's socket"
expect_eq "$(entry "$tag-own" "unix:$own")" \
    "{\"pid\":$ownpid,\"owner\":\"$me\",\"uid\":0,\"note\":null}" "list: the caller's VM"
expect_eq "$(entry "$tag-c3" "unix:$c3")" \
    "{\"pid\":$c3pid,\"owner\":\"$me\",\"uid\":0,\"note\":\"refused by name: its monitor socket '$c3' belongs to user '$other' (uid 65534), the QEMU process to user '$me' (uid 0)\"}" \
    "list: a socket of another user"
expect_exit 0 bc --any-owner --json list
expect_eq "$(entry "$tag-x" "unix:$x")" \
    "{\"pid\":$xpid,\"owner\":\"$other\",\"uid\":65534,\"note\":null}" "list --any-owner: another user's process"
expect_exit 0 bc list
expect_grep "^Name  *PID  *Owner  *State  *Socket$" "$T/out"
expect_grep "^$tag-x  *$xpid  *$other  *[a-z-]*  *unix:$x (owned by $other: use --any-owner)$" "$T/out"
expect_grep "^$tag-own  *$ownpid  *$me  *free  *unix:$own$" "$T/out"

# Completion offers the names that lead to a VM: the caller's, or with
# --any-owner every one that can be driven.
expect_exit 0 bc __complete "disks $tag-"
expect_eq "$(sort "$T/out" | tr '\n' ' ')" "$tag-own $tag-peer " "names offered"
for line in "--any-owner disks $tag-" "disks --any-owner $tag-"; do
    expect_exit 0 bc __complete -- "$line"
    expect_eq "$(sort "$T/out" | tr '\n' ' ')" "$tag-own $tag-peer $tag-x " "names offered for '$line'"
done
expect_exit 0 bc --any-owner __complete "disks $tag-"
expect_eq "$(sort "$T/out" | tr '\n' ' ')" "$tag-own $tag-peer $tag-x " "names offered with --any-owner"
PATH=$TOP:$PATH
. "$TOP/completion/blockcopy.bash" || fail "the bash completion does not source"
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _blockcopy
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' '
}
expect_eq "$(comp blockcopy disks "$tag-")" "$tag-own $tag-peer " "bash: names offered"
expect_eq "$(comp blockcopy --any-owner disks "$tag-")" "$tag-own $tag-peer $tag-x " \
    "bash: names offered with --any-owner"
exit 0
