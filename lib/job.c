/*
 * Block jobs: find the job of a disk, report on it, end it, wait for it.
 *
 * Waiting is driven by QMP events.  The only periodic query is for
 * progress, and only when the caller asked for progress reports.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "graph.h"
#include "job.h"
#include "jsonutil.h"

/* ---- finding ------------------------------------------------------- */

int bc_job_find(bc_conn *conn, const bc_disk *disk, json_object **job,
                bc_error *err)
{
    json_object *jobs = NULL, *graph = NULL, *match = NULL;
    char *ours = NULL;
    size_t i, n;
    int rc = -1, have_graph = -1;

    *job = NULL;
    if (!(ours = bc_disk_job_id(disk)))
        return bc_set_error_oom(err);
    if (bc_conn_query(conn, "query-block-jobs", NULL, &jobs, err) < 0)
        goto out;
    n = json_object_is_type(jobs, json_type_array)
            ? json_object_array_length(jobs) : 0;

    for (i = 0; i < n && !match; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");

        if (!id)
            continue;
        /* The tool's own job id, or the default id QEMU gives a job
         * started on a -drive without one. */
        if (strcmp(id, ours) == 0 || (disk->drive && !strcmp(id, disk->drive)))
            match = j;
    }
    for (i = 0; i < n && !match; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");

        if (!id)
            continue;
        if (have_graph < 0 &&
            (have_graph = bc_graph_query(conn, &graph, err)) < 0)
            goto out;
        if (have_graph == 0)
            break;
        if (bc_graph_job_on_disk(graph, id, disk))
            match = j;
    }
    if (match)
        *job = json_object_get(match);
    rc = match ? 1 : 0;

 out:
    json_object_put(jobs);
    json_object_put(graph);
    free(ours);
    return rc;
}

/*
 * Remove the secret objects ("PREFIX" "sN") of copies whose protocol node
 * ("PREFIX" "fN") is gone: a node the disk runs on may still need its
 * secret to reconnect.
 */
static void cleanup_secrets(bc_conn *conn, const char *prefix)
{
    json_object *objects = NULL, *nodes = NULL;
    size_t i, n;
    bc_error ignored;

    bc_error_init(&ignored);
    if (bc_conn_query(conn, "qom-list",
                      bc_json_add_str(json_object_new_object(), "path",
                                      "/objects"), &objects, &ignored) < 0 ||
        bc_conn_named_nodes(conn, &nodes, &ignored) < 0)
        goto out;
    n = json_object_is_type(objects, json_type_array)
            ? json_object_array_length(objects) : 0;
    for (i = 0; i < n; i++) {
        const char *id = bc_json_str(json_object_array_get_idx(objects, i),
                                     "name");
        char node[128];

        if (!id || !bc_str_has_prefix(id, prefix) || id[strlen(prefix)] != 's')
            continue;
        snprintf(node, sizeof(node), "%sf%.16s", prefix,
                 id + strlen(prefix) + 1);
        if (bc_json_array_find(nodes, "node-name", node))
            continue;
        bc_conn_try_change(conn, "object-del", "id", id);
    }
 out:
    json_object_put(objects);
    json_object_put(nodes);
}

void bc_job_cleanup_nodes(bc_conn *conn, const bc_disk *disk)
{
    json_object *nodes = NULL;
    char prefix[64];
    size_t i, n;
    int pass;
    bc_error ignored;

    snprintf(prefix, sizeof(prefix), "bc-%s-", disk->token);
    bc_error_init(&ignored);
    if (bc_conn_named_nodes(conn, &nodes, &ignored) < 0)
        return;
    n = json_object_is_type(nodes, json_type_array)
            ? json_object_array_length(nodes) : 0;
    /* Format nodes ("-t") before the protocol nodes ("-f") below them. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            const char *name = bc_json_str(json_object_array_get_idx(nodes, i),
                                           "node-name");

            if (!name || !bc_str_has_prefix(name, prefix) ||
                name[strlen(prefix)] != (pass == 0 ? 't' : 'f'))
                continue;
            /* A node the disk now runs on is "in use": QEMU says no. */
            bc_conn_try_change(conn, "blockdev-del", "node-name", name);
        }
    }
    json_object_put(nodes);
    cleanup_secrets(conn, prefix);
}

/* Release the old chain of a disk that has pivoted.  True if a node of
 * the tool's was part of it (its secret may be left to remove). */
