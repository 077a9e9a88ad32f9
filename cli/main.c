/*
 * blockcopy: copy the disk of a running QEMU VM, the way virsh blockcopy
 * does, without libvirt.
 *
 * Only main() and what nothing else calls live here: the fuzz target of
 * the parser links every other object of cli/ with a main() of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int main(int argc, char **argv)
{
    cli_ctx ctx;
    const char *env;
    int i, used = 0, status;

    memset(&ctx, 0, sizeof(ctx));
    ctx.progname = "blockcopy";
    /* A closed stdout must not kill the tool in the middle of a copy: it
     * goes on to the end and reports through its exit status. */
    signal(SIGPIPE, SIG_IGN);
    if ((env = getenv("BLOCKCOPY_GREETING_TIMEOUT_MS")) && atoi(env) > 0)
        ctx.conn_opts.greeting_ms = atoi(env);
    if ((env = getenv("BLOCKCOPY_COMMAND_TIMEOUT_MS")) && atoi(env) > 0)
        ctx.conn_opts.command_ms = atoi(env);
    if (pipe2(ctx.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        cli_error("cannot create a pipe: %s", strerror(errno));
        return CLI_FAILED;
    }

    for (i = 1; i < argc; i += used) {
        const cli_opt *o;

        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if ((used = cli_global_option(&ctx, argc, argv, i, &o)) < 0)
            return CLI_USAGE;
        if (!used)
            break;      /* the command, or the default command's options */
        if (!strcmp(o->name, "help")) {
            cli_args none = { .cmd = cli_find_command("help") };

            return cli_cmd_help(&ctx, &none);
        }
        if (!strcmp(o->name, "version"))
            return cli_cmd_version(&ctx, NULL);
    }

    if (i == argc) {
        /* No command: the shell, interactive on a terminal, else a script
         * on standard input. */
        cli_args none = { .cmd = cli_find_command("shell") };

        status = cli_cmd_shell(&ctx, &none);
    } else {
        status = cli_run_words(&ctx, argc - i, argv + i);
    }
    if (fflush(stdout) != 0 && status == CLI_OK)
        status = CLI_FAILED;
    cli_safe_release();
    return status;
}
