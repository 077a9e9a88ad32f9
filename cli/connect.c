/*
 * Connecting to the VM a command names: DOMAIN, -s, or the shell's
 * 'connect'.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

const char *cli_domain(cli_ctx *ctx, const cli_args *args)
{
    const char *d = cli_arg(args, "domain");

    /* -s names the monitor; a DOMAIN given as well must be its VM, which
     * cli_connect() checks. */
    ctx->socket_domain = NULL;
    if (ctx->socket) {
        if (d && d != ctx->socket && strcmp(d, ctx->socket) != 0 &&
            !args->domain_from_context)
            ctx->socket_domain = d;
        return ctx->socket;
    }
    if (d)
        return d;
    return ctx->domain;
}

/* Whether two monitor addresses are the same socket. */
static bool same_address(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (!strcmp(a, b))
        return true;
    if (strncmp(a, "unix:", 5) || strncmp(b, "unix:", 5))
        return false;
    return realpath(a + 5, ra) && realpath(b + 5, rb) && !strcmp(ra, rb);
}

/*
 * The name of the VM on 'conn': QEMU's own (query-name), else the name
 * 'list' finds its socket under (a process's -name or the socket's file
 * name).  NULL if it has none.  Caller frees.
 */
static char *vm_name(bc_conn *conn)
{
    const char *address = bc_conn_get_address(conn);
    json_object *o = NULL, *v;
    bc_domain_info *doms = NULL;
    char *reply = NULL, *name = NULL;
    size_t n = 0, i;
    bc_error err;

    bc_error_init(&err);
    if (bc_qmp_command(conn, "query-name", NULL, &reply, &err) == 0 &&
        (o = json_tokener_parse(reply)) &&
        json_object_object_get_ex(o, "name", &v) &&
        json_object_is_type(v, json_type_string))
        name = strdup(json_object_get_string(v));
    json_object_put(o);
    free(reply);
    bc_error_init(&err);
    if (!name && bc_domains_list(&doms, &n, &err) == 0)
        for (i = 0; i < n && !name; i++)
            if (doms[i].address && doms[i].name &&
                same_address(doms[i].address, address))
                name = strdup(doms[i].name);
    bc_domains_free(doms, n);
    return name;
}

/*
 * -s and a DOMAIN that is another VM: refuse rather than work on the VM
 * the socket leads to.  DOMAIN is that VM if it is the VM's name or leads
 * to the same socket; a VM without a name takes any DOMAIN that leads
 * nowhere as its label.
 */
static int check_socket_domain(cli_ctx *ctx, bc_conn *conn,
                               const char *domain)
{
    const char *address = bc_conn_get_address(conn);
    char *name = vm_name(conn), *resolved = NULL;
    bc_error err;
    int rc = 0;

    bc_error_init(&err);
    if (bc_domain_lookup_flags(domain, ctx->conn_opts.flags, &resolved,
                               &err) < 0)
        resolved = NULL;
    if ((name && !strcmp(name, domain)) ||
        (resolved && same_address(resolved, address)) ||
        (!name && !resolved))
        goto out;
    rc = -1;
    if (name)
        cli_error("-s '%s' is the monitor of VM '%s', not of '%s'",
                  ctx->socket, name, domain);
    else
        cli_error("-s '%s' is not the monitor of '%s' (that is '%s')",
                  ctx->socket, domain, resolved);
 out:
    free(name);
    free(resolved);
    return rc;
}

bc_conn *cli_connect(cli_ctx *ctx, const char *domain, int *status)
{
    const char *label = ctx->socket_domain;
    bc_conn *conn;
    bc_error err;

    ctx->socket_domain = NULL;
    bc_error_init(&err);
    /* The shell keeps the connected VM's monitor open between commands. */
    if (ctx->conn && ctx->domain && strcmp(domain, ctx->domain) == 0)
        conn = ctx->conn;
    else if (!(conn = bc_conn_open_opts(domain, &ctx->conn_opts, &err))) {
        *status = cli_report(ctx, NULL, &err);
        return NULL;
    }
    if (label && check_socket_domain(ctx, conn, label) < 0) {
        cli_disconnect(ctx, conn);
        *status = CLI_USAGE;
        return NULL;
    }
    if (conn == ctx->conn)
        return conn;
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
