/*
 * Messages, JSON output and the connection the commands share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

/*
 * The last error printed, for the JSON result of a usage error: like
 * errno, it belongs to the stream it was printed on, not to a command.
 */
static char last_error[1024];
static bool last_error_in_json;

void cli_warn(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_warning_cb(const char *msg, void *opaque)
{
    cli_ctx *ctx = opaque;

    if (!ctx->quiet)
        cli_warn("%s", msg);
}

void cli_print_json(const char *json)
{
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

void cli_print_json_obj(json_object *o)
{
    cli_print_json(json_object_to_json_string_ext(o, CLI_JSON_FLAGS));
    json_object_put(o);
}

static void print_error_json(const char *code, const bc_error *err,
                             const char *prefix, int status)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    char msg[1200];

    snprintf(msg, sizeof(msg), "%s%s", prefix ? prefix : "", err->message);
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    if (err->qmp_class[0])
        json_object_object_add(e, "qmp-class",
                               json_object_new_string(err->qmp_class));
    json_object_object_add(o, "type", json_object_new_string("result"));
    json_object_object_add(o, "status", json_object_new_string("error"));
    json_object_object_add(o, "error", e);
    json_object_object_add(o, "exit", json_object_new_int(status));
    cli_print_json_obj(o);
    last_error_in_json = true;
}


void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    last_error_in_json = false;
    fflush(stdout);
    fprintf(stderr, "error: %s\n", last_error);
}

void cli_report_usage(cli_ctx *ctx)
{
    bc_error err;

    if (!ctx->json || last_error_in_json)
        return;
    bc_error_init(&err);
    err.code = BC_ERR_INVALID_ARG;
    snprintf(err.message, sizeof(err.message), "%s", last_error);
    print_error_json("usage", &err, NULL, CLI_USAGE);
}

int cli_report(cli_ctx *ctx, const char *prefix, const bc_error *err)
{
    int status = bc_error_is_usage(err) ? CLI_USAGE : CLI_FAILED;

    cli_error("%s%s", prefix ? prefix : "", err->message);
    if (ctx->json)
        print_error_json(bc_error_code_name(err->code), err, prefix, status);
    return status;
}

int cli_report_on(cli_ctx *ctx, const char *prefix, const bc_error *err,
                  bc_conn *conn, const char *disk)
{
    int status = cli_report(ctx, prefix, err);

    /* What is not known for sure, QEMU can tell. */
    if (err->code == BC_ERR_UNCERTAIN && conn)
        fprintf(stderr, "hint: 'blockcopy job %s %s' shows what QEMU has "
                "now; add --wait to see it end, or --abort to end it\n",
                bc_conn_get_address(conn), disk);
    return status;
}

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

int cli_percent(unsigned long long cur, unsigned long long end)
{
    unsigned long long remaining = end > cur ? end - cur : 0;
    int p;

    /* virsh's rule: 100 only when nothing remains, else at most 99. */
    if (remaining == 0)
        return 100;
    p = (int)(100.0 - (double)remaining * 100.0 / (double)end);
    return p >= 100 ? 99 : p < 0 ? 0 : p;
}

const char *cli_human_size(double v, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
                                         "PiB", "EiB" };
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0 || v == (double)(unsigned long long)v)
        snprintf(buf, len, "%.0f %s", v, units[u]);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

void cli_print_result(cli_ctx *ctx, const char *key, const char *name,
                      const char *status, const char *human, int exit_status)
{
    if (ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("result"));
        if (key && name)
            json_object_object_add(o, key, json_object_new_string(name));
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "exit", json_object_new_int(exit_status));
        cli_print_json_obj(o);
    } else if (human && !ctx->quiet) {
        printf("%s\n", human);
        fflush(stdout);
    }
}
