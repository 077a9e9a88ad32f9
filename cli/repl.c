/*
 * The shell: blockcopy commands one after another.  On a terminal it
 * edits lines with libedit, completes with Tab, keeps a history, and
 * shows the connected VM's events while it waits for input; from a file
 * or a pipe it runs a script.  Both run every line through the same
 * parser and command table as the command line.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include <json-c/json.h>

#include "shell.h"

typedef struct repl {
    cli_ctx *ctx;
    EditLine *el;
    cli_history hist;
    char prompt[512];           /* the prompt on the screen */
    bool interrupted;           /* Ctrl-C ended the line: drop it */
    bool leave;                 /* SIGTERM or SIGHUP at the prompt */
    char *released;             /* the monitor let go to another client */
} repl;

/* How often an idle shell looks whether its monitor is wanted. */
#define SHARE_CHECK_MS 1000

/* Signal handlers can only raise flags; get_char() looks at them. */
static volatile sig_atomic_t resized, continued;

static void on_winch(int sig)
{
    resized = 1;
}

static void on_cont(int sig)
{
    continued = 1;
}

/* ---- commands of the shell ------------------------------------------ */

void cli_shell_disconnect(cli_ctx *ctx)
{
    bc_conn_free(ctx->conn);
    ctx->conn = NULL;
    free(ctx->domain);
    ctx->domain = NULL;
}

int cli_cmd_connect(cli_ctx *ctx, const cli_args *args)
{
    const char *domain = cli_arg(args, "domain");
    bc_conn *conn;
    bc_error err;
    char *name;

    bc_error_init(&err);
    /* Connecting again to the same VM: its monitor is ours to give up
     * first (QEMU serves one client per monitor). */
    if (ctx->domain && !strcmp(ctx->domain, domain)) {
        bc_conn_free(ctx->conn);
        ctx->conn = NULL;
    }
    if (!(conn = bc_conn_open_opts(domain, &ctx->conn_opts, &err)))
        return cli_report(ctx, NULL, &err);
    if (!(name = strdup(domain))) {
        bc_conn_free(conn);
        cli_error("out of memory");
        return CLI_FAILED;
    }
    bc_conn_set_warning_cb(conn, cli_warning_cb, ctx);
    /* Connecting again replaces the connection, also to the same VM: a
     * way back after QEMU was restarted. */
    cli_shell_disconnect(ctx);
    ctx->conn = conn;
    ctx->domain = name;
    cli_print_result(ctx, "domain", name, "connected", NULL, CLI_OK);
    return CLI_OK;
}

int cli_cmd_disconnect(cli_ctx *ctx, const cli_args *args)
{
    if (!ctx->domain) {
        cli_error("not connected to a VM");
        return CLI_USAGE;
    }
    cli_shell_disconnect(ctx);
    cli_print_result(ctx, "domain", NULL, "disconnected", NULL, CLI_OK);
    return CLI_OK;
}

int cli_cmd_quit(cli_ctx *ctx, const cli_args *args)
{
    ctx->quit = true;
    return CLI_OK;
}

/* Run one line.  Global options may open it ("--json jobs"); like those
 * after the command, they apply to this line only. */
