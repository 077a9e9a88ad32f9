#!/usr/bin/env bash
# The bash completion: sourced, it registers itself for blockcopy and
# completes commands, options (from the tool's own table), VM names (from
# 'list'), disk names (from 'disks' of the VM on the line) and files.
. "$(dirname "$0")/lib.sh"
need_qemu

img_create "$T/src.qcow2" qcow2 64M 1
img_create "$T/scsi.qcow2" qcow2 64M 1
name=bct-$$-vm
vm_start "$name" $(drive_args "$T/src.qcow2" qcow2 drive0) \
    -device virtio-scsi-pci,id=scsi0 \
    -drive "file=$T/scsi.qcow2,if=none,id=drive1,format=qcow2" \
    -device scsi-hd,drive=drive1,bus=scsi0.0

PATH=$TOP:$PATH
. "$TOP/completion/blockcopy.bash" || fail "the script does not source"
expect_eq "$(complete -p blockcopy)" "complete -F _blockcopy blockcopy" "complete -p blockcopy"

# comp WORD...: what Tab offers for the last word, sorted, one a line.
# The words are bash's: "--opt=value" is "--opt" "=" "value".
comp() {
    local w prev=
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE=
    for w in "$@"; do
        [[ -n $COMP_LINE && $w != = && $prev != = ]] && COMP_LINE+=" "
        COMP_LINE+=$w prev=$w
    done
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _blockcopy
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}
# offers WANT WORD...: Tab offers exactly WANT (words separated by spaces).
offers() {
    local want=$1; shift
    expect_eq "$(comp "$@" | tr '\n' ' ')" "$(printf '%s\n' $want | sed '/^$/d' | sort | tr '\n' ' ')" \
        "completion of '$*'"
}
# includes WORD WORDS...: Tab offers WORD among others.
includes() {
    local want=$1; shift
    comp "$@" | grep -qxF -- "$want" || { comp "$@" >&2; fail "'$want' not offered for '$*'"; }
}

# Commands: the table's, none of the hidden or shell-only ones.
commands=$(blockcopy --json help | jq -r '.commands[] | select(.group != "Hidden") | .name')
for c in $commands; do includes "$c" blockcopy ""; done
comp blockcopy "" | grep -q -e '^__' -e '^connect$' -e '^quit$' &&
    fail "hidden or shell-only commands offered"
offers "copy" blockcopy cop
offers "job jobs" blockcopy jo
offers "$(echo "$commands")" blockcopy help ""

# Options: the command's own, from the table.
offers "--bandwidth --blockdev --buf-size --bytes" blockcopy copy --b
offers "--pivot" blockcopy job "$name" vda --p
# Not --domain: the VM is on the line already.
want=$(blockcopy --json help copy |
    jq -r '.commands[0].options[] | select(.name != "domain" and (.["alias-of"] | not)) | "--" + .name')
offers "$want --socket --json --quiet --any-owner --help" blockcopy copy "$name" --
offers "--format" blockcopy "$name" vda --fo
offers "--stop-on-error --socket --json --quiet --any-owner --help" blockcopy shell --
offers "--help" blockcopy --he
offers "--verbose --version" blockcopy --ve
offers "raw qcow2 qed vmdk vdi vhdx vpc" blockcopy "$name" vda /x --format ""
offers "qcow2 qed" blockcopy "$name" vda /x --format = q

# VM names, where DOMAIN goes.
includes "$name" blockcopy ""
offers "$name" blockcopy "${name%-vm}"
offers "$name" blockcopy jobs "${name%-vm}"
offers "$name" blockcopy job --domain "${name%-vm}"

# Disk names of the VM on the line, or of -s's monitor.
# Target names, device and drive ids; not QOM paths.
disks="vda sda virtio-disk0 drive0 drive1"
offers "$disks" blockcopy "$name" ""
offers "$disks" blockcopy copy "$name" ""
offers "vda virtio-disk0" blockcopy job "$name" v
offers "sda" blockcopy job --domain "$name" --disk s
offers "$disks" blockcopy -s "$(sock "$name")" job ""
includes sda blockcopy -s "$(sock "$name")" ""

