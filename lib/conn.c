/*
 * Connections: the public face of the QMP client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "sockstate.h"
#include "fdset.h"
#include "graph.h"
#include "job.h"
#include "jsonutil.h"

/* How often a query that QEMU answers late is sent before it fails. */
#define QUERY_TRIES 3

bc_conn *bc_conn_open(const char *domain, bc_error *err)
{
    return bc_conn_open_opts(domain, NULL, err);
}

/* A monitor that serves another client: say who, where the kernel
 * tells, and what would let both in. */
static void explain_busy(const char *address, bc_error *err)
{
    char comm[64];
    int pid = bc_sock_holder(address, comm, sizeof(comm));

    if (!pid)
        return;
    bc_error_init(err);
    bc_set_error(err, BC_ERR_BUSY, "monitor '%s' is held by pid %d (%s): "
                 "QEMU serves one client per monitor socket; a second one "
                 "for the VM (-qmp unix:PATH,server=on,wait=off) lets "
                 "blockcopy use whichever is free", address, pid,
                 comm[0] ? comm : "?");
}

bc_conn *bc_conn_open_opts(const char *domain, const bc_conn_opts *opts,
                           bc_error *err)
{
    bc_conn *conn = NULL;
    bc_domain_addr to;

    if (!domain || !*domain) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "no domain given");
        return NULL;
    }
    if (bc_domain_resolve(domain, opts ? opts->flags : 0, &to, err) < 0)
        return NULL;
    if (!(conn = calloc(1, sizeof(*conn))) || !(conn->qmp = bc_qmp_new())) {
        bc_set_error_oom(err);
        goto error;
    }
    conn->interrupt_fd = -1;
    if (opts)
        bc_qmp_set_timeouts(conn->qmp, 0, opts->greeting_ms, opts->command_ms);
    if (to.check_peer)
        bc_qmp_require_peer(conn->qmp, to.peer_uid);
    if (to.nothers) {
        /* The VM has several monitors: the first free one. */
        char *all[BC_QMP_MAX_MONITORS];
        size_t n = 0, i;

        all[n++] = to.address;
        for (i = 0; i < to.nothers && n < BC_QMP_MAX_MONITORS; i++)
            all[n++] = to.others[i];
        if (bc_qmp_connect_any(conn->qmp, all, n, err) < 0) {
            if (err && err->code == BC_ERR_BUSY)
                explain_busy(to.address, err);
            goto error;
        }
        conn->address = strdup(bc_qmp_address(conn->qmp));
    } else {
        if (bc_qmp_connect(conn->qmp, to.address, err) < 0) {
            if (err && err->code == BC_ERR_BUSY)
                explain_busy(to.address, err);
            goto error;
        }
        conn->address = strdup(to.address);
    }
    if (!conn->address) {
        bc_set_error_oom(err);
        goto error;
    }
    bc_domain_addr_clear(&to);
    return conn;

 error:
    bc_domain_addr_clear(&to);
    bc_conn_free(conn);
    return NULL;
}

void bc_conn_free(bc_conn *conn)
{
    if (!conn)
        return;
    bc_qmp_free(conn->qmp);
    free(conn->address);
    bc_job_record_clear(conn->record);
    free(conn->record);
    free(conn->alias_name);
    free(conn->alias_disk);
    free(conn);
}

const char *bc_conn_get_address(const bc_conn *conn)
{
    return conn->address;
}

bool bc_conn_monitor_wanted(const bc_conn *conn)
{
    return bc_sock_has_waiters(conn->address);
}

bool bc_monitor_is_free(const char *address)
{
    return bc_sock_state_of(address) == BC_SOCK_FREE &&
           !bc_sock_has_waiters(address);
}

void bc_conn_get_qemu_version(const bc_conn *conn, int *major, int *minor,
                              int *micro)
{
    bc_qmp_version(conn->qmp, major, minor, micro);
}

void bc_conn_set_timeouts(bc_conn *conn, int greeting_ms, int command_ms)
{
    bc_qmp_set_timeouts(conn->qmp, 0, greeting_ms, command_ms);
}

void bc_conn_set_dry_run(bc_conn *conn, bc_command_cb cb, void *opaque)
{
    conn->dry_run_cb = cb;
    conn->dry_run_opaque = opaque;
}

void bc_conn_set_warning_cb(bc_conn *conn, bc_message_cb cb, void *opaque)
{
    conn->warn_cb = cb;
    conn->warn_opaque = opaque;
}

bool bc_conn_is_dry_run(const bc_conn *conn)
{
    return conn->dry_run_cb != NULL;
}

void bc_conn_warn(bc_conn *conn, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!conn->warn_cb)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    conn->warn_cb(buf, conn->warn_opaque);
}

/* Keep what a failed command says about the transport. */
static int noted(bc_conn *conn, int rc, const bc_error *tmp, bc_error *err)
{
    if (rc < 0 && (tmp->code == BC_ERR_NO_REPLY ||
                   tmp->code == BC_ERR_CLOSED ||
                   tmp->code == BC_ERR_PROTOCOL))
        conn->fault = *tmp;
    if (rc < 0 && err && !bc_error_isset(err))
        *err = *tmp;
    return rc;
}