static bool release_old_chain(bc_conn *conn, const char *job_id)
{
    bool tool_nodes = false;
    char **p;

    if (!conn->pivot_job || strcmp(conn->pivot_job, job_id) != 0)
        return false;
    for (p = conn->pivot_chain; p && *p; p++) {
        tool_nodes |= bc_str_has_prefix(*p, "bc-");
        /* -drive nodes are gone already and auto-named ones are not the
         * monitor's; QEMU refuses those, and nodes still in use. */
        if (**p == '#')
            continue;
        bc_conn_try_change(conn, "blockdev-del", "node-name", *p);
    }
    free(conn->pivot_job);
    bc_strv_free(conn->pivot_chain);
    conn->pivot_job = NULL;
    conn->pivot_chain = NULL;
    return tool_nodes;
}

/* ---- watching ------------------------------------------------------ */

struct watch {
    bc_conn *conn;
    const bc_disk *disk;
    char *id;
    char *type;
    const bc_wait_opts *opts;

    bool ready;
    bool ready_unreported;  /* seen in JOB_STATUS_CHANGE only, so far */
    int64_t ready_us;
    bool ended;             /* concluded */
    bool dismissed;         /* gone already (someone else dismissed it) */
    bool cancelled;
    bool stopped;           /* paused on an I/O error */
    bool ending;            /* we asked it to end: a pause is no news */
    bc_job_event_type intent; /* how we asked it to end, or 0 */
    bool end_event;         /* BLOCK_JOB_COMPLETED/CANCELLED seen */
    const char *error_op;   /* "read" or "write", from BLOCK_JOB_ERROR */
    char *io_status;        /* "ok", "nospace", "failed" */
    char *error;
    unsigned long long cur, end, speed;
};

static int64_t wall_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void emit(struct watch *w, bc_job_event_type type, int64_t ts)
{
    bc_job_event ev;

    if (!w->opts->cb)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.job = w->id;
    ev.cur = w->cur;
    ev.end = w->end;
    ev.bandwidth = w->speed;
    ev.error = w->error;
    ev.timestamp_us = ts ? ts : wall_us();
    w->opts->cb(&ev, w->opts->opaque);
}

/* An I/O error the job reports on its way (it may still fail or stop). */
static void emit_error(struct watch *w, const char *msg, int64_t ts)
{
    char *saved = w->error;

    w->error = (char *)msg;
    emit(w, BC_JOB_EVENT_ERROR, ts);
    w->error = saved;
}

static void set_error(struct watch *w, const char *msg)
{
    if (!w->error && msg)
        w->error = strdup(msg);
}

/* Take cur/end/speed and the state from a query-block-jobs entry. */
static void update_from_job(struct watch *w, json_object *job)
{
    const char *status = bc_json_str(job, "status");
    const char *io = bc_json_str(job, "io-status");

    w->cur = bc_json_uint(job, "offset", w->cur);
    w->end = bc_json_uint(job, "len", w->end);
    w->speed = bc_json_uint(job, "speed", w->speed);
    if (io) {
        free(w->io_status);
        w->io_status = strdup(io);
    }
    /* Found paused on an error already: nobody will resume it. */
    if (bc_json_bool(job, "paused", false) && io && strcmp(io, "ok") != 0)
        w->stopped = true;
    if (!status)
        return;
    if (!w->ready && (strcmp(status, "ready") == 0 ||
                      bc_json_bool(job, "ready", false))) {
        w->ready = true;
        emit(w, BC_JOB_EVENT_READY, 0);
    }
    if (strcmp(status, "concluded") == 0)
        w->ended = true;
}

/* Read the state afresh, after events may have been lost. */
static int resync(struct watch *w, bc_error *err)
{
    json_object *jobs = NULL;
    size_t i, n;
    bool found = false;

    if (bc_conn_query(w->conn, "query-block-jobs", NULL, &jobs, err) < 0)
        return -1;
    n = json_object_is_type(jobs, json_type_array)
            ? json_object_array_length(jobs) : 0;
    for (i = 0; i < n; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");

        if (id && strcmp(id, w->id) == 0) {
            update_from_job(w, j);
            found = true;
        }
    }
    json_object_put(jobs);
    if (!found) {
        w->ended = true;
        w->dismissed = true;
    }
    return 0;
}

