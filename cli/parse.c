/*
 * One parser for both the command line and shell lines: words are matched
 * against the command's option table, as virsh does.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int opt_index(const cli_cmd *cmd, const char *name)
{
    int i;

    for (i = 0; cmd->opts[i].name; i++)
        if (strcmp(cmd->opts[i].name, name) == 0) {
            if (cmd->opts[i].alias_of)
                return opt_index(cmd, cmd->opts[i].alias_of);
            return i;
        }
    return -1;
}

/*
 * The global option 'word' names, with the value it carries after '='
 * in *value (NULL without one); NULL if it is not one.  A one-letter name
 * is written with one dash (-s), any other with two (--socket).
 */
const cli_opt *cli_global_find(const char *word, const char **value)
{
    const char *name, *eq;
    const cli_opt *o;
    size_t len;

    *value = NULL;
    if (word[0] != '-' || !word[1])
        return NULL;
    if (word[1] != '-') {
        name = word + 1;
        len = strlen(name);
        if (len != 1)
            return NULL;
    } else {
        name = word + 2;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        if (len < 2)
            return NULL;
        if (eq)
            *value = eq + 1;
    }
    for (o = cli_global_opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            break;
    if (!o->name)
        return NULL;
    if (o->alias_of) {
        const char *ignored;
        char full[32];

        snprintf(full, sizeof(full), "--%s", o->alias_of);
        return cli_global_find(full, &ignored);
    }
    return o;
}

int cli_global_option(cli_ctx *ctx, int argc, char *const argv[], int i,
                      const cli_opt **found)
{
    const char *value;
    const cli_opt *o = cli_global_find(argv[i], &value);
    int used = 1;

    *found = o;
    if (!o)
        return 0;
    if (o->type == CLI_OPT_BOOL && value) {
        cli_error("option --%s takes no value", o->name);
        return -1;
    }
    if (o->type != CLI_OPT_BOOL && !value) {
        if (i + 1 >= argc) {
            cli_error("option %s needs a value (%s)", argv[i], o->arg);
            return -1;
        }
        value = argv[i + 1];
        used = 2;
    }
    if (!strcmp(o->name, "socket"))
        ctx->socket = value;
    else if (!strcmp(o->name, "json"))
        ctx->json = true;
    else if (!strcmp(o->name, "quiet"))
        ctx->quiet = true;
    else if (!strcmp(o->name, "any-owner"))
        ctx->conn_opts.flags |= BC_DOMAIN_ANY_OWNER;
    /* --help and --version are for the caller to act on. */
    return used;
}

/*
 * How far apart two words are: insertions, deletions, substitutions and
 * swaps of neighbours (the optimal string alignment distance).
 */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t d[32][32];

    if (la >= 32 || lb >= 32)
        return SIZE_MAX;
    for (i = 0; i <= la; i++)
        d[i][0] = i;
    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

bool cli_near(const char *typed, const char *name)
{
    /* One slip in a short word, two in a longer one. */
    size_t most = strlen(name) <= 4 ? 1 : 2;

    return distance(typed, name) <= most;
}

/* Say what an option that 'cmd' does not have was meant to be. */
static void unknown_option(const cli_cmd *cmd, bool named, const char *word,
                           const char *name)
{
    char said[96], hint[256] = "";
    const cli_cmd *c;
    const cli_opt *o;
    size_t len = 0;

    if (named)
        snprintf(said, sizeof(said), "command '%s' doesn't support option",
                 cmd->name);
    else
        snprintf(said, sizeof(said), "unknown option");
    if (word[1] != '-') {
        /* -v: a short option in the other case, or the one long option
         * with that letter. */
        const char *match = NULL;
        int n = 0;

        for (o = cli_global_opts; o->name; o++)
            if (o->alias_of && strlen(o->name) == 1 &&
                (o->name[0] ^ 0x20) == word[1] && !word[2])
                len += (size_t)snprintf(hint + len, sizeof(hint) - len,
                                        "; did you mean -%s (--%s)?", o->name,
                                        o->alias_of);
        for (o = cmd->opts; o->name && !len; o++)
            if (!o->alias_of && o->name[0] == word[1] && !word[2]) {
                match = o->name;
                n++;
            }
        if (n == 1)
            snprintf(hint, sizeof(hint), "; did you mean --%s?", match);
        cli_error("%s %s%s", said, word, hint);
        return;
    }
    /* An option of another command. */
    for (c = cli_commands; c->name && len < sizeof(hint) / 2; c++)
        for (o = c->opts; o->name; o++)
            if (c != cmd && !c->shell_only && !strcmp(o->name, name)) {
                len += (size_t)snprintf(hint + len, sizeof(hint) - len,
                                        "%s'%s'", len ? " and " :
                                        "; it is an option of ", c->name);
                break;
            }
    if (!len) {
        /* The nearest name among this command's options and the global
         * ones. */
        for (o = cmd->opts; o->name && !len; o++)
            if (cli_near(name, o->name))
                len = (size_t)snprintf(hint, sizeof(hint),
                                       "; did you mean --%s?", o->name);
        for (o = cli_global_opts; o->name && !len; o++)
            if (strlen(o->name) > 1 && cli_near(name, o->name))
                len = (size_t)snprintf(hint, sizeof(hint),
                                       "; did you mean --%s?", o->name);
    }
    cli_error("%s --%s%s", said, name, hint);
}

/*
 * The one parser.  With 'pt' (completion) it never prints and never
 * stops at a mistake: it reads what it can and says in *pt what the next
 * word would be.
 */
static int parse(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                 char *const argv[], cli_args *args, cli_partial *pt)
{
    const char *positional[CLI_MAX_OPTS];
    int npos = 0, i, nslots = 0, fits;
    int slots[CLI_MAX_OPTS];
    bool only_positional = false;

    memset(args, 0, sizeof(*args));
    args->cmd = cmd;
    if (pt) {
        pt->pending = -1;
        pt->pending_global = NULL;
        pt->next_slot = -1;
    }

    for (i = 0; i < argc; i++) {
        const char *w = argv[i], *gvalue;
        char name[64];
        const char *eq, *value = NULL;
        const cli_opt *o, *global;
        int idx, g;

        if (!only_positional && strcmp(w, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (only_positional || w[0] != '-' || w[1] == '\0') {
            if (npos < CLI_MAX_OPTS)
                positional[npos++] = w;
            else if (!pt) {
                cli_error("too many arguments");
                return -1;
            }
            continue;
        }

        global = cli_global_find(w, &gvalue);
        if (pt && global && global->type != CLI_OPT_BOOL && !gvalue &&
            i + 1 == argc) {
            pt->pending_global = global;
            break;
        }
        if ((g = cli_global_option(ctx, argc, argv, i, &global)) < 0)
            return -1;
        if (global && !strcmp(global->name, "help")) {
            args->help = true;
            continue;
        }
        if (global && !strcmp(global->name, "version")) {
            if (pt)
                continue;
            cli_error("--version goes before the command: blockcopy "
                      "--version");
            return -1;
        }
        if (g > 0) {
            i += g - 1;
            continue;
        }
        eq = strchr(w + 2, '=');
        snprintf(name, sizeof(name), "%.*s",
                 (int)(eq ? eq - (w + 2) : (long)strlen(w + 2)), w + 2);
        idx = w[1] == '-' ? opt_index(cmd, name) : -1;
        if (idx < 0) {
            if (pt)
                continue;
            unknown_option(cmd, !ctx->implicit_copy, w,
                           w[1] == '-' ? name : NULL);
            return -1;
        }
        o = &cmd->opts[idx];
        if (args->set[idx] && !pt) {
            cli_error("option --%s was given more than once", o->name);
            return -1;
        }
        if (o->type == CLI_OPT_BOOL ||
            (!eq && (o->flags & CLI_OPT_VALUE_OPTIONAL))) {
            if (eq && !pt) {
                cli_error("option --%s takes no value", o->name);
                return -1;
            }
            value = "";
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else if (pt) {
            pt->pending = idx;
            break;
        } else {
            cli_error("option --%s needs a value (%s)", o->name,
                      o->arg ? o->arg : "VALUE");
            return -1;
        }
        args->set[idx] = true;
        args->value[idx] = value;
    }
    if (pt)
        pt->only_positional = only_positional;

    /* Positional words fill the positional options not given by name, in
     * order.  With -s, or in the shell after 'connect', DOMAIN comes from
     * the context unless there are more words than fit without it (a word
     * being completed counts). */
    for (i = 0; i < CLI_MAX_OPTS && cmd->opts[i].name; i++)
        if ((cmd->opts[i].flags & CLI_OPT_POSITIONAL) && !args->set[i])
            slots[nslots++] = i;
    fits = nslots;
    for (i = 0; i < nslots; i++)
        if (cmd->opts[slots[i]].flags & CLI_OPT_DOMAIN)
            fits--;
    if ((ctx->domain || ctx->socket) && fits < nslots &&
        npos + (pt && pt->next_word) <= fits) {
        for (i = 0; i < nslots; i++)
            if (cmd->opts[slots[i]].flags & CLI_OPT_DOMAIN) {
                args->set[slots[i]] = true;
                args->value[slots[i]] = ctx->socket ? ctx->socket
                                                    : ctx->domain;
                args->domain_from_context = true;
                memmove(&slots[i], &slots[i + 1],
                        (nslots - i - 1) * sizeof(slots[0]));
                nslots--;
                break;
            }
    }
    if (npos > nslots && !pt && !args->help) {
        cli_error("unexpected argument '%s' for command '%s'",
                  positional[nslots], cmd->name);
        return -1;
    }
    for (i = 0; i < npos && i < nslots; i++) {
        args->set[slots[i]] = true;
        args->value[slots[i]] = positional[i];
    }
    if (pt && npos < nslots)
        pt->next_slot = slots[npos];
    /* COMMAND --help needs nothing else. */
    if (args->help || pt)
        return 0;

    /* -s names the VM for every command that takes one. */
    for (i = 0; cmd->opts[i].name; i++) {
        const cli_opt *o = &cmd->opts[i];

        if ((o->flags & CLI_OPT_DOMAIN) && !args->set[i] && ctx->socket) {
            args->set[i] = true;
            args->value[i] = ctx->socket;
        }
        if ((o->flags & CLI_OPT_REQUIRED) && !args->set[i] && !o->alias_of) {
            cli_error("command '%s' requires <%s> option", cmd->name, o->name);
            return -1;
        }
    }
    return 0;
}

int cli_parse_args(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                   char *const argv[], cli_args *args)
{
    return parse(ctx, cmd, argc, argv, args, NULL);
}

void cli_parse_partial(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                       char *const argv[], cli_args *args, cli_partial *pt)
{
    parse(ctx, cmd, argc, argv, args, pt);
}

const char *cli_arg(const cli_args *args, const char *name)
{
    int i = opt_index(args->cmd, name);

    return i >= 0 && args->set[i] ? args->value[i] : NULL;
}

bool cli_exclusive(const cli_args *args, const char *a, const char *b)
{
    if (cli_has(args, a) && cli_has(args, b)) {
        cli_error("Options --%s and --%s are mutually exclusive", a, b);
        return false;
    }
    return true;
}

bool cli_has(const cli_args *args, const char *name)
{
    int i = opt_index(args->cmd, name);

    return i >= 0 && args->set[i];
}

bool cli_flag(const cli_args *args, const char *name)
{
    return cli_has(args, name);
}

int cli_arg_size(const cli_args *args, const char *name,
                 unsigned long long max, unsigned long long *value)
{
    const char *s = cli_arg(args, name);
    bc_error err;

    if (!s)
        return 0;
    bc_error_init(&err);
    if (bc_parse_size(s, 1, max, value, &err) < 0) {
        cli_error("invalid --%s: %s", name, err.message);
        return -1;
    }
    return 1;
}

int cli_arg_bandwidth(const cli_args *args, unsigned long long max,
                      unsigned long long *bw)
{
    const char *s = cli_arg(args, "bandwidth"), *unit;
    int rc = cli_arg_size(args, "bandwidth", max, bw);

    if (rc != 1)
        return rc;
    unit = s + strspn(s, "0123456789");
    /* To whoever sets network limits, "Mb" is megabits; libvirt reads it
     * as megabytes.  Neither guess is safe. */
    if (unit[0] && unit[1] == 'b' && !unit[2]) {
        int n = (int)(unit - s);
        char u = (char)toupper((unsigned char)unit[0]);

        cli_error("--bandwidth %s is ambiguous (bits or bytes?): write "
                  "%.*s%cB (bytes, powers of 1000) or %.*s%c (powers of "
                  "1024)", s, n, s, u, n, s, u);
        return -1;
    }
    /* virsh reads a bare number as MiB/s: a small one is probably that. */
    if (!*unit && *bw > 0 && *bw < 1024 * 1024 && !cli_flag(args, "bytes")) {
        cli_error("--bandwidth %s would be %s B/s; did you mean %sM? "
                  "(--bytes if bytes are meant)", s, s, s);
        return -1;
    }
    return 1;
}

int cli_arg_int(const cli_args *args, const char *name, int *value)
{
    const char *s = cli_arg(args, name);
    char *end;
    long v;

    if (!s)
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v <= 0 || v > INT_MAX) {
        cli_error("invalid --%s '%s': expected a whole number greater than 0",
                  name, s);
        return -1;
    }
    *value = (int)v;
    return 1;
}

int cli_arg_timeout(const cli_args *args, int *seconds)
{
    int rc = cli_arg_int(args, "timeout", seconds);

    /* The wait counts in milliseconds, in an int (virsh's limit too). */
    if (rc == 1 && *seconds > INT_MAX / 1000) {
        cli_error("--timeout %d is too large: at most %d seconds", *seconds,
                  INT_MAX / 1000);
        return -1;
    }
    return rc;
}
