/*
 * Commands that look: disks, list, qmp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* A cell of a table: the name escaped, or "-".  Valid for the next
 * seven cells (see cli_safe()). */
static const char *or_dash(const char *s)
{
    return s && *s ? cli_safe(s) : "-";
}

static void print_disk_table(bc_disk_info *disks, size_t n)
{
    static const char *const head[] = { "Target", "Device", "Drive", "Node",
                                        "Format", "Virtual size" };
    int w[6];
    size_t i, c;

    for (c = 0; c < 6; c++)
        w[c] = (int)strlen(head[c]);
    for (i = 0; i < n; i++) {
        const char *col[4] = { or_dash(disks[i].target),
                               or_dash(disks[i].device),
                               or_dash(disks[i].drive),
                               or_dash(disks[i].node) };

        for (c = 0; c < 4; c++)
            if ((int)strlen(col[c]) > w[c])
                w[c] = (int)strlen(col[c]);
        if ((int)strlen(or_dash(disks[i].format)) > w[4])
            w[4] = (int)strlen(or_dash(disks[i].format));
    }
    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], head[0], w[1],
           head[1], w[2], head[2], w[3], head[3], w[4], head[4], w[5], head[5],
           "Source");
    for (i = 0; i < n; i++) {
        bc_disk_info *d = &disks[i];
        char size[32];

        if (d->empty)
            snprintf(size, sizeof(size), "-");
        else
            cli_human_size((double)d->virtual_size, size, sizeof(size));
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s%s\n", w[0],
               or_dash(d->target), w[1], or_dash(d->device), w[2],
               or_dash(d->drive), w[3], or_dash(d->node), w[4],
               or_dash(d->format), w[5], size,
               d->empty ? "(empty)" : or_dash(d->source),
               d->removable ? " (removable)" : "");
    }
}

int cli_cmd_disks(cli_ctx *ctx, const cli_args *args)
{
    bc_disk_info *disks = NULL;
    size_t n = 0, i;
    bc_conn *conn;
    bc_error err;
    int status = CLI_OK;

    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        return status;
    bc_error_init(&err);
    if (bc_disks_list(conn, &disks, &n, &err) < 0) {
        status = cli_report(ctx, NULL, &err);
        goto out;
    }
    if (ctx->json) {
        json_object *a = json_object_new_array();

        for (i = 0; i < n; i++) {
            bc_disk_info *d = &disks[i];
            json_object *o = json_object_new_object();

            json_object_object_add(o, "target", str_or_null(d->target));
            json_object_object_add(o, "device", str_or_null(d->device));
            json_object_object_add(o, "drive", str_or_null(d->drive));
            json_object_object_add(o, "node", str_or_null(d->node));
            json_object_object_add(o, "format", str_or_null(d->format));
            json_object_object_add(o, "virtual-size",
                                   d->empty ? NULL
                                   : json_object_new_uint64(d->virtual_size));
            json_object_object_add(o, "source", str_or_null(d->source));
            json_object_object_add(o, "bus", str_or_null(d->bus));
            json_object_object_add(o, "removable",
                                   json_object_new_boolean(d->removable));
            json_object_object_add(o, "empty",
                                   json_object_new_boolean(d->empty));
            json_object_object_add(o, "readonly",
                                   json_object_new_boolean(d->readonly));
            json_object_array_add(a, o);
        }
        cli_print_json_obj(a);
        goto out;
    }
    print_disk_table(disks, n);

 out:
    bc_disks_free(disks, n);
    cli_disconnect(ctx, conn);
    return status;
}

const char *cli_domain_note(const cli_ctx *ctx, const bc_domain_info *d,
                            char *buf, size_t len)
{
    if (d->note)
        return d->note;
    if (d->uid == geteuid() || (ctx->conn_opts.flags & BC_DOMAIN_ANY_OWNER))
        return NULL;
    if (d->owner)
        snprintf(buf, len, "owned by %s: use --any-owner", d->owner);
    else
        snprintf(buf, len, "owned by uid %u: use --any-owner",
                 (unsigned)d->uid);
    return buf;
}

/* The owner as the table shows it: the user name, or the uid. */
static const char *owner_cell(const bc_domain_info *d, char *buf, size_t len)
{
    if (d->owner)
        return cli_safe(d->owner);
    snprintf(buf, len, "%u", (unsigned)d->uid);
    return buf;
}

