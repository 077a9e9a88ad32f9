/*
 * Groups: several copies at once, on one VM or several, with one wait
 * over all of them.  The copies of one VM are switched (or finished)
 * together: once every one of them is ready the guest is paused, each
 * job ended, and the guest resumed, so that all its disks change at one
 * instant.  A copy of a VM that fails before that takes the VM's other
 * copies with it: the VM stays on all its sources.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "job.h"
#include "jsonutil.h"

/* The object that says a run of the tool paused the VM: a run killed
 * before it resumed the guest leaves it for the next one to find. */
#define PAUSE_MARK "bc-paused"

typedef enum {
    M_ADDED,        /* checked, not started */
    M_COPYING,      /* its job runs, not ready yet (or not known to be) */
    M_READY,        /* ready, waiting for the VM's other copies */
    M_SWITCHING,    /* its end is asked for, with the guest paused */
    M_ENDED,        /* its job has ended; the outcome is read once the
                       guest runs again */
    M_DONE,
    M_FAILED,
} member_state;

struct member {
    bc_conn *conn;
    char *disk;             /* as the caller named it */
    bc_copy *copy;          /* a copy this group makes; NULL: adopted */
    struct watch *w;
    member_state state;
    bc_job_event_type outcome;
    bc_error error;
    long long paused_us;
};

struct bc_group {
    struct member *m;
    size_t n, cap;
    unsigned long long total;   /* shared bandwidth, 0: none */
    size_t shared_by;           /* the copies it was last shared by */
};

bc_group *bc_group_new(bc_error *err)
{
    bc_group *g = calloc(1, sizeof(*g));

    if (!g)
        bc_set_error_oom(err);
    return g;
}

void bc_group_free(bc_group *g)
{
    size_t i;

    if (!g)
        return;
    for (i = 0; i < g->n; i++) {
        bc_watch_free(g->m[i].w);
        bc_copy_free(g->m[i].copy);
        free(g->m[i].disk);
    }
    free(g->m);
    free(g);
}

size_t bc_group_size(const bc_group *g)
{
    return g ? g->n : 0;
}

static struct member *add_member(bc_group *g, bc_conn *conn,
                                 const char *disk, bc_error *err)
{
    struct member *m;

    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 8;
        struct member *p = realloc(g->m, cap * sizeof(*p));

        if (!p) {
            bc_set_error_oom(err);
            return NULL;
        }
        g->m = p;
        g->cap = cap;
    }
    m = &g->m[g->n];
    memset(m, 0, sizeof(*m));
    m->conn = conn;
    if (!(m->disk = strdup(disk))) {
        bc_set_error_oom(err);
        return NULL;
    }
    bc_error_init(&m->error);
    g->n++;
    return m;
}

/* Is the disk of 'c' (or its destination) in the group already? */
static int check_clash(const bc_group *g, bc_conn *conn, const bc_copy *c,
                       const char *disk, bc_error *err)
{
    const char *path = bc_copy_local_path(c);
    const bc_disk *d = bc_copy_disk(c);
    size_t i;

    for (i = 0; i < g->n; i++) {
        const struct member *m = &g->m[i];
        const char *other = m->copy ? bc_copy_local_path(m->copy) : NULL;

        if (m->conn == conn && m->copy && d->node &&
            bc_copy_disk(m->copy)->node &&
            strcmp(bc_copy_disk(m->copy)->node, d->node) == 0)
            return strcmp(m->disk, disk) == 0
                       ? bc_set_error(err, BC_ERR_INVALID_ARG, "disk '%s' "
                                      "is named twice", disk)
                       : bc_set_error(err, BC_ERR_INVALID_ARG, "'%s' and "
                                      "'%s' are the same disk", m->disk,
                                      disk);
        if (path && other && strcmp(path, other) == 0)
            return bc_set_error(err, BC_ERR_INVALID_ARG, "disks '%s' and "
                                "'%s' would both be copied to '%s'",
                                m->disk, disk, path);
    }
    return 0;
}

int bc_group_add_copy(bc_group *g, bc_conn *conn, const char *disk,
                      const char *destxml, const bc_typed_param *params,
                      int nparams, unsigned int flags, bc_error *err)
{
    struct member *m;
    bc_copy *c;

    if (!g)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no group");
    if (!(c = bc_copy_new(conn, disk, destxml, params, nparams, flags, err)))
        return -1;
    if (check_clash(g, conn, c, disk, err) < 0 ||
        !(m = add_member(g, conn, disk, err))) {
        bc_copy_free(c);
        return -1;
    }
    m->copy = c;
    return 0;
}

