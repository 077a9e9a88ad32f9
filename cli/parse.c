/*
 * One parser for both the command line and shell lines: words are matched
 * against the command's option table, as virsh does.
 */
#include <errno.h>
#include <limits.h>
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

/* Global options are accepted after the command too. */
static int global_option(cli_ctx *ctx, const char *word, const char *next,
                         bool *used_next)
{
    *used_next = false;
    if (strcmp(word, "--json") == 0) {
        ctx->json = true;
        return 1;
    }
    if (strcmp(word, "-q") == 0 || strcmp(word, "--quiet") == 0) {
        ctx->quiet = true;
        return 1;
    }
    if (strcmp(word, "--any-owner") == 0) {
        ctx->conn_opts.flags |= BC_DOMAIN_ANY_OWNER;
        return 1;
    }
    if (strcmp(word, "-s") == 0 || strcmp(word, "--socket") == 0) {
        if (!next) {
            cli_error("option %s needs a value", word);
            return -1;
        }
        ctx->socket = next;
        *used_next = true;
        return 1;
    }
    if (strncmp(word, "--socket=", 9) == 0) {
        ctx->socket = word + strlen("--socket=");
        return 1;
    }
    return 0;
}

int cli_parse_args(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                   char *const argv[], cli_args *args)
{
    const char *positional[CLI_MAX_OPTS];
    int npos = 0, i, slot, nslots = 0, fits;
    int slots[CLI_MAX_OPTS];
    bool only_positional = false;

    memset(args, 0, sizeof(*args));
    args->cmd = cmd;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];
        char name[64];
        const char *eq, *value = NULL;
        const cli_opt *o;
        bool used_next;
        int idx, g;

        if (!only_positional && strcmp(w, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (only_positional || w[0] != '-' || w[1] == '\0') {
            if (npos == CLI_MAX_OPTS) {
                cli_error("too many arguments");
                return -1;
            }
            positional[npos++] = w;
            continue;
        }

        g = global_option(ctx, w, i + 1 < argc ? argv[i + 1] : NULL,
                          &used_next);
        if (g < 0)
            return -1;
        if (g > 0) {
            i += used_next;
            continue;
        }
        if (w[1] != '-') {
            cli_error("command '%s' doesn't support option %s", cmd->name, w);
            return -1;
        }

        eq = strchr(w + 2, '=');
        snprintf(name, sizeof(name), "%.*s",
                 (int)(eq ? eq - (w + 2) : (long)strlen(w + 2)), w + 2);
        idx = opt_index(cmd, name);
        if (idx < 0) {
            cli_error("command '%s' doesn't support option --%s", cmd->name,
                      name);
            return -1;
        }
        o = &cmd->opts[idx];
        if (args->set[idx]) {
            cli_error("option --%s was given more than once", o->name);
            return -1;
        }
        if (o->type == CLI_OPT_BOOL ||
            (!eq && (o->flags & CLI_OPT_VALUE_OPTIONAL))) {
            if (eq) {
                cli_error("option --%s takes no value", o->name);
                return -1;
            }
            value = "";
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            cli_error("option --%s needs a value (%s)", o->name,
                      o->arg ? o->arg : "VALUE");
            return -1;
        }
        args->set[idx] = true;
        args->value[idx] = value;
    }

    /* Positional words fill the positional options not given by name, in
     * order.  With -s, or in the shell after 'connect', DOMAIN comes from
     * the context unless there are more words than fit without it. */
    for (i = 0; i < CLI_MAX_OPTS && cmd->opts[i].name; i++)
        if ((cmd->opts[i].flags & CLI_OPT_POSITIONAL) && !args->set[i])
            slots[nslots++] = i;
    fits = nslots;
    for (i = 0; i < nslots; i++)
        if (cmd->opts[slots[i]].flags & CLI_OPT_DOMAIN)
            fits--;
    if ((ctx->domain || ctx->socket) && fits < nslots && npos <= fits) {
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
    if (npos > nslots) {
        cli_error("unexpected argument '%s' for command '%s'",
                  positional[nslots], cmd->name);
        return -1;
    }
    for (i = 0; i < npos; i++) {
        slot = slots[i];
        args->set[slot] = true;
        args->value[slot] = positional[i];
    }

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

/* ---- shell words --------------------------------------------------- */

void cli_free_words(char **argv)
{
    char **p;

    if (!argv)
        return;
    for (p = argv; *p; p++)
        free(*p);
    free(argv);
}

int cli_split_words(const char *line, char ***argvp, const char **errmsg)
{
    size_t len = strlen(line), n = 0, cap = 8;
    char **argv = calloc(cap + 1, sizeof(*argv));
    char *word = malloc(len + 1);
    const char *p = line;

    *argvp = NULL;
    *errmsg = NULL;
    if (!argv || !word)
        goto oom;

    for (;;) {
        size_t w = 0;
        bool have = false;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p || *p == '#')
            break;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            have = true;
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    word[w++] = *p;
                if (!*p) {
                    *errmsg = "unterminated single quote";
                    goto error;
                }
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    /* Inside double quotes a backslash escapes only these. */
                    if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                        p++;
                    word[w++] = *p;
                }
                if (!*p) {
                    *errmsg = "unterminated double quote";
                    goto error;
                }
                p++;
            } else if (*p == '\\') {
                if (!p[1]) {
                    *errmsg = "backslash at the end of the line";
                    goto error;
                }
                word[w++] = p[1];
                p += 2;
            } else {
                word[w++] = *p++;
            }
        }
        if (!have)
            break;
        if (n == cap) {
            char **grown = realloc(argv, (cap * 2 + 1) * sizeof(*argv));

            if (!grown)
                goto oom;
            argv = grown;
            cap *= 2;
        }
        if (!(argv[n] = strndup(word, w)))
            goto oom;
        argv[++n] = NULL;
    }
    free(word);
    argv[n] = NULL;
    *argvp = argv;
    return (int)n;

 oom:
    *errmsg = "out of memory";
 error:
    if (argv)
        argv[n] = NULL;
    cli_free_words(argv);
    free(word);
    return -1;
}

char *cli_quote_word(const char *word, char quote)
{
    char *out = malloc(strlen(word) * 4 + 1), *o = out;
    const char *p;

    if (!out)
        return NULL;
    for (p = word; *p; p++) {
        if (quote == '\'') {
            /* A single quote cannot be escaped inside single quotes: close,
             * escape it, reopen. */
            if (*p == '\'') {
                memcpy(o, "'\\''", 4);
                o += 4;
                continue;
            }
        } else if (quote == '"') {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
        } else if (strchr(" \t\r\n\\'\"#", *p)) {
            *o++ = '\\';
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}
