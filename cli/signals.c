/*
 * Signals become bytes on ctx->sigpipe, so that a wait can poll() for a
 * signal and the monitor at once and clean up before it exits.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int signal_fd = -1;

static void on_signal(int sig)
{
    unsigned char c = (unsigned char)sig;
    int saved = errno;

    if (signal_fd >= 0 && write(signal_fd, &c, 1) < 0) {
        /* The pipe is full: a signal is pending already. */
    }
    errno = saved;
}

void cli_signals_catch(cli_ctx *ctx)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signal_fd = ctx->sigpipe[1];
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void cli_signals_default(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

int cli_signals_take(cli_ctx *ctx)
{
    unsigned char c;
    int sig = 0;

    while (read(ctx->sigpipe[0], &c, 1) == 1)
        sig = c;
    return sig;
}