int bc_group_add_job(bc_group *g, bc_conn *conn, const char *disk,
                     bc_error *err)
{
    bc_job_info info = { 0 };
    int rc;

    if (!g)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no group");
    if ((rc = bc_block_job_info(conn, disk, &info, err)) < 0)
        return -1;
    if (rc == 0)
        return bc_set_error(err, BC_ERR_NO_JOB, "No current block job for "
                            "%s", disk);
    rc = info.type && strcmp(info.type, "mirror") == 0
             ? 0
             : bc_set_error(err, BC_ERR_INVALID_ARG, "the job of disk '%s' "
                            "is a %s job, not a copy", disk,
                            info.type ? info.type : "?");
    bc_job_info_clear(&info);
    if (rc == 0 && add_member(g, conn, disk, err))
        g->m[g->n - 1].state = M_COPYING;
    else
        rc = -1;
    return rc;
}

int bc_group_set_bandwidth(bc_group *g, unsigned long long total,
                           bc_error *err)
{
    if (!g)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no group");
    if (total > LLONG_MAX)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "bandwidth %llu is too "
                            "large (at most %lld bytes/s)", total, LLONG_MAX);
    g->total = total;
    g->shared_by = 0;
    return 0;
}

void bc_vm_resume_left_paused(bc_conn *conn)
{
    json_object *args, *status = NULL;
    bc_error tmp;

    bc_error_init(&tmp);
    args = bc_json_add_str(json_object_new_object(), "path",
                           "/objects/" PAUSE_MARK);
    bc_json_add_str(args, "property", "type");
    if (bc_conn_query(conn, "qom-get", args, NULL, &tmp) < 0)
        return;
    if (bc_conn_query(conn, "query-status", NULL, &status, &tmp) == 0 &&
        strcmp(bc_json_str(status, "status") ? bc_json_str(status, "status")
                                             : "", "paused") == 0 &&
        bc_conn_change(conn, "cont", NULL, NULL, &tmp) == 0)
        bc_conn_warn(conn, "resumed the guest, which an interrupted run "
                     "had paused");
    json_object_put(status);
    bc_conn_try_change(conn, "object-del", "id", PAUSE_MARK);
}

int bc_vm_pause(bc_conn *conn, const char *why, bool *paused, bc_error *err)
{
    json_object *status = NULL, *args;
    bool running;

    *paused = false;
    if (bc_conn_query(conn, "query-status", NULL, &status, err) < 0)
        return -1;
    running = bc_json_bool(status, "running", false);
    json_object_put(status);
    if (!running)
        return 0;
    args = bc_json_add_str(json_object_new_object(), "qom-type", "secret");
    bc_json_add_str(args, "id", PAUSE_MARK);
    bc_json_add_str(args, "data", why);
    if (bc_conn_change(conn, "object-add", args, NULL, err) < 0)
        return -1;
    if (bc_conn_change(conn, "stop", NULL, NULL, err) < 0) {
        bc_conn_try_change(conn, "object-del", "id", PAUSE_MARK);
        return -1;
    }
    *paused = true;
    return 0;
}

int bc_vm_resume(bc_conn *conn, bc_error *err)
{
    if (bc_conn_change(conn, "cont", NULL, NULL, err) < 0)
        return -1;
    bc_conn_try_change(conn, "object-del", "id", PAUSE_MARK);
    return 0;
}

static void set_failed(struct member *m, const bc_error *why)
{
    m->state = M_FAILED;
    if (!bc_error_isset(&m->error))
        m->error = *why;
}

/*
 * A copy of the VM on 'conn' failed before the switch (why): every copy
 * of that VM not switched yet is rolled back, so that the VM stays on all
 * its sources.  The copies this group made go entirely (job, nodes,
 * file); an adopted one is ended as bc_block_job_abort() ends it.
 */