# Files: DEST, --xml, -s.
offers "$T/scsi.qcow2 $T/src.qcow2" blockcopy "$name" vda "$T/s"
offers "$T/scsi.qcow2 $T/src.qcow2" blockcopy "$name" vda --xml "$T/s"
offers "$T/run" blockcopy -s "$T/ru"

# Nothing to offer: values that are numbers, words past the last slot.
offers "" blockcopy "$name" vda /x --bandwidth ""
offers "--any-owner --help --json --quiet --socket" blockcopy list ""

# Names are data.  A process that calls itself QEMU, named to run a command
# when a shell evaluates the name, is offered quoted, and Tab runs nothing:
# neither for a process of the caller's nor, with --any-owner, for one of
# another user (which is not offered without it).
evil='vm$(touch '$T'/pwned)`touch '$T'/pwned`;touch '$T/pwned$'\e[31m'
chmod 711 "$T"
mkdir -m 755 "$T/bin"
cp "$TESTS_DIR/helpers/fake-qmp" "$T/bin/fake-qmp"
mkdir -m 1777 "$T/other"
# fake_vm NAME SOCKET [RUN-AS...]: a fake QEMU named NAME on SOCKET.
fake_vm() {
    local name=$1 sock=$2; shift 2
    "$@" bash -c 'exec -a qemu-system-x86_64 /usr/bin/python3 "$@"' fake \
        "$T/bin/fake-qmp" "$sock" silent --as-qemu -name "$name" \
        -qmp "unix:$sock,server=on" &
    BG_PIDS+=($!)
    for _ in $(seq 100); do [ -S "$sock" ] && return; sleep 0.05; done
    fail "no fake VM on $sock"
}
fake_vm "$evil" "$T/evil.qmp"
fake_vm "other$evil" "$T/other/evil.qmp" \
    setpriv --reuid=65534 --regid=65534 --clear-groups --
printf -v quoted '%q' "$evil"
printf -v other '%q' "other$evil"
includes "$quoted" blockcopy "vm"
includes "$quoted" blockcopy jobs "vm"
offers "" blockcopy "other"
includes "$other" blockcopy --any-owner "other"
[ -e "$T/pwned" ] && fail "completing a VM name ran a command"
# What Tab put on the line reads back as the name itself.
eval "set -- $quoted $other"
expect_eq "$1" "$evil" "the offered word, read by bash"
expect_eq "$2" "other$evil" "the other offered word, read by bash"
[ -e "$T/pwned" ] && fail "the offered word ran a command"

# The same for names a monitor gives: its disks (a QEMU device id has no
# '/', so the command works in the current directory).
cd "$T" || fail "cd"
proxy_start "$name" --rename "virtio-disk0=disk\$(touch pwned)"$'\e'
printf -v quoted '%q' "disk\$(touch pwned)"$'\e'
includes "$quoted" blockcopy -s "$px" job ""
includes "$quoted" blockcopy job "$px" ""
[ -e "$T/pwned" ] && fail "completing a disk name ran a command"

# Escaped for people: __complete without --null.
blockcopy __complete -- "vm" >"$T/out" || fail "__complete"
grep -q $'\e' "$T/out" && fail "__complete printed a raw escape character"
grep -qF 'vm$(touch' "$T/out" || fail "__complete did not print the name"

# And wherever else a name or QEMU's text reaches the terminal: the VM
# list, the disk table, QEMU's reason for a failure.
proxy_stop "$name"
proxy_start "$name" --rename "virtio-disk0=disk"$'\e' --rename "Failed=Failed"$'\e]0;owned\a'
nbd_xml "$T/nbd.xml" "$T/no-such-export.sock"
for cmd in "list" "disks $px" "$px vda --xml $T/nbd.xml --reuse-external --finish"; do
    # shellcheck disable=SC2086
    blockcopy $cmd >"$T/out" 2>"$T/err"
    grep -q $'\e' "$T/out" "$T/err" && fail "'$cmd' printed a raw escape character"
    grep -qF '\x1b' "$T/out" "$T/err" || fail "'$cmd' did not show the name, escaped"
done
exit 0
