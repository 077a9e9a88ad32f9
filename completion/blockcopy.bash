# bash completion for blockcopy(1)
#
# Commands and options come from the tool's own command table
# ("blockcopy --json help"), VM names from "blockcopy --json list" and disk
# names from "blockcopy --json disks DOMAIN", so the completion never goes
# stale.  The JSON is read with bash alone: jq is not on every machine.

# _blockcopy_strings JSON KEY: every string value of KEY in JSON, one a line.
_blockcopy_strings()
{
    local json=$1 key=$2 re
    re="\"$key\":\"([^\"\\\\]*)\""
    while [[ $json =~ $re ]]; do
        printf '%s\n' "${BASH_REMATCH[1]}"
        json=${json#*"${BASH_REMATCH[0]}"}
    done
}

# The commands of the table that can be typed on the command line.
_blockcopy_commands()
{
    local json re
    json=$("$1" --json help 2>/dev/null) || return
    re='\{"name":"([^"]*)","group":"([^"]*)"'
    while [[ $json =~ $re ]]; do
        [[ ${BASH_REMATCH[2]} != Hidden && ${BASH_REMATCH[1]} != __* ]] &&
            printf '%s\n' "${BASH_REMATCH[1]}"
        json=${json#*"${BASH_REMATCH[0]}"}
    done
}

# _blockcopy_options BLOCKCOPY COMMAND: "NAME TYPE ARG POSITIONAL" lines.
_blockcopy_options()
{
    local json re
    json=$("$1" --json help "$2" 2>/dev/null) || return
    re='\{"name":"([^"]*)","type":"([a-z]*)"(,"arg":"([^"]*)")?,"required":(true|false),"positional":(true|false)'
    while [[ $json =~ $re ]]; do
        printf '%s %s %s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
            "${BASH_REMATCH[4]:--}" "${BASH_REMATCH[6]}"
        json=${json#*"${BASH_REMATCH[0]}"}
    done
}

# _blockcopy_domains BLOCKCOPY [--any-owner]: the names that lead to a VM,
# those "list" finds with a QMP socket and no note (a VM of another user
# has one, unless --any-owner is given).
_blockcopy_domains()
{
    local json entry name
    local -A seen=()
    json=$("$1" ${2:+"$2"} --json list 2>/dev/null) || return
    json=${json#[}
    while [[ $json == *\}* ]]; do
        entry=${json%%\}*}
        json=${json#*\}}
        json=${json#,}
        [[ $entry == *'"socket":"'* && $entry != *'"note":'* ]] || continue
        name=$(_blockcopy_strings "$entry" name)
        # A socket and a process may both carry the name.
        [[ -n $name && -z ${seen[$name]:-} ]] || continue
        seen[$name]=1
        printf '%s\n' "$name"
    done
}

# _blockcopy_disks BLOCKCOPY DOMAIN [--any-owner]: the disks of a VM,
# target names, or the device id of a disk without one.
_blockcopy_disks()
{
    local json entry name
    # A monitor held by another client must not stall the command line.
    json=$(BLOCKCOPY_GREETING_TIMEOUT_MS=${BLOCKCOPY_GREETING_TIMEOUT_MS:-500} \
           "$1" ${3:+"$3"} --json disks "$2" 2>/dev/null) || return
    json=${json#[}
    while [[ $json == *\}* ]]; do
        entry=${json%%\}*}
        json=${json#*\}}
        json=${json#,}
        name=$(_blockcopy_strings "$entry" target)
        [[ -n $name ]] || name=$(_blockcopy_strings "$entry" device)
        [[ -n $name ]] && printf '%s\n' "$name"
    done
}

_blockcopy_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

# _blockcopy_values ARG: complete the value of an argument named ARG.
_blockcopy_values()
{
    local IFS=$'\n'
    case $1 in
    DOMAIN)
        COMPREPLY=($(compgen -W "$(_blockcopy_domains "$bc" "$anyowner")" -- "$cur"))
        ;;
    DISK)
        [[ -n $domain ]] &&
            COMPREPLY=($(compgen -W "$(_blockcopy_disks "$bc" "$domain" "$anyowner")" -- "$cur"))
        ;;
    DEST|FILE|PATH) _blockcopy_files ;;
    FMT)
        COMPREPLY=($(compgen -W "$(printf '%s\n' raw qcow2 qed vmdk vdi vhdx vpc)" \
            -- "$cur"))
        ;;
    COMMAND)
        [[ $cmd == help ]] &&
            COMPREPLY=($(compgen -W "$(_blockcopy_commands "$bc")" -- "$cur"))
        ;;
    esac
}

