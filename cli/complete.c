/*
 * Completion from the command table and the live VM.  The shell's Tab key
 * and the hidden '__complete' command (for completion scripts and tests)
 * both ask cli_complete(), so what Tab offers can be tested without a
 * terminal.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shell.h"

/* What blockdev-create makes; --format takes QEMU's driver names. */
static const char *const formats[] = {
    "qcow2", "qed", "raw", "vdi", "vhdx", "vmdk", "vpc", NULL
};

static const char *const global_opts[] = {
    "--any-owner", "--help", "--json", "--quiet", "--socket", "--version",
    NULL
};

/* Completing the disk of a VM that is not connected must not hang the
 * prompt for long when its monitor is busy. */
#define COMPLETE_GREETING_MS 1000
#define COMPLETE_COMMAND_MS 5000

void cli_completion_release(cli_completion *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        free(c->items[i]);
    free(c->items);
    free(c->partial);
    memset(c, 0, sizeof(*c));
}

/* Offer prefix+word if it continues the partial word. */
static int add(cli_completion *c, const char *prefix, const char *word)
{
    size_t plen = strlen(prefix), wlen = strlen(word);
    char *s;

    if (!(s = malloc(plen + wlen + 1)))
        return -1;
    memcpy(s, prefix, plen);
    memcpy(s + plen, word, wlen + 1);
    if (strncmp(s, c->partial, strlen(c->partial)) != 0) {
        free(s);
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **grown = realloc(c->items, cap * sizeof(*grown));

        if (!grown) {
            free(s);
            return -1;
        }
        c->items = grown;
        c->cap = cap;
    }
    c->items[c->n++] = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(cli_completion *c)
{
    size_t i, j = 0;

    if (c->n == 0)
        return;
    qsort(c->items, c->n, sizeof(*c->items), cmp_str);
    for (i = 1; i < c->n; i++) {
        if (strcmp(c->items[i], c->items[j]) == 0)
            free(c->items[i]);
        else
            c->items[++j] = c->items[i];
    }
    c->n = j + 1;
}

/* Is the character at line[i] escaped by an odd run of backslashes? */
static bool escaped(const char *line, size_t i)
{
    size_t n = 0;

    while (i > 0 && line[i - 1] == '\\') {
        n++;
        i--;
    }
    return n % 2 == 1;
}

/*
 * Split the line as the shell will once it is complete.  While it is
 * being typed it may end inside quotes or after a backslash: close what
 * is open and remember the quote, so that what Tab inserts is quoted the
 * same way.
 */
static int split_typed(const char *line, char ***words, char *quote,
                       bool *new_word)
{
    static const char *const closers[] = { "", "'", "\"", "\\\"" };
    size_t len = strlen(line), i;
    const char *err;
    char *buf;
    int n = -1;

    *words = NULL;
    *quote = 0;
    *new_word = false;
    if (!(buf = malloc(len + 3)))
        return -1;
    for (i = 0; i < sizeof(closers) / sizeof(closers[0]) && n < 0; i++) {
        snprintf(buf, len + 3, "%s%s", line, closers[i]);
        n = cli_split_words(buf, words, &err);
        if (n >= 0 && i > 0)
            *quote = closers[i][strlen(closers[i]) - 1];
    }
    if (n < 0 && len > 0 && line[len - 1] == '\\') {
        /* "copy my\" on the way to "copy my\ disk": complete "my". */
        snprintf(buf, len + 3, "%.*s", (int)(len - 1), line);
        n = cli_split_words(buf, words, &err);
    }
    free(buf);
    if (n >= 0 && !*quote)
        *new_word = len == 0 || ((line[len - 1] == ' ' ||
                                  line[len - 1] == '\t') &&
                                 !escaped(line, len - 1));
    return n;
}

static bool hidden(const cli_cmd *cmd)
{
    return cmd->name[0] == '_';
}

static int add_commands(cli_ctx *ctx, cli_completion *c)
{
    const cli_cmd *cmd;

    for (cmd = cli_commands; cmd->name; cmd++) {
        if (hidden(cmd) || (cmd->shell_only && !ctx->shell) ||
            (ctx->shell && strcmp(cmd->name, "shell") == 0))
            continue;
        if (add(c, "", cmd->name) < 0)
            return -1;
    }
    return 0;
}

/* The names that lead to a VM: not those 'list' marks (other users',
 * without --any-owner, and those that cannot be driven). */
static int add_domains(cli_ctx *ctx, cli_completion *c)
{
    bc_domain_info *doms = NULL;
    size_t n = 0, i;
    bc_error err;
    char buf[300];
    int rc = 0;

    bc_error_init(&err);
    if (bc_domains_list(&doms, &n, &err) < 0)
        return 0;
    for (i = 0; i < n && rc == 0; i++)
        if (doms[i].name && doms[i].name[0] &&
            !cli_domain_note(ctx, &doms[i], buf, sizeof(buf)))
            rc = add(c, "", doms[i].name);
    bc_domains_free(doms, n);
    return rc;
}

/* Every name the disks of 'domain' answer to: target, device id, drive
 * id and node name, from the live VM. */
static int add_disks(cli_ctx *ctx, cli_completion *c, const char *domain)
{
    bc_conn_opts opts = ctx->conn_opts;
    bc_disk_info *disks = NULL;
    bc_conn *conn = NULL;
    size_t n = 0, i;
    bc_error err;
    int rc = 0;

    if (!domain)
        return 0;
    bc_error_init(&err);
    if (ctx->conn && ctx->domain && strcmp(domain, ctx->domain) == 0) {
        conn = ctx->conn;
    } else {
        if (!opts.greeting_ms || opts.greeting_ms > COMPLETE_GREETING_MS)
            opts.greeting_ms = COMPLETE_GREETING_MS;
        opts.command_ms = COMPLETE_COMMAND_MS;
        if (!(conn = bc_conn_open_opts(domain, &opts, &err)))
            return 0;
    }
    if (bc_disks_list(conn, &disks, &n, &err) == 0) {
        for (i = 0; i < n && rc == 0; i++) {
            const char *names[] = { disks[i].target, disks[i].device,
                                    disks[i].drive, disks[i].node };
            size_t k;

            /* QEMU names the nodes of -drive disks "#blockNNN" and
             * devices without an id by their QOM path: no one types
             * those. */
            for (k = 0; k < 4 && rc == 0; k++)
                if (names[k] && names[k][0] && names[k][0] != '#' &&
                    names[k][0] != '/')
                    rc = add(c, "", names[k]);
        }
        bc_disks_free(disks, n);
    }
    if (conn != ctx->conn)
        bc_conn_free(conn);
    return rc;
}

/* File names that continue the partial word after 'prefix' ("--xml="). */
static int add_paths(cli_completion *c, const char *prefix)
{
    const char *word = c->partial + strlen(prefix);
    const char *slash = strrchr(word, '/'), *base;
    size_t dirlen = slash ? (size_t)(slash - word) + 1 : 0, blen;
    char *dir, *lead = NULL, *path = NULL;
    struct dirent *de;
    DIR *d;
    int rc = 0;

    c->paths = true;
    c->show_from = strlen(prefix) + dirlen;
    base = word + dirlen;
    blen = strlen(base);
    if (!(dir = dirlen ? strndup(word, dirlen) : strdup(".")) ||
        asprintf(&lead, "%s%s", prefix, dirlen ? dir : "") < 0) {
        lead = NULL;
        rc = -1;
        goto out;
    }
    if (!(d = opendir(dir)))
        goto out;
    while (rc == 0 && (de = readdir(d))) {
        bool is_dir = de->d_type == DT_DIR;
        char *name = NULL;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            (de->d_name[0] == '.' && base[0] != '.') ||
            strncmp(de->d_name, base, blen) != 0)
            continue;
        if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
            struct stat st;

            free(path);
            if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                path = NULL;
                rc = -1;
                break;
            }
            is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (asprintf(&name, "%s%s", de->d_name, is_dir ? "/" : "") < 0) {
            rc = -1;
            break;
        }
        rc = add(c, lead, name);
        free(name);
    }
    closedir(d);

 out:
    free(path);
    free(lead);
    free(dir);
    return rc;
}