static void handle_event(struct watch *w, bc_qmp_event *ev)
{
    json_object *d = ev->data;
    const char *id;

    if (strcmp(ev->name, "JOB_STATUS_CHANGE") == 0) {
        const char *status = bc_json_str(d, "status");

        id = bc_json_str(d, "id");
        if (!id || !status || strcmp(id, w->id) != 0)
            return;
        if (strcmp(status, "ready") == 0 && !w->ready) {
            /* BLOCK_JOB_READY follows with the numbers; report then. */
            w->ready = true;
            w->ready_unreported = true;
            w->ready_us = ev->timestamp_us;
        } else if (strcmp(status, "concluded") == 0) {
            w->ended = true;
        } else if (strcmp(status, "null") == 0) {
            w->ended = true;
            w->dismissed = true;
        }
        return;
    }

    id = bc_json_str(d, "device");
    if (!id || strcmp(id, w->id) != 0)
        return;
    w->cur = bc_json_uint(d, "offset", w->cur);
    w->end = bc_json_uint(d, "len", w->end);
    w->speed = bc_json_uint(d, "speed", w->speed);

    if (strcmp(ev->name, "BLOCK_JOB_READY") == 0) {
        if (!w->ready || w->ready_unreported) {
            w->ready = true;
            w->ready_unreported = false;
            emit(w, BC_JOB_EVENT_READY, ev->timestamp_us);
        }
    } else if (strcmp(ev->name, "BLOCK_JOB_COMPLETED") == 0) {
        w->end_event = true;
        set_error(w, bc_json_str(d, "error"));
    } else if (strcmp(ev->name, "BLOCK_JOB_CANCELLED") == 0) {
        w->end_event = true;
        w->cancelled = true;
    } else if (strcmp(ev->name, "BLOCK_JOB_ERROR") == 0) {
        const char *op = bc_json_str(d, "operation");
        const char *action = bc_json_str(d, "action");
        char msg[128];

        w->error_op = op && !strcmp(op, "read") ? "read" : "write";
        snprintf(msg, sizeof(msg), "%s error (QEMU's action: %s)",
                 w->error_op, action ? action : "report");
        /* Paused, the job would wait for a human forever. */
        if (action && strcmp(action, "stop") == 0)
            w->stopped = true;
        emit_error(w, msg, ev->timestamp_us);
    }
}

/* The reason QEMU gives for a concluded job, from query-jobs. */
static void read_job_error(struct watch *w)
{
    json_object *job = NULL;
    const char *e;
    bc_error ignored;

    bc_error_init(&ignored);
    if (bc_conn_find_job(w->conn, w->id, &job, &ignored) <= 0)
        return;
    if ((e = bc_json_str(job, "error"))) {
        if (strcmp(e, "Operation canceled") == 0)
            w->cancelled = true;
        else
            set_error(w, e);
    }
    json_object_put(job);
}

/* Has the disk switched away from 'root_before'? */
static bool disk_root_changed(bc_conn *conn, const bc_disk *disk)
{
    bc_disk *disks = NULL;
    size_t n = 0, i;
    bool changed = false;
    bc_error ignored;

    bc_error_init(&ignored);
    if (!disk->node || bc_disks_query(conn, &disks, &n, &ignored) < 0)
        return false;
    for (i = 0; i < n; i++) {
        bc_disk *d = &disks[i];
        bool same = disk->drive ? d->drive && !strcmp(d->drive, disk->drive)
                                : d->qdev && disk->qdev &&
                                  !strcmp(d->qdev, disk->qdev);

        if (same)
            changed = !d->node || strcmp(d->node, disk->node) != 0;
    }
    bc_disks_free_internal(disks, n);
    return changed;
}

/*
 * The job has concluded: dismiss it, work out how it ended, release what
 * the tool added.  Returns 0 for an orderly end, -1 with 'err' otherwise.
 */