static void fail_vm(bc_group *g, bc_conn *conn, const struct member *culprit,
                    const bc_error *why)
{
    size_t i;

    for (i = g->n; i-- > 0;) {
        struct member *m = &g->m[i];
        bc_error tmp;

        if (m->conn != conn || m->state == M_DONE ||
            m->state == M_SWITCHING || (m->state == M_FAILED && m != culprit))
            continue;
        bc_error_init(&tmp);
        if (m == culprit) {
            tmp = *why;
        } else {
            bc_set_error(&tmp, BC_ERR_ABORTED, "aborted: the copy of disk "
                         "'%s' of the same VM failed", culprit->disk);
        }
        if (m->state != M_ADDED) {
            bool sure = m->copy ? bc_copy_undo(m->copy)
                                : bc_block_job_abort(conn, m->disk, 0,
                                                     NULL) == 0;

            if (!sure && tmp.code != BC_ERR_UNCERTAIN) {
                size_t len = strlen(tmp.message);

                tmp.code = BC_ERR_UNCERTAIN;
                snprintf(tmp.message + len, sizeof(tmp.message) - len,
                         "; the copy of '%s' could not be seen removed: see "
                         "'blockcopy job' and 'blockcopy jobs'", m->disk);
            }
        }
        m->outcome = m == culprit && why->code != BC_ERR_INTERRUPTED &&
                             why->code != BC_ERR_TIMEOUT
                         ? BC_JOB_EVENT_FAILED : BC_JOB_EVENT_ABORTED;
        set_failed(m, &tmp);
    }
}

int bc_group_start(bc_group *g, bc_error *err)
{
    bc_error first;
    size_t i, j;

    if (!g)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no group");
    bc_error_init(&first);
    for (i = 0; i < g->n; i++) {
        bool seen = false;

        for (j = 0; j < i; j++)
            seen |= g->m[j].conn == g->m[i].conn;
        if (!seen)
            bc_vm_resume_left_paused(g->m[i].conn);
    }
    /* The new copies start at their share, or they would copy at full
     * speed until the wait shares the bandwidth. */
    if (g->total) {
        size_t running = 0;

        for (i = 0; i < g->n; i++)
            running += g->m[i].state == M_ADDED ||
                       g->m[i].state == M_COPYING;
        for (i = 0; i < g->n && running; i++)
            if (g->m[i].state == M_ADDED)
                bc_copy_set_bandwidth(g->m[i].copy, g->total / running);
    }
    for (i = 0; i < g->n; i++) {
        struct member *m = &g->m[i];
        bc_error tmp;

        if (m->state != M_ADDED)
            continue;
        bc_error_init(&tmp);
        if (bc_copy_start(m->copy, &tmp) < 0) {
            /* Its own steps are undone already: the VM's other copies
             * go. */
            fail_vm(g, m->conn, m, &tmp);
            if (!bc_error_isset(&first))
                first = tmp;
            continue;
        }
        m->state = M_COPYING;
    }
    if (bc_error_isset(&first)) {
        if (err)
            *err = first;
        return -1;
    }
    return 0;
}

/* Share the bandwidth among the copies still in their first pass; a
 * ready copy, which copies only what the guest writes, gets as much. */
static void share_bandwidth(bc_group *g)
{
    unsigned long long share;
    size_t i, running = 0;

    if (!g->total)
        return;
    for (i = 0; i < g->n; i++)
        running += g->m[i].state == M_COPYING;
    if (!running || running == g->shared_by)
        return;
    g->shared_by = running;
    share = g->total / running;
    for (i = 0; i < g->n; i++) {
        struct member *m = &g->m[i];
        json_object *args;
        bc_error tmp;

        if (!m->w || (m->state != M_COPYING && m->state != M_READY) ||
            bc_watch_speed(m->w) == share)
            continue;
        bc_error_init(&tmp);
        args = bc_json_add_str(json_object_new_object(), "device",
                               bc_watch_job_id(m->w));
        bc_json_add_int(args, "speed", (int64_t)share);
        if (bc_conn_change(m->conn, "block-job-set-speed", args, NULL,
                           &tmp) == 0)
            bc_watch_set_speed(m->w, share);
    }
}

/* With the guest paused: is every copy of the VM on 'conn' still ready?
 * One that failed or stopped while it waited for the others was not
 * watched then. */
static struct member *not_ready(bc_group *g, bc_conn *conn, bc_error *err)
{
    json_object *jobs = NULL;
    struct member *bad = NULL;
    size_t i;

