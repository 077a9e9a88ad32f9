/*
 * Connecting to the VM a command names: DOMAIN, -s, or the shell's
 * 'connect'.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_domain(cli_ctx *ctx, const cli_args *args)
{
    const char *d = cli_arg(args, "domain");

    /* -s names the monitor: a DOMAIN given as well is only its name. */
    if (ctx->socket)
        return ctx->socket;
    if (d)
        return d;
    return ctx->domain;
}

bc_conn *cli_connect(cli_ctx *ctx, const char *domain, int *status)
{
    bc_conn *conn;
    bc_error err;

    /* The shell keeps the connected VM's monitor open between commands. */
    if (ctx->conn && ctx->domain && strcmp(domain, ctx->domain) == 0)
        return ctx->conn;
    bc_error_init(&err);
    if (!(conn = bc_conn_open_opts(domain, &ctx->conn_opts, &err))) {
        *status = cli_report(ctx, NULL, &err);
        return NULL;
    }
    bc_conn_set_warning_cb(conn, cli_warning_cb, ctx);
    /* A signal (caught only while something waits) stops any wait. */
    bc_conn_set_interrupt_fd(conn, ctx->sigpipe[0]);
    return conn;
}

void cli_disconnect(cli_ctx *ctx, bc_conn *conn)
{
    if (conn && conn != ctx->conn)
        bc_conn_free(conn);
}