int bc_conn_query(bc_conn *conn, const char *cmd, json_object *args,
                  json_object **ret, bc_error *err)
{
    bc_error tmp;
    int rc, tries = 0;

    /* A query changes nothing: one answered late is asked again, as QEMU
     * answers in order and will answer this one too. */
    do {
        bc_error_init(&tmp);
        rc = bc_qmp_execute(conn->qmp, cmd, args, ret, &tmp);
    } while (rc < 0 && tmp.code == BC_ERR_NO_REPLY && ++tries < QUERY_TRIES);
    json_object_put(args);
    if (rc == 0 && ret && strcmp(cmd, "query-fdsets") != 0)
        bc_fdset_name_files(conn, *ret);
    return noted(conn, rc, &tmp, err);
}

void bc_conn_try_change(bc_conn *conn, const char *cmd, const char *key,
                        const char *value)
{
    bc_conn_change(conn, cmd,
                   bc_json_add_str(json_object_new_object(), key, value), NULL,
                   NULL);
}

int bc_conn_named_nodes(bc_conn *conn, json_object **nodes, bc_error *err)
{
    return bc_conn_query(conn, "query-named-block-nodes",
                         bc_json_add_bool(json_object_new_object(), "flat",
                                          true), nodes, err);
}

int bc_conn_find_job(bc_conn *conn, const char *id, json_object **job,
                     bc_error *err)
{
    json_object *jobs = NULL, *j;

    *job = NULL;
    if (bc_conn_query(conn, "query-jobs", NULL, &jobs, err) < 0)
        return -1;
    if ((j = bc_json_array_find(jobs, "id", id)))
        *job = json_object_get(j);
    json_object_put(jobs);
    return *job ? 1 : 0;
}

int bc_conn_change(bc_conn *conn, const char *cmd, json_object *args,
                   json_object **ret, bc_error *err)
{
    return bc_conn_change_fd(conn, cmd, args, -1, ret, err);
}

int bc_conn_change_fd(bc_conn *conn, const char *cmd, json_object *args,
                      int fd, json_object **ret, bc_error *err)
{
    json_object *req;
    int rc;

    if (!conn->dry_run_cb) {
        bc_error tmp;

        bc_error_init(&tmp);
        rc = bc_qmp_execute_fd(conn->qmp, cmd, args, fd, ret, &tmp);
        json_object_put(args);
        return noted(conn, rc, &tmp, err);
    }
    req = json_object_new_object();
    bc_json_add_str(req, "execute", cmd);
    if (args)
        bc_json_add(req, "arguments", args);
    conn->dry_run_cb(json_object_to_json_string_ext(req,
                                                    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                     conn->dry_run_opaque);
    json_object_put(req);
    if (ret)
        *ret = json_object_new_object();
    return 0;
}

int bc_qmp_command(bc_conn *conn, const char *command, const char *args_json,
                   char **reply_json, bc_error *err)
{
    json_object *args = NULL, *ret = NULL;
    enum json_tokener_error jerr = json_tokener_success;
    int rc = -1;

    if (reply_json)
        *reply_json = NULL;
    if (!command || !*command)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no QMP command given");
    if (args_json && *args_json) {
        args = json_tokener_parse_verbose(args_json, &jerr);
        if (!args || !json_object_is_type(args, json_type_object)) {
            json_object_put(args);
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "arguments of '%s' are not a JSON object%s%s",
                                command, args ? "" : ": ",
                                args ? "" : json_tokener_error_desc(jerr));
        }
    }
    if (bc_qmp_execute(conn->qmp, command, args, &ret, err) < 0)
        goto out;
    if (reply_json) {
        *reply_json = strdup(json_object_to_json_string_ext(
            ret, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!*reply_json) {
            bc_set_error_oom(err);
            goto out;
        }
    }
    rc = 0;

 out:
    json_object_put(args);
    json_object_put(ret);
    return rc;
}

void bc_conn_set_interrupt_fd(bc_conn *conn, int fd)
{
    conn->interrupt_fd = fd;
}

int bc_conn_get_fd(const bc_conn *conn)
{
    return conn ? bc_qmp_fd(conn->qmp) : -1;
}

int bc_conn_dispatch_events(bc_conn *conn, bc_event_cb cb, void *opaque,
                            bc_error *err)
{
    bc_qmp_event *ev;
    int rc;

    while ((rc = bc_qmp_next_event(conn->qmp, 0, &ev, err)) == 1) {
        bc_event e;

        e.name = ev->name;
        e.data_json = ev->data ? json_object_to_json_string_ext(
                                     ev->data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                               : "{}";
        e.timestamp_us = ev->timestamp_us;
        if (cb)
            cb(&e, opaque);
        bc_qmp_event_free(ev);
    }
    return rc < 0 ? -1 : 0;
}