    if (bc_conn_query(conn, "query-block-jobs", NULL, &jobs, err) < 0) {
        for (i = 0; i < g->n; i++)
            if (g->m[i].conn == conn && g->m[i].state == M_READY)
                return &g->m[i];
    }
    for (i = 0; i < g->n && !bad; i++) {
        struct member *m = &g->m[i];
        json_object *job;
        const char *io;

        if (m->conn != conn || m->state != M_READY)
            continue;
        job = bc_json_array_find(jobs, "device", bc_watch_job_id(m->w));
        io = job ? bc_json_str(job, "io-status") : NULL;
        if (!job || !bc_json_bool(job, "ready", false) ||
            (io && strcmp(io, "ok") != 0)) {
            bad = m;
            bc_set_error(err, BC_ERR_JOB_FAILED, "the copy of disk '%s' is "
                         "no longer ready (%s)", m->disk,
                         !job ? "its job is gone"
                         : io && strcmp(io, "ok") ? "an I/O error"
                         : bc_json_str(job, "status")
                             ? bc_json_str(job, "status") : "?");
        }
    }
    json_object_put(jobs);
    return bad;
}

/* Every copy of the VM on 'conn' is ready: pause the guest and ask each
 * job to end as 'until' says.  The pause is measured from here. */
static void switch_vm(bc_group *g, bc_conn *conn, bc_wait_until until,
                      long long *paused_at)
{
    struct member *bad;
    bool paused;
    bc_error tmp;
    size_t i;

    bc_error_init(&tmp);
    if (bc_vm_pause(conn, "paused to switch disks", &paused, &tmp) < 0) {
        for (i = 0; i < g->n; i++)
            if (g->m[i].conn == conn && g->m[i].state == M_READY) {
                fail_vm(g, conn, &g->m[i], &tmp);
                break;
            }
        return;
    }
    *paused_at = paused ? bc_now_us() : 0;
    if ((bad = not_ready(g, conn, &tmp))) {
        fail_vm(g, conn, bad, &tmp);
        if (paused) {
            bc_error_init(&tmp);
            bc_vm_resume(conn, &tmp);
        }
        *paused_at = 0;
        return;
    }
    for (i = 0; i < g->n; i++) {
        struct member *m = &g->m[i];

        if (m->conn != conn || m->state != M_READY)
            continue;
        bc_watch_set_until(m->w, until);
        m->state = M_SWITCHING;
    }
}

/* The last job of the VM on 'conn' has ended: resume the guest if it was
 * paused here, then read how each ended and clean up after it. */
static void switched_vm(bc_group *g, bc_conn *conn, long long paused_at)
{
    long long paused_us = 0;
    bc_error resume;
    size_t i;

    for (i = 0; i < g->n; i++)
        if (g->m[i].conn == conn && g->m[i].state == M_SWITCHING)
            return;
    bc_error_init(&resume);
    if (paused_at && bc_vm_resume(conn, &resume) == 0)
        paused_us = bc_now_us() - paused_at;
    for (i = 0; i < g->n; i++) {
        struct member *m = &g->m[i];
        bc_error tmp;

        if (m->conn != conn || m->state != M_ENDED)
            continue;
        bc_error_init(&tmp);
        m->paused_us = paused_us;
        if (bc_watch_conclude(m->w, &tmp) < 0) {
            m->outcome = bc_watch_outcome(m->w);
            set_failed(m, &tmp);
            continue;
        }
        m->outcome = bc_watch_outcome(m->w);
        m->state = M_DONE;
        if (bc_error_isset(&resume))
            set_failed(m, &resume);
    }
}

/* Whether every copy of the VM on 'conn' is ready. */
static bool vm_ready(const bc_group *g, bc_conn *conn)
{
    size_t i;

    for (i = 0; i < g->n; i++)
        if (g->m[i].conn == conn && g->m[i].state != M_READY)
            return false;
    return true;
}