static int finish_job(struct watch *w, bc_job_event_type *outcome,
                      bc_error *err)
{
    char *ours = bc_disk_job_id(w->disk);
    bc_job_event_type type;
    int rc = 0;

    if (!w->dismissed) {
        /* BLOCK_JOB_COMPLETED carries the error already; ask only if the
         * events were missed (another run, or a lost event). */
        if (!w->end_event && !w->error && !w->cancelled)
            read_job_error(w);
        bc_conn_try_change(w->conn, "job-dismiss", "id", w->id);
    }

    if (w->cancelled) {
        type = BC_JOB_EVENT_ABORTED;
    } else if (w->error) {
        type = BC_JOB_EVENT_FAILED;
    } else if (w->intent == BC_JOB_EVENT_PIVOTED ||
               w->intent == BC_JOB_EVENT_COPIED) {
        type = w->intent;
    } else if (w->type && strcmp(w->type, "mirror") == 0) {
        /* Someone else ended it: the disk tells how. */
        type = disk_root_changed(w->conn, w->disk) ? BC_JOB_EVENT_PIVOTED
                                                   : BC_JOB_EVENT_COPIED;
    } else {
        type = BC_JOB_EVENT_COMPLETED;
    }

    /* After a pivot the copy's nodes are the disk's: nothing of the
     * tool's is left over unless the old chain was the tool's too. */
    if ((type == BC_JOB_EVENT_PIVOTED ? release_old_chain(w->conn, w->id)
                                      : true) &&
        ours && strcmp(ours, w->id) == 0)
        bc_job_cleanup_nodes(w->conn, w->disk);
    free(ours);

    emit(w, type, 0);
    if (outcome)
        *outcome = type;
    if (type == BC_JOB_EVENT_FAILED)
        rc = bc_set_error(err, BC_ERR_JOB_FAILED, "%s", w->error);
    else if (type == BC_JOB_EVENT_ABORTED)
        rc = bc_set_error(err, BC_ERR_ABORTED, "block job '%s' was cancelled",
                          w->id);
    return rc;
}

static int watch_init(struct watch *w, bc_conn *conn, const bc_disk *disk,
                      json_object *job, const bc_wait_opts *opts,
                      bc_error *err)
{
    memset(w, 0, sizeof(*w));
    w->conn = conn;
    w->disk = disk;
    w->opts = opts;
    w->id = bc_strdup0(bc_json_str(job, "device"));
    w->type = bc_strdup0(bc_json_str(job, "type"));
    if (!w->id)
        return bc_set_error_oom(err);
    w->cur = bc_json_uint(job, "offset", 0);
    w->end = bc_json_uint(job, "len", 0);
    w->speed = bc_json_uint(job, "speed", 0);
    return 0;
}

static void watch_clear(struct watch *w)
{
    free(w->io_status);
    free(w->id);
    free(w->type);
    free(w->error);
}

static int query_progress(struct watch *w, bc_error *err)
{
    unsigned long long cur = w->cur, end = w->end;
    bool was_ready = w->ready;

    if (resync(w, err) < 0)
        return -1;
    if (!w->ended && (cur != w->cur || end != w->end || was_ready != w->ready
                      || cur == 0))
        emit(w, BC_JOB_EVENT_PROGRESS, 0);
    return 0;
}

/* The job is paused on an I/O error: say what happened, from io-status. */
static int report_stopped(struct watch *w, bc_error *err)
{
    const char *io;

    if (resync(w, err) < 0)
        return -1;
    io = w->io_status;
    return bc_set_error(err, BC_ERR_JOB_FAILED,
                        "block job '%s' is paused after %s%s error: %s; it "
                        "stays paused until it is resumed or aborted", w->id,
                        w->error_op ? "a " : "an ",
                        w->error_op ? w->error_op : "I/O",
                        io && !strcmp(io, "nospace") ? "no space left on device"
                        : io && !strcmp(io, "failed") ? "input/output error"
                        : "unknown cause");
}

/* Remember the disk's chain, to release it once the pivot is done. */
static void remember_chain(bc_conn *conn, const bc_disk *disk, const char *id)
{
    json_object *graph = NULL;
    bc_error ignored;
    char **chain = NULL;

    bc_error_init(&ignored);
    if (!disk->node)
        return;
    if (bc_graph_query(conn, &graph, &ignored) == 1)
        chain = bc_graph_subtree(graph, disk->node);
    json_object_put(graph);
    if (!chain && (chain = calloc(2, sizeof(*chain))))
        chain[0] = strdup(disk->node);
    free(conn->pivot_job);
    bc_strv_free(conn->pivot_chain);
    conn->pivot_job = strdup(id);
    conn->pivot_chain = chain;
}

/*
 * Ask QEMU to end the job: pivot (the chain to release was remembered
 * before), finish a ready copy, or cancel anything else.
 */