/* Values of option 'o' after 'prefix' ("--format=" or ""). */
static int add_values(cli_ctx *ctx, cli_completion *c, const cli_opt *o,
                      const char *prefix, const char *domain)
{
    size_t i;

    c->show_from = strlen(prefix);
    switch (o->complete) {
    case CLI_COMPLETE_COMMAND:
        return add_commands(ctx, c);
    case CLI_COMPLETE_DOMAIN:
        return add_domains(ctx, c);
    case CLI_COMPLETE_DISK:
        return add_disks(ctx, c, domain);
    case CLI_COMPLETE_FILE:
        return add_paths(c, prefix);
    case CLI_COMPLETE_FORMAT:
        for (i = 0; formats[i]; i++)
            if (add(c, prefix, formats[i]) < 0)
                return -1;
        return 0;
    case CLI_COMPLETE_NONE:
        break;
    }
    return 0;
}

/* The command's options not given yet, and, on the command line, the
 * global ones, which may follow the command too. */
static int add_options(cli_ctx *ctx, cli_completion *c, const cli_cmd *cmd,
                       const bool *set)
{
    int i;

    for (i = 0; cmd->opts[i].name; i++)
        if (!set[i] && !cmd->opts[i].alias_of &&
            add(c, "--", cmd->opts[i].name) < 0)
            return -1;
    for (i = 0; global_opts[i] && !ctx->shell; i++)
        if (strcmp(global_opts[i], "--help") &&
            strcmp(global_opts[i], "--version") &&
            add(c, "", global_opts[i]) < 0)
            return -1;
    return 0;
}