int cli_cmd_list(cli_ctx *ctx, const cli_args *args)
{
    bc_domain_info *doms = NULL;
    size_t n = 0, i;
    bc_error err;
    char buf[300];
    int w = 5;

    bc_error_init(&err);
    if (bc_domains_list(&doms, &n, &err) < 0)
        return cli_report(ctx, NULL, &err);
    if (ctx->json) {
        json_object *a = json_object_new_array();

        for (i = 0; i < n; i++) {
            json_object *o = json_object_new_object();
            const char *note = cli_domain_note(ctx, &doms[i], buf,
                                               sizeof(buf));

            json_object_object_add(o, "name", str_or_null(doms[i].name));
            json_object_object_add(o, "pid", doms[i].pid
                                   ? json_object_new_int(doms[i].pid) : NULL);
            json_object_object_add(o, "socket", str_or_null(doms[i].address));
            json_object_object_add(o, "owner", str_or_null(doms[i].owner));
            json_object_object_add(o, "uid",
                                   json_object_new_uint64(doms[i].uid));
            json_object_object_add(o, "state",
                                   str_or_null(doms[i].state));
            if (note)
                json_object_object_add(o, "note",
                                       json_object_new_string(note));
            json_object_array_add(a, o);
        }
        cli_print_json_obj(a);
        goto out;
    }
    for (i = 0; i < n; i++)
        if ((int)strlen(owner_cell(&doms[i], buf, sizeof(buf))) > w)
            w = (int)strlen(owner_cell(&doms[i], buf, sizeof(buf)));
    printf("%-20s %-8s %-*s %-5s %s\n", "Name", "PID", w, "Owner", "State",
           "Socket");
    for (i = 0; i < n; i++) {
        const bc_domain_info *d = &doms[i];
        const char *note = cli_domain_note(ctx, d, buf, sizeof(buf));
        char pid[16], owner[32];

        snprintf(pid, sizeof(pid), d->pid ? "%d" : "-", d->pid);
        /* A VM that cannot be driven has no socket to show; one that
         * cannot be driven by name shows both. */
        printf("%-20s %-8s %-*s %-5s %s%s%s%s\n", or_dash(d->name), pid, w,
               owner_cell(d, owner, sizeof(owner)),
               d->address && d->state ? d->state : "-",
               or_dash(d->address ? d->address : note),
               d->address && note ? " (" : "",
               d->address && note ? cli_safe(note) : "",
               d->address && note ? ")" : "");
    }

 out:
    bc_domains_free(doms, n);
    return CLI_OK;
}

/*
 * Whether the VM on 'address' has quit: its monitor refuses connections,
 * is gone, or hangs up at once.  A QEMU on its way out may still accept without a greeting
 * for a moment: ask again a few times.
 */
static bool vm_gone(cli_ctx *ctx, const char *address)
{
    bc_conn_opts opts = ctx->conn_opts;
    bc_conn *conn;
    bc_error err;
    int i;

    opts.greeting_ms = 500;
    for (i = 0; i < 10; i++) {
        bc_error_init(&err);
        if ((conn = bc_conn_open_opts(address, &opts, &err))) {
            bc_conn_free(conn);
            return false;
        }
        /* Refused, gone, or closed before the greeting: no QEMU serves
         * it any more. */
        if (err.code == BC_ERR_CONNECT || err.code == BC_ERR_NO_DOMAIN ||
            err.code == BC_ERR_CLOSED || err.code == BC_ERR_PROTOCOL)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/*
 * QEMU may close the monitor before it answers 'quit': that is the
 * answer, once the VM is seen to be gone.  Closes *conn to look.
 */
static bool quit_answered(cli_ctx *ctx, bc_conn **conn, const char *command,
                          const bc_error *err)
{
    char *address;
    bool gone;

    if (err->code != BC_ERR_CLOSED || strcmp(command, "quit") != 0 ||
        *conn == ctx->conn ||
        !(address = strdup(bc_conn_get_address(*conn))))
        return false;
    bc_conn_free(*conn);
    *conn = NULL;
    gone = vm_gone(ctx, address);
    free(address);
    return gone;
}

int cli_cmd_qmp(cli_ctx *ctx, const cli_args *args)
{
    const char *command = cli_arg(args, "command");
    bc_conn *conn;
    bc_error err;
    char *reply = NULL;
    int status = CLI_OK;

    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        return status;
    bc_error_init(&err);
    if (bc_qmp_command(conn, command, cli_arg(args, "arguments"), &reply,
                       &err) < 0) {
        if (quit_answered(ctx, &conn, command, &err))
            reply = strdup("{}");
        else
            status = cli_report(ctx, NULL, &err);
    }
    if (reply) {
        if (ctx->json) {
            cli_print_json(reply);
        } else {
            json_object *o = json_tokener_parse(reply);

            cli_print_json(json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                       JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(o);
        }
    }
    free(reply);
    cli_disconnect(ctx, conn);
    return status;
}