static int run_line(cli_ctx *ctx, const char *line)
{
    bool json = ctx->json, quiet = ctx->quiet;
    unsigned int flags = ctx->conn_opts.flags;
    const char *socket = ctx->socket, *err;
    char **argv = NULL;
    const cli_opt *o = NULL;
    int argc, i, used = 0, status;

    if ((argc = cli_split_words(line, &argv, &err)) < 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    /* --help and --version are the commands of those names. */
    for (i = 0; i < argc; i += used)
        if ((used = cli_global_option(ctx, argc, argv, i, &o)) <= 0 ||
            !strcmp(o->name, "help") || !strcmp(o->name, "version"))
            break;
    if (used < 0) {
        status = CLI_USAGE;
    } else if (used > 0) {
        cli_args none = { .cmd = cli_find_command(o->name) };

        status = none.cmd->run(ctx, &none);
    } else {
        status = cli_run_words(ctx, argc - i, argv + i);
    }
    fflush(stdout);
    fflush(stderr);
    ctx->json = json;
    ctx->quiet = quiet;
    ctx->conn_opts.flags = flags;
    ctx->socket = socket;
    cli_free_words(argv);
    return status;
}

/* ---- a script on standard input -------------------------------------- */

static int run_script(cli_ctx *ctx, bool stop_on_error)
{
    char *line = NULL, *ignored;
    unsigned long lineno = 0;
    size_t cap = 0;
    ssize_t len;
    int status = CLI_OK, rc;

    while (!ctx->quit && (len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        ctx->last_signal = 0;
        cli_set_script_line(++lineno);
        rc = run_line(ctx, line);
        cli_set_script_line(0);
        /* Nobody watches a script's events: keep none queued. */
        cli_shell_events(ctx, false, &ignored);
        /* A signal that aborted a copy stops the script as well. */
        if (ctx->last_signal) {
            if (status == CLI_OK)
                status = CLI_FAILED;
            break;
        }
        if (rc != CLI_OK) {
            /* The script's status is the first failure's. */
            if (status == CLI_OK)
                status = rc;
            if (stop_on_error)
                break;
        }
    }
    free(line);
    return status;
}

/* ---- the terminal ---------------------------------------------------- */

static repl *get_repl(EditLine *el)
{
    repl *r = NULL;

    el_get(el, EL_CLIENTDATA, &r);
    return r;
}

static char *prompt(EditLine *el)
{
    repl *r = get_repl(el);

    if (r->ctx->domain)
        snprintf(r->prompt, sizeof(r->prompt), "blockcopy (%s)> ",
                 r->ctx->domain);
    else
        snprintf(r->prompt, sizeof(r->prompt), "blockcopy> ");
    return r->prompt;
}

static int text_width(const char *s)
{
    int w = 0;

    /* Columns, counting each character once (no UTF-8 continuation). */
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/*
 * Print 'text' where the prompt and the line being typed are, then draw
 * them again below it, unchanged.  With 'keep_line' the line stays above
 * the text too, as after a listing of completions.
 */
static void print_above(repl *r, const char *text, bool keep_line)
{
    const LineInfoW *wl = el_wline(r->el);
    const LineInfo *li = el_line(r->el);
    struct winsize ws;
    int cols = 80, width, typed;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    typed = wcswidth(wl->buffer, (size_t)(wl->cursor - wl->buffer));
    if (typed < 0)
        typed = (int)(wl->cursor - wl->buffer);
    width = text_width(r->prompt) + typed;
    /* To the start of the prompt, and clear from there on. */
    fputc('\r', stdout);
    if (width / cols > 0)
        printf("\033[%dA", width / cols);
    fputs("\033[J", stdout);
    if (keep_line)
        printf("%s%.*s\n", r->prompt, (int)(li->lastchar - li->buffer),
               li->buffer);
    fputs(text, stdout);
    fflush(stdout);
    el_set(r->el, EL_REFRESH);
}

static void show_events(repl *r)
{
    char *text;

    cli_shell_events(r->ctx, true, &text);
    if (text && *text)
        print_above(r, text, false);
    free(text);
}

/*
 * An idle shell holds its VM's monitor (for the events) only while no
 * other client waits for it, since QEMU serves one client per monitor;
 * meanwhile each command connects for itself.  It takes the monitor back
 * once it is free again.
 */
static void share_monitor(repl *r)
{
    cli_ctx *ctx = r->ctx;
    char *text = NULL;
    bc_conn *conn;
    bc_error err;

    if (ctx->conn && bc_conn_monitor_wanted(ctx->conn)) {
        show_events(r);
        free(r->released);
        r->released = strdup(bc_conn_get_address(ctx->conn));
        bc_conn_free(ctx->conn);
        ctx->conn = NULL;
        if (asprintf(&text, "(the monitor of %s is left to another client "
                     "that waits for it; events resume once it is free)\n",
                     cli_safe(ctx->domain)) > 0)
            print_above(r, text, false);
        free(text);
        return;
    }
    if (ctx->conn || !ctx->domain || !r->released ||
        !bc_monitor_is_free(r->released))
        return;
    bc_error_init(&err);
    if ((conn = bc_conn_open_opts(ctx->domain, &ctx->conn_opts, &err))) {
        bc_conn_set_warning_cb(conn, cli_warning_cb, ctx);
        bc_conn_set_interrupt_fd(conn, ctx->sigpipe[0]);
        ctx->conn = conn;
        free(r->released);
        r->released = NULL;
    }
}

/*
 * libedit reads through here.  While it waits for a key it watches the
 * monitor (to show events) and the signal pipe (Ctrl-C, SIGTERM).
 */
static int get_char(EditLine *el, wchar_t *wc)
{
    repl *r = get_repl(el);
    char buf[MB_LEN_MAX];
    size_t nbuf = 0;

    for (;;) {
        struct pollfd pfd[3];
        nfds_t nfds = 2;
        mbstate_t mbs;
        ssize_t n;
        int sig, fd, rc;

        if (continued) {
            /* Back from Ctrl-Z: the terminal's modes may have changed. */
            continued = 0;
            el_set(el, EL_PREP_TERM, 0);
            el_set(el, EL_PREP_TERM, 1);
            fputs("\n", stdout);
            el_set(el, EL_REFRESH);
        }
        if (resized) {
            resized = 0;
            el_resize(el);
        }
        show_events(r);

        pfd[0].fd = STDIN_FILENO;
        pfd[1].fd = r->ctx->sigpipe[0];
        if (r->ctx->conn && (fd = bc_conn_get_fd(r->ctx->conn)) >= 0)
            pfd[nfds++].fd = fd;
        for (n = 0; n < (ssize_t)nfds; n++) {
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
        }
        rc = poll(pfd, nfds, r->ctx->domain ? SHARE_CHECK_MS : -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (rc == 0) {
            share_monitor(r);
            continue;
        }
        if (pfd[1].revents & POLLIN) {
            sig = cli_signals_take(r->ctx);
            if (sig == SIGINT) {
                /* Bound to interrupt_key(). */
                *wc = L'\003';
                return 1;
            }
            if (sig == SIGTERM || sig == SIGHUP) {
                r->leave = true;
                return 0;
            }
            continue;
        }
        if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;           /* the monitor: events, at the loop's top */
        n = read(STDIN_FILENO, buf + nbuf, 1);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        nbuf++;
        memset(&mbs, 0, sizeof(mbs));
        switch (mbrtowc(wc, buf, nbuf, &mbs)) {
        case (size_t)-2:
            /* Part of a character: read on, unless it is too long. */
            if (nbuf == sizeof(buf))
                nbuf = 0;
            continue;
        case (size_t)-1:
            nbuf = 0;           /* not a character: drop it */
            continue;
        default:
            return 1;
        }
    }
}

/* Ctrl-C: show ^C at the end of the line and start a new one, as a
 * shell does. */
static unsigned char interrupt_key(EditLine *el, int ch)
{
    const LineInfoW *wl = el_wline(el);

    get_repl(el)->interrupted = true;
    el_cursor(el, (int)(wl->lastchar - wl->cursor));
    el_insertstr(el, "^C");
    el_push(el, "\n");
    return CC_REFRESH;
}

static int insert_quoted(EditLine *el, const char *s, size_t len, char quote)
{
    char *raw = strndup(s, len), *q = raw ? cli_quote_word(raw, quote) : NULL;
    int rc = q ? el_insertstr(el, q) : -1;

    free(raw);
    free(q);
    return rc;
}

/* The completions in columns, below the line being typed. */
static void list_completions(repl *r, const cli_completion *c)
{
    struct winsize ws;
    size_t i, w = 0, per_row, size = 0;
    char *text = NULL;
    FILE *out;
    int cols = 80;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    for (i = 0; i < c->n; i++)
        if (strlen(cli_safe(c->items[i] + c->show_from)) > w)
            w = strlen(cli_safe(c->items[i] + c->show_from));
    per_row = (size_t)cols / (w + 2);
    if (per_row == 0)
        per_row = 1;
    if (!(out = open_memstream(&text, &size)))
        return;
    for (i = 0; i < c->n; i++)
        fprintf(out, "%-*s%s", (int)(i % per_row == per_row - 1 ||
                                     i == c->n - 1 ? 0 : w + 2),
                cli_safe(c->items[i] + c->show_from),
                i % per_row == per_row - 1 || i == c->n - 1 ? "\n" : "");
    fclose(out);
    print_above(r, text, true);
    free(text);
}

/*
 * Tab: complete the word before the cursor as far as the candidates
 * agree; when they do not agree any further, list them.
 */
static unsigned char complete_key(EditLine *el, int ch)
{
    repl *r = get_repl(el);
    const LineInfo *li = el_line(el);
    char *line = strndup(li->buffer, (size_t)(li->cursor - li->buffer));
    unsigned char ret = CC_ERROR;
    cli_completion c;
    size_t plen, common, i;

    memset(&c, 0, sizeof(c));
    if (!line || cli_complete(r->ctx, line, &c) < 0 || c.n == 0)
        goto out;
    plen = strlen(c.partial);
    common = strlen(c.items[0]);
    for (i = 1; i < c.n; i++) {
        size_t k = 0;

        while (k < common && c.items[i][k] == c.items[0][k])
            k++;
        common = k;
    }
    if (c.n == 1) {
        const char *item = c.items[0];
        bool dir = c.paths && item[0] && item[strlen(item) - 1] == '/';

        insert_quoted(el, item + plen, strlen(item) - plen, c.quote);
        /* A finished word: close its quote and go on to the next. */
        if (!dir) {
            char end[3] = { c.quote, ' ', '\0' };

            el_insertstr(el, c.quote ? end : end + 1);
        }
        ret = CC_REFRESH;
    } else if (common > plen) {
        insert_quoted(el, c.items[0] + plen, common - plen, c.quote);
        ret = CC_REFRESH;
    } else {
        list_completions(r, &c);
        ret = CC_NORM;
    }
 out:
    cli_completion_release(&c);
    free(line);
    return ret;
}

static int run_interactive(cli_ctx *ctx)
{
    struct sigaction sa, old_winch, old_cont;
    const char *line;
    repl r;
    int count, status = CLI_OK;

    /* Multibyte input (paths in UTF-8) needs the user's locale. */
    setlocale(LC_CTYPE, "");
    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    if (cli_history_open(&r.hist, CLI_HISTORY_LINES) < 0 ||
        !(r.el = el_init("blockcopy", stdin, stdout, stderr))) {
        cli_error("cannot set up the terminal: out of memory");
        cli_history_close(&r.hist);
        return CLI_FAILED;
    }
    el_set(r.el, EL_CLIENTDATA, &r);
    el_set(r.el, EL_EDITOR, "emacs");
    el_set(r.el, EL_PROMPT, prompt);
    el_set(r.el, EL_HIST, history, r.hist.hist);
    el_set(r.el, EL_GETCFN, get_char);
    /* The wide el_wset() keeps these strings; el_set() would leak copies. */
    el_wset(r.el, EL_ADDFN, L"bc-complete",
            L"Complete a command, option, VM, disk or file name",
            complete_key);
    el_set(r.el, EL_BIND, "^I", "bc-complete", NULL);
    el_wset(r.el, EL_ADDFN, L"bc-interrupt", L"Discard the line",
            interrupt_key);
    el_set(r.el, EL_BIND, "^C", "bc-interrupt", NULL);
    /* ~/.editrc may rebind keys ("blockcopy:bind ..."). */
    el_source(r.el, NULL);

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* A window resized during a command must not fail its reads and
     * writes; poll() in get_char() is interrupted all the same. */
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, &old_winch);
    sa.sa_handler = on_cont;
    sigaction(SIGCONT, &sa, &old_cont);

    if (!ctx->quiet)
        printf("blockcopy %s: 'help' lists the commands, Tab completes, "
               "'quit' or Ctrl-D leaves.\n", BC_VERSION_STRING);

    while (!ctx->quit) {
        char *copy;
        int sig;

        /* Waiting for a copy puts the default handlers back. */
        cli_signals_catch(ctx);
        sig = cli_signals_take(ctx);
        if (sig == SIGTERM || sig == SIGHUP) {
            status = CLI_FAILED;
            break;
        }
        r.interrupted = false;
        /* Edit mode before the prompt shows, not after: a key typed at
         * once (Ctrl-D) must not meet the terminal's line mode. */
        el_set(r.el, EL_PREP_TERM, 1);
        line = el_gets(r.el, &count);
        if (r.leave) {
            status = CLI_FAILED;
            break;
        }
        if (!line) {
            /* Ctrl-D: leave the terminal's prompt on a line of its own. */
            putchar('\n');
            break;
        }
        if (r.interrupted)
            continue;
        if (!(copy = strdup(line)))
            continue;
        copy[strcspn(copy, "\r\n")] = '\0';
        cli_history_add(&r.hist, copy);
        ctx->last_signal = 0;
        run_line(ctx, copy);
        free(copy);
        /* Ctrl-C aborted the copy and the shell goes on; SIGTERM and
         * SIGHUP end the shell too. */
        if (ctx->last_signal == SIGTERM || ctx->last_signal == SIGHUP) {
            status = CLI_FAILED;
            break;
        }
    }

    el_end(r.el);
    free(r.released);
    cli_history_close(&r.hist);
    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGCONT, &old_cont, NULL);
    cli_signals_default();
    fflush(stdout);
    return status;
}

int cli_cmd_shell(cli_ctx *ctx, const cli_args *args)
{
    int status;

    if (ctx->shell) {
        cli_error("already in the shell");
        return CLI_USAGE;
    }
    ctx->shell = true;
    ctx->quit = false;
    if (isatty(STDIN_FILENO))
        status = run_interactive(ctx);
    else
        status = run_script(ctx, cli_flag(args, "stop-on-error"));
    cli_shell_disconnect(ctx);
    ctx->shell = false;
    return status;
}