static int opt_index(const cli_cmd *cmd, const char *name, size_t len)
{
    int i;

    for (i = 0; cmd->opts[i].name; i++)
        if (strlen(cmd->opts[i].name) == len &&
            strncmp(cmd->opts[i].name, name, len) == 0) {
            if (cmd->opts[i].alias_of)
                return opt_index(cmd, cmd->opts[i].alias_of,
                                 strlen(cmd->opts[i].alias_of));
            return i;
        }
    return -1;
}

/* 1: a flag, 2: takes the next word, 3: --socket=PATH, 4: --any-owner,
 * 0: not global. */
static int global_opt(const char *w)
{
    if (!strcmp(w, "--json") || !strcmp(w, "-q") || !strcmp(w, "--quiet"))
        return 1;
    if (!strcmp(w, "--any-owner"))
        return 4;
    if (!strcmp(w, "-s") || !strcmp(w, "--socket"))
        return 2;
    if (!strncmp(w, "--socket=", 9))
        return 3;
    return 0;
}

/* The words before the partial one are w[0..nw). */
static int complete_words(cli_ctx *ctx, char **w, int nw, cli_completion *c)
{
    const char *value[CLI_MAX_OPTS] = { NULL };
    const char *positional[CLI_MAX_OPTS];
    bool set[CLI_MAX_OPTS] = { false };
    const char *socket = ctx->socket, *domain = NULL;
    const char *partial = c->partial;
    int order[CLI_MAX_OPTS], nslots = 0, npos = 0, domain_slot = -1;
    int i = 0, k, g;
    int pending = -1;           /* the option the next word is for; -2: -s */
    bool only_pos = false;
    const cli_cmd *cmd;

    /* Global options before the command. */
    for (; i < nw; i++) {
        if (!(g = global_opt(w[i])))
            break;
        if (g == 2 && i + 1 < nw)
            socket = w[++i];
        else if (g == 2)
            pending = -2;
        else if (g == 3)
            socket = w[i] + 9;
        else if (g == 4)
            ctx->conn_opts.flags |= BC_DOMAIN_ANY_OWNER;
    }
    if (i == nw) {
        if (pending == -2)
            return add_paths(c, "");
        if (partial[0] == '-') {
            const cli_cmd *copy = cli_find_command("copy");

            for (k = 0; global_opts[k]; k++)
                if (add(c, "", global_opts[k]) < 0)
                    return -1;
            /* The default command's options may come first. */
            return ctx->shell ? 0 : add_options(ctx, c, copy, set);
        }
        if (add_commands(ctx, c) < 0)
            return -1;
        /* "blockcopy vm1 vda ..." is a copy: on the command line, VM
         * names come first too, or with -s the disks of its VM. */
        if (ctx->shell)
            return 0;
        return socket ? add_disks(ctx, c, socket) : add_domains(ctx, c);
    }

    cmd = cli_find_command(w[i]);
    if (cmd && (!cmd->shell_only || ctx->shell))
        i++;
    else
        cmd = cli_find_command("copy");

    for (; i < nw; i++) {
        const char *a = w[i], *eq;
        int idx;

        if (pending != -1) {
            if (pending == -2)
                socket = a;
            else
                value[pending] = a;
            pending = -1;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (npos < CLI_MAX_OPTS)
                positional[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if ((g = global_opt(a))) {
            if (g == 2)
                pending = -2;
            else if (g == 3)
                socket = a + 9;
            else if (g == 4)
                ctx->conn_opts.flags |= BC_DOMAIN_ANY_OWNER;
            continue;
        }
        if (a[1] != '-')
            continue;
        eq = strchr(a + 2, '=');
        idx = opt_index(cmd, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        if (idx < 0)
            continue;
        set[idx] = true;
        if (eq)
            value[idx] = eq + 1;
        else if (cmd->opts[idx].type != CLI_OPT_BOOL &&
                 !(cmd->opts[idx].flags & CLI_OPT_VALUE_OPTIONAL))
            pending = idx;
    }

    /* Positional words fill the positional options not given by name, as
     * cli_parse_args() does: with -s, or after 'connect', DOMAIN comes
     * from there unless the words are more than fit without it.  A partial word
     * counts as one unless it may become an option. */
    for (k = 0; k < CLI_MAX_OPTS && cmd->opts[k].name; k++)
        if ((cmd->opts[k].flags & CLI_OPT_POSITIONAL) && !set[k]) {
            if (cmd->opts[k].flags & CLI_OPT_DOMAIN)
                domain_slot = nslots;
            order[nslots++] = k;
        }
    k = npos + (partial[0] && partial[0] != '-');
    if ((ctx->domain || socket) && domain_slot >= 0 && k <= nslots - 1) {
        memmove(&order[domain_slot], &order[domain_slot + 1],
                sizeof(order[0]) * (size_t)(nslots - domain_slot - 1));
        nslots--;
    }
    for (k = 0; k < npos && k < nslots; k++) {
        value[order[k]] = positional[k];
        set[order[k]] = true;
    }

    for (k = 0; cmd->opts[k].name; k++)
        if ((cmd->opts[k].flags & CLI_OPT_DOMAIN) && value[k])
            domain = value[k];
    if (!domain)
        domain = socket ? socket : ctx->domain;

    if (pending == -2)
        return add_paths(c, "");
    if (pending >= 0)
        return add_values(ctx, c, &cmd->opts[pending], "", domain);
    if (!only_pos && partial[0] == '-') {
        const char *eq = strchr(partial, '=');
        char *prefix;
        int idx, rc;

        if (partial[1] != '-' || !eq)
            return add_options(ctx, c, cmd, set);
        idx = opt_index(cmd, partial + 2, (size_t)(eq - partial - 2));
        if (idx < 0 || cmd->opts[idx].type == CLI_OPT_BOOL)
            return 0;
        if (!(prefix = strndup(partial, (size_t)(eq - partial) + 1)))
            return -1;
        rc = add_values(ctx, c, &cmd->opts[idx], prefix, domain);
        free(prefix);
        return rc;
    }
    if (npos < nslots)
        return add_values(ctx, c, &cmd->opts[order[npos]], "", domain);
    /* Every positional is there: what is left are options. */
    return partial[0] ? 0 : add_options(ctx, c, cmd, set);
}

int cli_complete(cli_ctx *ctx, const char *line, cli_completion *c)
{
    unsigned int flags = ctx->conn_opts.flags;
    char **words = NULL;
    bool new_word;
    char quote;
    int n, rc = 0;

    memset(c, 0, sizeof(*c));
    n = split_typed(line, &words, &quote, &new_word);
    if (n < 0 || (n == 0 && !new_word)) {
        /* Nothing to complete (a comment, or no memory). */
        cli_free_words(words);
        c->partial = strdup("");
        return c->partial ? 0 : -1;
    }
    c->quote = quote;
    if (!(c->partial = strdup(new_word ? "" : words[n - 1]))) {
        cli_free_words(words);
        return -1;
    }
    /* A global option on the line (--any-owner) counts for this line
     * only, as when it runs. */
    rc = complete_words(ctx, words, new_word ? n : n - 1, c);
    ctx->conn_opts.flags = flags;
    cli_free_words(words);
    sort_unique(c);
    return rc;
}

int cli_cmd_complete(cli_ctx *ctx, const cli_args *args)
{
    const char *line = cli_arg(args, "line");
    bool null = cli_flag(args, "null");
    cli_completion c;
    size_t i;

    if (cli_complete(ctx, line ? line : "", &c) < 0) {
        cli_completion_release(&c);
        cli_error("out of memory");
        return CLI_FAILED;
    }
    /* A completion script gets the words as they are, to quote them
     * itself (a name may hold anything but NUL); people get them
     * escaped, one a line. */
    if (null)
        printf("%s%c", c.paths ? "files" : "words", '\0');
    for (i = 0; i < c.n; i++) {
        if (null)
            printf("%s%c", c.items[i], '\0');
        else
            printf("%s\n", cli_safe(c.items[i]));
    }
    cli_completion_release(&c);
    return CLI_OK;
}
