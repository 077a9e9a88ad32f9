/*
 * The shell-line splitter and the option parser with the real command
 * table, as one line typed in the shell or one command line: every word
 * must survive cli_quote_word() and splitting again, and whatever parses
 * must give every option a value its accessors can read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

/* Each word, quoted by cli_quote_word() (as completion does) outside
 * quotes and after an open ' or ", splits back to itself. */
static void check_quoting(char **argv)
{
    static const char quotes[] = { 0, '\'', '"' };
    const char *errmsg;
    char *quoted, *line, **again;
    size_t i, q;
    int n;

    for (i = 0; argv[i]; i++) {
        for (q = 0; q < sizeof(quotes); q++) {
            quoted = cli_quote_word(argv[i], quotes[q]);
            FUZZ_ASSERT(quoted);
            if (quotes[q])
                FUZZ_ASSERT(asprintf(&line, "%c%s%c", quotes[q], quoted,
                                     quotes[q]) > 0);
            else
                line = strdup(quoted);
            FUZZ_ASSERT(line);
            n = cli_split_words(line, &again, &errmsg);
            /* Outside quotes an empty word is no word at all. */
            if (!quotes[q] && !argv[i][0]) {
                FUZZ_ASSERT(n == 0);
            } else {
                FUZZ_ASSERT(n == 1);
                FUZZ_ASSERT(strcmp(again[0], argv[i]) == 0);
            }
            cli_free_words(again);
            free(line);
            free(quoted);
        }
    }
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
        /* COMMAND --help needs nothing else. */
        FUZZ_ASSERT(args->help || !(o->flags & CLI_OPT_REQUIRED) ||
                    args->set[i]);
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
    cli_partial pt = { 0 };
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
    /* Completion reads any line, and points only at real options. */
    for (pt.next_word = false; ; pt.next_word = true) {
        int n;

        for (n = 0; cmd->opts[n].name; n++)
            ;
        cli_parse_partial(&ctx, cmd, argc, argv, &args, &pt);
        FUZZ_ASSERT(pt.pending >= -1 && pt.pending < n);
        FUZZ_ASSERT(pt.next_slot >= -1 && pt.next_slot < n);
        FUZZ_ASSERT(pt.next_slot < 0 ||
                    (cmd->opts[pt.next_slot].flags & CLI_OPT_POSITIONAL));
        if (pt.next_word)
            break;
    }
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
    check_quoting(argv);

    stderr = quiet;
    parse(argv, argc, false);
    parse(argv, argc, true);
    stderr = saved;

    cli_free_words(argv);
    free(line);
    return 0;
}
