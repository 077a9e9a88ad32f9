/*
 * The shell-line splitter and the option parser with the real command
 * table, as one line typed in the shell or one command line: the words
 * must survive quoting and splitting again, and whatever parses must give
 * every option a value its accessors can read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

/* The words quoted for the shell: 'a'\''b' for a'b. */
static char *quote_words(char **argv)
{
    size_t len = 1, i;
    char *s, *p;
    const char *c;

    for (i = 0; argv[i]; i++)
        len += 4 * strlen(argv[i]) + 3;
    if (!(p = s = malloc(len)))
        return NULL;
    for (i = 0; argv[i]; i++) {
        *p++ = '\'';
        for (c = argv[i]; *c; c++) {
            if (*c == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *c;
            }
        }
        *p++ = '\'';
        *p++ = ' ';
    }
    *p = '\0';
    return s;
}

static void check_split_again(char **argv, int argc)
{
    char *line = quote_words(argv), **again = NULL;
    const char *errmsg;
    int i;

    FUZZ_ASSERT(line);
    FUZZ_ASSERT(cli_split_words(line, &again, &errmsg) == argc);
    for (i = 0; i < argc; i++)
        FUZZ_ASSERT(strcmp(argv[i], again[i]) == 0);
    FUZZ_ASSERT(again[argc] == NULL);
    cli_free_words(again);
    free(line);
}

static void check_args(const cli_args *args)
{
    const cli_opt *o;
    unsigned long long size;
    int i, n;

    for (i = 0; args->cmd->opts[i].name; i++) {
        o = &args->cmd->opts[i];
        /* An alias sets the option it stands for. */
        FUZZ_ASSERT(!o->alias_of || !args->set[i]);
        if (o->alias_of)
            continue;
        FUZZ_ASSERT(!(o->flags & CLI_OPT_REQUIRED) || args->set[i]);
        FUZZ_ASSERT(cli_has(args, o->name) == args->set[i]);
        FUZZ_ASSERT(!args->set[i] || cli_arg(args, o->name));
        if (o->type == CLI_OPT_SIZE)
            (void)cli_arg_size(args, o->name, ~0ULL, &size);
        else if (o->type == CLI_OPT_INT)
            (void)cli_arg_int(args, o->name, &n);
    }
}

static void parse(char **argv, int argc, bool shell)
{
    const cli_cmd *cmd = argc ? cli_find_command(argv[0]) : NULL;
    cli_ctx ctx;
    cli_args args;

    memset(&ctx, 0, sizeof(ctx));
    ctx.progname = "blockcopy";
    ctx.shell = shell;
    ctx.domain = shell ? (char *)"vm1" : NULL;
    /* As cli_run_words(): a command, or the words of the default one. */
    if (cmd && (!cmd->shell_only || shell)) {
        argv++;
        argc--;
    } else {
        cmd = cli_find_command("copy");
    }
    FUZZ_ASSERT(cmd);
    if (cli_parse_args(&ctx, cmd, argc, argv, &args) == 0)
        check_args(&args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *quiet;
    char *line, **argv = NULL;
    const char *errmsg = NULL;
    FILE *saved = stderr;
    int argc;

    /* Usage errors are the point here, not output: cli_error() writes to
     * stdio's stderr, the sanitizers still write to descriptor 2. */
    if (!quiet && !(quiet = fopen("/dev/null", "w")))
        return 0;
    if (!(line = fuzz_string(data, size)))
        return 0;
    argc = cli_split_words(line, &argv, &errmsg);
    if (argc < 0) {
        FUZZ_ASSERT(errmsg && !argv);
        free(line);
        return 0;
    }
    FUZZ_ASSERT(argv && !argv[argc]);
    check_split_again(argv, argc);

    stderr = quiet;
    parse(argv, argc, false);
    parse(argv, argc, true);
    stderr = saved;

    cli_free_words(argv);
    free(line);
    return 0;
}
