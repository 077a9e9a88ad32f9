# bash completion for blockcopy(1)
#
# The tool completes its own command line: "blockcopy __complete --null --
# LINE" runs its parser on the line up to the cursor and prints what can
# follow, NUL-terminated, after a word saying whether they are file names.
# VM and disk names come from other processes and from QEMU, so they are
# data: read with mapfile, quoted with printf %q, never given to compgen -W
# or eval.

_blockcopy()
{
    local bc=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local line=${COMP_LINE:0:COMP_POINT} word pre w q
    local -a out
    COMPREPLY=()

    [[ $(type -P "$bc" 2>/dev/null) || -x $bc ]] || bc=blockcopy
    # The line after the program's own word.
    line=${line#"${line%%[![:space:]]*}"}
    line=${line#"${COMP_WORDS[0]}"}

    # A monitor held by another client must not stall the command line.
    mapfile -t -d '' out < <(BLOCKCOPY_GREETING_TIMEOUT_MS=${BLOCKCOPY_GREETING_TIMEOUT_MS:-500} \
        "$bc" __complete --null -- "$line" 2>/dev/null)
    ((${#out[@]})) || return

    if [[ ${out[0]} == files ]]; then
        # bash's own file name completion knows ~, quoting and the
        # user's settings; the tool only said that a file goes here.
        [[ $cur == [=:] ]] && cur=
        if declare -F _filedir >/dev/null; then
            _filedir
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        return
    fi

    # Readline replaces only the text after the last '=' or ':' of the
    # word ("--format=q"): the tool's words include what comes before.
    word=${line##*[[:space:]]}
    pre=${word%"${word##*[=:]}"}
    for w in "${out[@]:1}"; do
        printf -v q '%q' "${w#"$pre"}"
        COMPREPLY+=("$q")
    done
}

complete -F _blockcopy blockcopy
