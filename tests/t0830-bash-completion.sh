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
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
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
offers "--path --pivot" blockcopy job "$name" vda --p
want=$(blockcopy --json help copy | jq -r '.commands[0].options[].name | "--" + .')
offers "$want --socket --json --quiet --any-owner" blockcopy copy "$name" --
offers "--format" blockcopy "$name" vda --fo
offers "--stop-on-error --socket --json --quiet --any-owner" blockcopy shell --
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
offers "vda sda" blockcopy "$name" ""
offers "vda sda" blockcopy copy "$name" ""
offers "vda" blockcopy job "$name" v
offers "sda" blockcopy job --domain "$name" --disk s
offers "vda sda" blockcopy -s "$(sock "$name")" job ""
includes sda blockcopy -s "$(sock "$name")" ""

# Files: DEST, --xml, -s.
offers "$T/scsi.qcow2 $T/src.qcow2" blockcopy "$name" vda "$T/s"
offers "$T/scsi.qcow2 $T/src.qcow2" blockcopy "$name" vda --xml "$T/s"
offers "$T/run" blockcopy -s "$T/ru"

# Nothing to offer: values that are numbers, words past the last slot.
offers "" blockcopy "$name" vda /x --bandwidth ""
offers "" blockcopy list ""
exit 0