_blockcopy()
{
    local cur=${COMP_WORDS[COMP_CWORD]} bc=${COMP_WORDS[0]}
    local cword=$COMP_CWORD globals="--socket --json --quiet --any-owner"
    local -a words=("${COMP_WORDS[@]}")
    local i=1 w cmd= socket= domain= opt= anyowner=
    COMPREPLY=()

    # "--opt=value" arrives as three words: "--opt" "=" "value".
    if [[ $cur == = ]]; then
        opt=${words[cword - 1]} cur=
    elif [[ ${words[cword - 1]} == = ]]; then
        opt=${words[cword - 2]}
    fi
    [[ $(type -P "$bc" 2>/dev/null) || -x $bc ]] || bc=blockcopy

    # Global options, then the command (copy unless a command is named).
    while ((i < cword)); do
        case ${words[i]} in
        -s|--socket)
            if ((i + 1 == cword)) ||
                { [[ ${words[i + 1]} == = ]] && ((i + 2 == cword)); }; then
                _blockcopy_files
                return
            fi
            if [[ ${words[i + 1]} == = ]]; then
                socket=${words[i + 2]}; ((i += 3))
            else
                socket=${words[i + 1]}; ((i += 2))
            fi
            continue
            ;;
        --json|-q|--quiet) ;;
        --any-owner) anyowner=--any-owner ;;
        *) break ;;
        esac
        ((i++))
    done
    if ((i == cword)) && [[ -z $opt ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$globals --help --version $(_blockcopy_options "$bc" copy |
                while read -r n _; do echo "--$n"; done)" -- "$cur"))
        elif [[ -n $socket ]]; then
            # The copy command's DISK, DOMAIN being the socket.
            COMPREPLY=($(compgen -W "$(_blockcopy_commands "$bc")
$(_blockcopy_disks "$bc" "$socket" "$anyowner")" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_blockcopy_commands "$bc")
$(_blockcopy_domains "$bc" "$anyowner")" -- "$cur"))
        fi
        return
    fi
    w=${words[i]}
    if [[ $w != -* ]] && _blockcopy_commands "$bc" | grep -qxF -- "$w"; then
        cmd=$w
        ((i++))
    else
        cmd=copy
    fi

    local -a names=() types=() args=() positional=() seen=() pos=() slots=()
    local n t a p k value_of=
    while read -r n t a p; do
        names+=("$n") types+=("$t") args+=("$a") positional+=("$p")
    done < <(_blockcopy_options "$bc" "$cmd")

    # Walk what is typed: options with their values, positional words.
    while ((i < cword)); do
        w=${words[i]}
        if [[ -n $value_of ]]; then
            [[ $value_of == domain ]] && domain=$w
            [[ $value_of == socket ]] && socket=$w
            value_of=
        elif [[ $w == = ]]; then
            :
        elif [[ $w == -s || $w == --socket ]]; then
            value_of=socket
        elif [[ $w == --any-owner ]]; then
            anyowner=--any-owner
        elif [[ $w == --* ]]; then
            n=${w#--} n=${n%%=*}
            seen+=("$n")
            for k in "${!names[@]}"; do
                [[ ${names[k]} == "$n" && ${types[k]} != bool ]] || continue
                if [[ $w == *=* ]]; then
                    [[ $n == domain ]] && domain=${w#*=}
                else
                    [[ ${words[i + 1]} == = ]] && ((i++))
                    value_of=$n
                fi
            done
        elif [[ $w != -* ]]; then
            pos+=("$w")
        fi
        ((i++))
    done

    # The positional options not given by name take the words in order;
    # -s stands for DOMAIN, as in the tool's parser.
    for k in "${!names[@]}"; do
        [[ ${positional[k]} == true ]] || continue
        [[ ${args[k]} == DOMAIN && -n $socket ]] && continue
        [[ " ${seen[*]} " == *" ${names[k]} "* ]] && continue
        slots+=("$k")
    done
    for k in "${!pos[@]}"; do
        ((k < ${#slots[@]})) && [[ ${args[slots[k]]} == DOMAIN ]] &&
            domain=${pos[k]}
    done
    [[ -z $domain ]] && domain=$socket

    # The value of an option.
    if [[ -n $value_of || -n $opt ]]; then
        [[ -n $opt ]] && value_of=${opt#--}
        for k in "${!names[@]}"; do
            [[ ${names[k]} == "$value_of" ]] && _blockcopy_values "${args[k]}"
        done
        [[ $value_of == s || $value_of == socket ]] && _blockcopy_files
        return
    fi

    if [[ $cur == -* ]]; then
        local -a offer=()
        for k in "${!names[@]}"; do
            [[ " ${seen[*]} " == *" ${names[k]} "* ]] || offer+=("--${names[k]}")
        done
        COMPREPLY=($(compgen -W "${offer[*]} $globals" -- "$cur"))
        return
    fi

    # The next positional option.
    if ((${#pos[@]} < ${#slots[@]})); then
        _blockcopy_values "${args[slots[${#pos[@]}]]}"
    fi
}

complete -F _blockcopy blockcopy