int bc_group_wait(bc_group *g, const bc_wait_opts *opts, bc_error *err)
{
    int64_t deadline;
    struct watch **ws = NULL;
    struct member **of = NULL;
    long long *paused_at = NULL;
    bc_error first;
    size_t i, j;
    int ret = -1;

    if (!g || !opts)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no group or options");
    if (opts->until != BC_WAIT_READY && opts->until != BC_WAIT_PIVOT &&
        opts->until != BC_WAIT_FINISH)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "a group waits until "
                            "its copies are ready, pivoted or finished");
    bc_error_init(&first);
    deadline = opts->timeout_ms > 0
                   ? bc_now_us() + (int64_t)opts->timeout_ms * 1000 : 0;
    if (!(ws = calloc(g->n + 1, sizeof(*ws))) ||
        !(of = calloc(g->n + 1, sizeof(*of))) ||
        !(paused_at = calloc(g->n + 1, sizeof(*paused_at)))) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < g->n; i++) {
        struct member *m = &g->m[i];
        bc_error tmp;

        if (m->state != M_COPYING || m->w)
            continue;
        bc_error_init(&tmp);
        if (!(m->w = bc_watch_new(m->conn, m->disk, (int)i, opts, &tmp)))
            fail_vm(g, m->conn, m, &tmp);
        else
            bc_watch_set_until(m->w, BC_WAIT_READY);
    }

    for (;;) {
        size_t n = 0, which;
        struct member *m;
        bc_error tmp;
        int rc;

        share_bandwidth(g);
        for (i = 0; i < g->n; i++) {
            if (g->m[i].state == M_COPYING || g->m[i].state == M_SWITCHING) {
                of[n] = &g->m[i];
                ws[n++] = g->m[i].w;
            }
        }
        if (n == 0)
            break;
        bc_error_init(&tmp);
        rc = bc_watch_any(ws, n, deadline, &which, &tmp);
        m = of[which];
        /* Where m's VM is in g, for the pause. */
        for (j = 0; g->m[j].conn != m->conn; j++)
            ;
        if (rc < 0 && (tmp.code == BC_ERR_INTERRUPTED ||
                       tmp.code == BC_ERR_TIMEOUT)) {
            /* Everything stops: what is not switching yet is rolled
             * back; a switch under way goes on to its end, asked. */
            first = tmp;
            for (i = 0; i < g->n; i++) {
                struct member *o = &g->m[i];

                if (o->state == M_COPYING || o->state == M_READY)
                    fail_vm(g, o->conn, o, &tmp);
            }
            continue;
        }
        if (rc < 0) {
            if (!bc_error_isset(&first))
                first = tmp;
            m->outcome = bc_watch_outcome(m->w);
            if (m->state == M_COPYING) {
                fail_vm(g, m->conn, m, &tmp);
            } else {
                set_failed(m, &tmp);
                switched_vm(g, m->conn, paused_at[j]);
            }
            continue;
        }
        m->outcome = bc_watch_outcome(m->w);
        if (m->state == M_SWITCHING) {
            m->state = M_ENDED;
            switched_vm(g, m->conn, paused_at[j]);
            if (!bc_error_isset(&first) && bc_error_isset(&m->error))
                first = m->error;
            continue;
        }
        if (m->state == M_COPYING) {
            m->state = M_READY;
            if (!vm_ready(g, m->conn))
                continue;
            if (opts->until == BC_WAIT_READY) {
                for (i = 0; i < g->n; i++)
                    if (g->m[i].conn == m->conn)
                        g->m[i].state = M_DONE;
                continue;
            }
            switch_vm(g, m->conn, opts->until, &paused_at[j]);
        }
    }
    /* An outcome other than the one asked for is a failure too. */
    for (i = 0; i < g->n && !bc_error_isset(&first); i++) {
        const struct member *m = &g->m[i];
        bc_job_event_type want = opts->until == BC_WAIT_PIVOT
                                     ? BC_JOB_EVENT_PIVOTED
                                 : opts->until == BC_WAIT_FINISH
                                     ? BC_JOB_EVENT_COPIED
                                     : BC_JOB_EVENT_READY;

        if (m->state == M_FAILED)
            first = m->error;
        else if (m->state == M_DONE && m->outcome != want)
            bc_set_error(&first, BC_ERR_JOB_FAILED, "the copy of disk '%s' "
                         "ended otherwise than asked", m->disk);
    }
    if (bc_error_isset(&first)) {
        if (err)
            *err = first;
        goto out;
    }
    ret = 0;

 out:
    free(ws);
    free(of);
    free(paused_at);
    return ret;
}

int bc_group_result_get(const bc_group *g, size_t i, bc_group_result *res)
{
    const struct member *m;

    if (!g || i >= g->n || !res)
        return -1;
    m = &g->m[i];
    memset(res, 0, sizeof(*res));
    res->conn = m->conn;
    res->disk = m->disk;
    res->outcome = m->outcome;
    res->error = m->state == M_FAILED ? &m->error : NULL;
    res->paused_us = m->paused_us;
    res->job = m->w ? bc_watch_job_id(m->w)
               : m->copy ? bc_copy_job_id(m->copy) : NULL;
    return 0;
}