static int request_end(struct watch *w, bool pivot, bc_error *err)
{
    json_object *args;
    bool mirror = w->type && strcmp(w->type, "mirror") == 0;

    w->ending = true;
    if (pivot) {
        w->intent = BC_JOB_EVENT_PIVOTED;
        args = bc_json_add_str(json_object_new_object(), "id", w->id);
        return bc_conn_change(w->conn, "job-complete", args, NULL, err);
    }
    /* Cancelling a ready copy finishes it: the copy stays consistent.
     * Anything else is stopped where it is. */
    args = bc_json_add_str(json_object_new_object(), "device", w->id);
    if (mirror && w->ready)
        w->intent = BC_JOB_EVENT_COPIED;
    else
        bc_json_add_bool(args, "force", true);
    return bc_conn_change(w->conn, "block-job-cancel", args, NULL, err);
}

static int watch_run(struct watch *w, json_object *job,
                     bc_job_event_type *outcome, bc_error *err)
{
    const bc_wait_opts *o = w->opts;
    bc_qmp *q = w->conn->qmp;
    int64_t deadline = o->timeout_ms > 0
                           ? bc_now_us() + (int64_t)o->timeout_ms * 1000 : 0;
    int64_t next_progress = 0;
    bool progress = o->cb && o->progress_ms > 0;
    bc_qmp_event *ev;
    int rc;

    update_from_job(w, job);
    if (progress)
        emit(w, BC_JOB_EVENT_PROGRESS, 0);

    for (;;) {
        struct pollfd pfd[2];
        int nfds = 0, timeout;
        int64_t now;

        /* What has arrived already, then what the socket has now. */
        while ((rc = bc_qmp_next_event(q, 0, &ev, err)) == 1) {
            handle_event(w, ev);
            bc_qmp_event_free(ev);
        }
        if (rc < 0)
            goto closed;
        if (bc_qmp_events_lost(q) && resync(w, err) < 0)
            goto closed;
        if (w->ready_unreported) {
            w->ready_unreported = false;
            emit(w, BC_JOB_EVENT_READY, w->ready_us);
        }

        if (w->ended)
            return finish_job(w, outcome, err);
        if (w->stopped && !w->ending)
            return report_stopped(w, err);
        if (w->ready && o->until == BC_WAIT_READY) {
            if (outcome)
                *outcome = BC_JOB_EVENT_READY;
            return 0;
        }
        if (w->ready && !w->ending && (o->until == BC_WAIT_PIVOT ||
                                       o->until == BC_WAIT_FINISH)) {
            if (request_end(w, o->until == BC_WAIT_PIVOT, err) < 0)
                return -1;
            /* Once asked, the end comes: no timeout, no interrupt. */
            deadline = 0;
            continue;
        }

        now = bc_now_us();
        if (deadline && now >= deadline)
            return bc_set_error(err, BC_ERR_TIMEOUT,
                                "timed out waiting for block job '%s'", w->id);
        if (progress && now >= next_progress) {
            if (query_progress(w, err) < 0)
                goto closed;
            next_progress = now + (int64_t)o->progress_ms * 1000;
            continue;
        }

        timeout = -1;
        if (deadline)
            timeout = bc_ms_until(deadline);
        if (progress) {
            int t = bc_ms_until(next_progress);

            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        pfd[nfds].fd = bc_qmp_fd(q);
        pfd[nfds++].events = POLLIN;
        if (o->interrupt_fd >= 0 && !w->ending) {
            pfd[nfds].fd = o->interrupt_fd;
            pfd[nfds++].events = POLLIN;
        }
        rc = poll(pfd, nfds, timeout);
        if (rc < 0 && errno != EINTR)
            return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                      "cannot wait for QEMU");
        if (nfds > 1 && rc > 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
            return bc_set_error(err, BC_ERR_INTERRUPTED,
                                "interrupted while waiting for block job '%s'",
                                w->id);
    }

 closed:
    if (err && err->code == BC_ERR_CLOSED) {
        err->code = BC_ERR_NONE;
        bc_set_error(err, BC_ERR_CLOSED,
                     "QEMU went away while block job '%s' was running (the "
                     "monitor connection closed)", w->id);
    }
    return -1;
}

/* ---- public calls -------------------------------------------------- */

void bc_job_info_clear(bc_job_info *info)
{
    if (!info)
        return;
    free(info->id);
    free(info->type);
    free(info->status);
    free(info->io_status);
    free(info->error);
    free(info->disk);
    memset(info, 0, sizeof(*info));
}

void bc_wait_opts_init(bc_wait_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->until = BC_WAIT_END;
    opts->interrupt_fd = -1;
}

/* Resolve 'name' and find its job; BC_ERR_NO_JOB when there is none. */
static int disk_and_job(bc_conn *conn, const char *name, bc_disk *disk,
                        json_object **job, bc_error *err)
{
    int rc;

    if (bc_disk_lookup(conn, name, disk, err) < 0)
        return -1;
    rc = bc_job_find(conn, disk, job, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return bc_set_error(err, BC_ERR_NO_JOB, "No current block job for %s",
                            name);
    return 0;
}

/* Fill 'info' from a query-block-jobs entry of the job on 'disk'. */
static int fill_info(bc_conn *conn, const bc_disk *disk, json_object *job,
                     bc_job_info *info, bc_error *err)
{
    info->id = bc_strdup0(bc_json_str(job, "device"));
    info->type = bc_strdup0(bc_json_str(job, "type"));
    info->status = bc_strdup0(bc_json_str(job, "status"));
    info->io_status = bc_strdup0(bc_json_str(job, "io-status"));
    info->disk = disk ? bc_strdup0(bc_disk_label(disk)) : NULL;
    info->cur = bc_json_uint(job, "offset", 0);
    info->end = bc_json_uint(job, "len", 0);
    info->bandwidth = bc_json_uint(job, "speed", 0);
    info->ready = bc_json_bool(job, "ready", false) ||
                  (info->status && strcmp(info->status, "ready") == 0);
    info->paused = bc_json_bool(job, "paused", false);
    if (!info->id)
        return bc_set_error(err, BC_ERR_PROTOCOL, "block job without an id");
    if (info->status && strcmp(info->status, "concluded") == 0) {
        struct watch w;
        bc_wait_opts opts;

        bc_wait_opts_init(&opts);
        if (watch_init(&w, conn, disk, job, &opts, err) < 0)
            return -1;
        read_job_error(&w);
        info->error = w.error;
        w.error = NULL;
        watch_clear(&w);
    }
    return 0;
}

void bc_job_infos_free(bc_job_info *jobs, size_t njobs)
{
    size_t i;

    if (!jobs)
        return;
    for (i = 0; i < njobs; i++)
        bc_job_info_clear(&jobs[i]);
    free(jobs);
}

/* Which of 'disks' does the job with this id work on? */
static const bc_disk *job_disk(const bc_disk *disks, size_t ndisks,
                               const char *id, json_object *graph)
{
    size_t i;

    for (i = 0; i < ndisks; i++) {
        char *ours = bc_disk_job_id(&disks[i]);
        bool match = ours && strcmp(ours, id) == 0;

        free(ours);
        if (match || (disks[i].drive && strcmp(disks[i].drive, id) == 0))
            return &disks[i];
    }
    for (i = 0; graph && i < ndisks; i++)
        if (bc_graph_job_on_disk(graph, id, &disks[i]))
            return &disks[i];
    return NULL;
}

int bc_block_jobs_list(bc_conn *conn, bc_job_info **out, size_t *nout,
                       bc_error *err)
{
    json_object *jobs = NULL, *graph = NULL;
    bc_disk *disks = NULL;
    bc_job_info *list = NULL;
    size_t ndisks = 0, n = 0, i;
    int rc = -1;

    *out = NULL;
    *nout = 0;
    if (bc_conn_query(conn, "query-block-jobs", NULL, &jobs, err) < 0)
        return -1;
    n = json_object_is_type(jobs, json_type_array)
            ? json_object_array_length(jobs) : 0;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (bc_disks_query(conn, &disks, &ndisks, err) < 0 ||
        bc_graph_query(conn, &graph, err) < 0)
        goto out;
    bc_disks_name_targets(conn, disks, ndisks);
    if (!(list = calloc(n, sizeof(*list)))) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");

        if (fill_info(conn, id ? job_disk(disks, ndisks, id, graph) : NULL, j,
                      &list[i], err) < 0)
            goto out;
    }
    *out = list;
    *nout = n;
    list = NULL;
    rc = 0;

 out:
    bc_job_infos_free(list, n);
    bc_disks_free_internal(disks, ndisks);
    json_object_put(graph);
    json_object_put(jobs);
    return rc;
}

int bc_block_job_info(bc_conn *conn, const char *name, bc_job_info *info,
                      bc_error *err)
{
    bc_disk disk = { 0 };
    json_object *job = NULL;
    int rc = -1;

    memset(info, 0, sizeof(*info));
    if (bc_disk_lookup(conn, name, &disk, err) < 0)
        return -1;
    rc = bc_job_find(conn, &disk, &job, err);
    if (rc <= 0)
        goto out;

    if (fill_info(conn, &disk, job, info, err) < 0) {
        rc = -1;
        goto out;
    }
    rc = 1;

 out:
    if (rc < 0)
        bc_job_info_clear(info);
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}

int bc_block_job_wait(bc_conn *conn, const char *name,
                      const bc_wait_opts *opts, bc_job_event_type *outcome,
                      bc_error *err)
{
    bc_disk disk = { 0 };
    json_object *job = NULL;
    bc_wait_opts defaults;
    struct watch w = { 0 };
    int rc = -1;

    if (!opts) {
        bc_wait_opts_init(&defaults);
        opts = &defaults;
    }
    if (disk_and_job(conn, name, &disk, &job, err) < 0)
        goto out;
    if (watch_init(&w, conn, &disk, job, opts, err) < 0)
        goto out;
    /* Learn the chain now, so that nothing stands between READY and the
     * pivot. */
    if (opts->until == BC_WAIT_PIVOT)
        remember_chain(conn, &disk, w.id);
    rc = watch_run(&w, job, outcome, err);

 out:
    watch_clear(&w);
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}

int bc_block_job_abort(bc_conn *conn, const char *name, unsigned int flags,
                       bc_error *err)
{
    bool pivot = flags & BC_BLOCK_JOB_ABORT_PIVOT;
    bc_disk disk = { 0 };
    json_object *job = NULL;
    const char *status;
    bc_wait_opts opts;
    struct watch w = { 0 };
    bc_error tmp;
    int rc = -1;

    if (flags & ~(BC_BLOCK_JOB_ABORT_ASYNC | BC_BLOCK_JOB_ABORT_PIVOT))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "unsupported flags 0x%x", flags);
    bc_wait_opts_init(&opts);
    if (disk_and_job(conn, name, &disk, &job, err) < 0 ||
        watch_init(&w, conn, &disk, job, &opts, err) < 0)
        goto out;
    update_from_job(&w, job);
    status = bc_json_str(job, "status");

    if (status && strcmp(status, "concluded") == 0) {
        /* Left behind by a run that did not finish: just clean up. */
        w.ending = true;
    } else if (pivot) {
        if (!w.type || strcmp(w.type, "mirror") != 0) {
            bc_set_error(err, BC_ERR_INVALID_ARG, "block job '%s' is a %s "
                         "job; only a copy can pivot", w.id,
                         w.type ? w.type : "?");
            goto out;
        }
        if (!w.ready) {
            bc_set_error(err, BC_ERR_NOT_READY, "block job '%s' is not ready "
                         "to pivot yet", w.id);
            goto out;
        }
        remember_chain(conn, &disk, w.id);
        if (request_end(&w, true, err) < 0)
            goto out;
    } else if (request_end(&w, false, err) < 0) {
        goto out;
    }

    if ((flags & BC_BLOCK_JOB_ABORT_ASYNC) || bc_conn_is_dry_run(conn)) {
        rc = 0;
        goto out;
    }
    bc_error_init(&tmp);
    rc = watch_run(&w, job, NULL, &tmp);
    /* A cancelled job is what was asked for here. */
    if (rc < 0 && tmp.code == BC_ERR_ABORTED && !pivot)
        rc = 0;
    else if (rc < 0 && err)
        *err = tmp;

 out:
    watch_clear(&w);
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}

int bc_block_job_set_speed(bc_conn *conn, const char *name,
                           unsigned long long bandwidth, bc_error *err)
{
    bc_disk disk = { 0 };
    json_object *job = NULL, *args;
    int rc = -1;

    if (bandwidth > LLONG_MAX)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "bandwidth %llu is too large (at most %lld "
                            "bytes/s)", bandwidth, LLONG_MAX);
    if (disk_and_job(conn, name, &disk, &job, err) < 0)
        goto out;
    args = bc_json_add_str(json_object_new_object(), "device",
                           bc_json_str(job, "device"));
    bc_json_add_int(args, "speed", (int64_t)bandwidth);
    rc = bc_conn_change(conn, "block-job-set-speed", args, NULL, err);

 out:
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}
