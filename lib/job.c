/*
 * Block jobs: find the job of a disk, report on it, end it, wait for it.
 *
 * The truth is what QEMU shows.  Events wake the wait and may move the
 * watched job one step along QEMU's own transition table (jobstate.h);
 * an end, or anything the table does not allow, is confirmed by a query
 * before it counts, and the outcome (pivoted, copied, aborted, failed) is
 * read from the job's status and error and from the image the disk runs
 * on, never from what the tool asked for.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "fdset.h"
#include "graph.h"
#include "job.h"
#include "jobstate.h"
#include "jsonutil.h"

/* How long a wait lets a query that QEMU answers late go before it asks
 * again. */
#define RETRY_MS 200

/* ---- finding ------------------------------------------------------- */

/* Is 'id' a name QEMU or the tool gives a job of 'disk'?  QEMU names a
 * job without an id after the device or node it was started on. */
static bool job_named_for(const bc_disk *disk, const char *id)
{
    char *ours = bc_disk_job_id(disk);
    bool match = ours && strcmp(id, ours) == 0;

    free(ours);
    return match || (disk->drive && strcmp(id, disk->drive) == 0) ||
           (disk->device_id && strcmp(id, disk->device_id) == 0) ||
           (disk->node && strcmp(id, disk->node) == 0);
}

/* The filter QEMU puts above the image a job of this type works on. */
static const char *job_filter(const char *type)
{
    static const char *const filters[][2] = {
        { "mirror", "mirror_top" },
        { "commit", "commit_top" },
        { "stream", "copy-on-read" },
        { "backup", "copy-before-write" },
    };
    size_t i;

    for (i = 0; type && i < BC_ARRAY_SIZE(filters); i++)
        if (strcmp(type, filters[i][0]) == 0)
            return filters[i][1];
    return NULL;
}

/*
 * Which disk does a job work on that none of the names tell?  Stable QMP
 * shows no edges, but it shows the filter a job puts above its disk's
 * image: the job is that disk's when it is the only such job of its type
 * and the filter sits above exactly one disk's image.
 */
static const bc_disk *job_disk_by_filter(bc_conn *conn, json_object *jobs,
                                         json_object *job,
                                         const bc_disk *disks, size_t ndisks)
{
    const char *type = bc_json_str(job, "type"), *drv = job_filter(type);
    json_object *nodes = NULL;
    const bc_disk *found = NULL;
    size_t i, j, n, same = 0, hits = 0;
    bc_error ignored;

    if (!drv)
        return NULL;
    for (i = 0; i < bc_json_len(jobs); i++) {
        json_object *other = json_object_array_get_idx(jobs, i);
        const char *t = bc_json_str(other, "type"), *id;
        bool named = false;

        if (!t || strcmp(t, type) != 0 || !(id = bc_json_str(other, "device")))
            continue;
        for (j = 0; j < ndisks && !named; j++)
            named = job_named_for(&disks[j], id);
        same += !named;
    }
    bc_error_init(&ignored);
    if (same != 1 || bc_conn_named_nodes(conn, &nodes, &ignored) < 0)
        return NULL;
    n = bc_json_len(nodes);
    for (i = 0; i < ndisks; i++) {
        size_t k;
        bool busy = false;

        /* A disk whose own job put the filter there is no candidate. */
        for (k = 0; k < bc_json_len(jobs) && !busy; k++) {
            json_object *other = json_object_array_get_idx(jobs, k);
            const char *t = bc_json_str(other, "type");
            const char *id = bc_json_str(other, "device");

            busy = t && id && !strcmp(t, type) &&
                   job_named_for(&disks[i], id);
        }
        for (j = 0; j < n && !busy; j++) {
            json_object *node = json_object_array_get_idx(nodes, j);
            const char *d = bc_json_str(node, "drv");
            const char *f = bc_json_str(node, "file");

            if (d && f && disks[i].filename && !strcmp(d, drv) &&
                !strcmp(f, disks[i].filename)) {
                found = &disks[i];
                hits++;
                break;
            }
        }
    }
    json_object_put(nodes);
    return hits == 1 ? found : NULL;
}

int bc_job_find(bc_conn *conn, const bc_disk *disk, json_object **job,
                bc_error *err)
{
    json_object *jobs = NULL, *graph = NULL, *match = NULL;
    bc_disk *disks = NULL;
    size_t i, n, ndisks = 0;
    int rc = -1, have_graph = -1;

    *job = NULL;
    if (bc_conn_query(conn, "query-block-jobs", NULL, &jobs, err) < 0)
        goto out;
    n = bc_json_len(jobs);
    for (i = 0; i < n && !match; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");

        if (id && job_named_for(disk, id))
            match = j;
    }
    /* A job with another id: the block graph tells which disk it works
     * on, where this QEMU lets the tool read it; the filters above the
     * disks' images tell it where not. */
    for (i = 0; i < n && !match; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);
        const char *id = bc_json_str(j, "device");
        const bc_disk *d;

        if (!id)
            continue;
        if (have_graph < 0 &&
            (have_graph = bc_graph_query(conn, &graph, err)) < 0)
            goto out;
        if (have_graph == 1) {
            if (bc_graph_job_on_disk(graph, id, disk))
                match = j;
            continue;
        }
        if (!disks && bc_disks_query(conn, &disks, &ndisks, err) < 0)
            goto out;
        d = job_disk_by_filter(conn, jobs, j, disks, ndisks);
        if (d && bc_disk_same(d, disk))
            match = j;
    }
    if (match)
        *job = json_object_get(match);
    rc = match ? 1 : 0;

 out:
    bc_disks_free_internal(disks, ndisks);
    json_object_put(jobs);
    json_object_put(graph);
    return rc;
}

/* ---- the record ---------------------------------------------------- */

void bc_job_record_clear(bc_job_record *rec)
{
    if (!rec)
        return;
    free(rec->job);
    free(rec->root);
    free(rec->target);
    free(rec->file);
    bc_strv_free(rec->release);
    memset(rec, 0, sizeof(*rec));
}

void bc_job_record_id(const bc_disk *disk, char *buf, size_t size)
{
    snprintf(buf, size, "bc-%s-r", disk->token);
}

static bool strv_contains(char **v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return true;
    return false;
}

int bc_job_record_make(bc_conn *conn, const bc_disk *disk, const char *job,
                       const char *target, bc_job_record *rec, bc_error *err)
{
    json_object *nodes = NULL;
    size_t i, n, count = 0;
    int pass, ret = -1;

    memset(rec, 0, sizeof(*rec));
    if (!(rec->job = strdup(job)) || !(rec->root = bc_strdup0(disk->node)) ||
        (target && !(rec->target = strdup(target))))
        goto oom;
    if (bc_conn_named_nodes(conn, &nodes, err) < 0)
        goto out;
    n = bc_json_len(nodes);
    if (!(rec->release = calloc(n + 1, sizeof(*rec->release))))
        goto oom;
    /*
     * The nodes that open the disk's images: the root, then the others
     * (protocol nodes, the backing chain).  Nodes QEMU named itself
     * ("#block123") are QEMU's to close; a node another disk still uses
     * QEMU refuses to delete.
     */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            json_object *node = json_object_array_get_idx(nodes, i);
            const char *name = bc_json_str(node, "node-name");
            const char *file = bc_json_str(node, "file");
            bool root = disk->node && name && !strcmp(name, disk->node);

            if (!name || name[0] == '#' || !file || (pass == 0) != root ||
                !strv_contains(disk->chain, file) ||
                strv_contains(rec->release, name))
                continue;
            if (!(rec->release[count++] = strdup(name)))
                goto oom;
        }
    }
    ret = 0;
    goto out;

 oom:
    bc_set_error_oom(err);
 out:
    json_object_put(nodes);
    if (ret < 0)
        bc_job_record_clear(rec);
    return ret;
}

int bc_job_record_save(bc_conn *conn, const bc_disk *disk,
                       const bc_job_record *rec, bc_error *err)
{
    json_object *data = json_object_new_object(), *rel, *args;
    char id[64];
    char **p;

    rel = json_object_new_array();
    for (p = rec->release; p && *p; p++)
        json_object_array_add(rel, json_object_new_string(*p));
    bc_json_add_str(data, "job", rec->job);
    bc_json_add_str(data, "root", rec->root);
    bc_json_add_str(data, "target", rec->target);
    bc_json_add(data, "release", rel);
    if (rec->file) {
        bc_json_add_str(data, "file", rec->file);
        bc_json_add_int(data, "dev", (int64_t)rec->dev);
        bc_json_add_int(data, "ino", (int64_t)rec->ino);
    }

    bc_job_record_id(disk, id, sizeof(id));
    args = json_object_new_object();
    bc_json_add_str(args, "qom-type", "secret");
    bc_json_add_str(args, "id", id);
    bc_json_add_str(args, "format", "raw");
    bc_json_add_str(args, "data",
                    json_object_to_json_string_ext(data,
                                                   JSON_C_TO_STRING_PLAIN));
    json_object_put(data);
    return bc_conn_change(conn, "object-add", args, NULL, err);
}

/* Read the record of 'disk': 1 with *rec, 0 when there is none, -1. */
static int record_load(bc_conn *conn, const bc_disk *disk, bc_job_record *rec,
                       bc_error *err)
{
    json_object *objects = NULL, *value = NULL, *data = NULL, *rel;
    char id[64], path[96];
    size_t i, n;
    int ret = -1;

    memset(rec, 0, sizeof(*rec));
    bc_job_record_id(disk, id, sizeof(id));
    if (bc_conn_query(conn, "qom-list",
                      bc_json_add_str(json_object_new_object(), "path",
                                      "/objects"), &objects, err) < 0)
        return -1;
    if (!bc_json_array_find(objects, "name", id)) {
        ret = 0;
        goto out;
    }
    snprintf(path, sizeof(path), "/objects/%s", id);
    if (bc_conn_query(conn, "qom-get",
                      bc_json_add_str(bc_json_add_str(json_object_new_object(),
                                                      "path", path),
                                      "property", "data"), &value, err) < 0)
        goto out;
    /* Anything that does not parse is no record of the tool's. */
    data = json_object_is_type(value, json_type_string)
               ? json_tokener_parse(json_object_get_string(value)) : NULL;
    if (!bc_json_str(data, "job")) {
        ret = 0;
        goto out;
    }
    rec->job = strdup(bc_json_str(data, "job"));
    rec->root = bc_strdup0(bc_json_str(data, "root"));
    rec->target = bc_strdup0(bc_json_str(data, "target"));
    rec->file = bc_strdup0(bc_json_str(data, "file"));
    rec->dev = bc_json_uint(data, "dev", 0);
    rec->ino = bc_json_uint(data, "ino", 0);
    rel = bc_json_get(data, "release");
    n = bc_json_len(rel);
    rec->release = calloc(n + 1, sizeof(*rec->release));
    if (!rec->job || !rec->release) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(rel, i);

        if (json_object_is_type(v, json_type_string) &&
            !(rec->release[i] = strdup(json_object_get_string(v)))) {
            bc_set_error_oom(err);
            goto out;
        }
        if (!rec->release[i])
            rec->release[i] = strdup("");
    }
    ret = 1;

 out:
    if (ret < 0)
        bc_job_record_clear(rec);
    json_object_put(objects);
    json_object_put(value);
    json_object_put(data);
    return ret;
}

void bc_job_record_drop(bc_conn *conn, const bc_disk *disk)
{
    char id[64];

    bc_job_record_id(disk, id, sizeof(id));
    bc_conn_try_change(conn, "object-del", "id", id);
}

/* ---- clean-up ------------------------------------------------------ */

/*
 * A copy that failed, or whose start did not get through, leaves
 * nothing: the file the tool created for it goes, if its path still shows
 * that file and no node of QEMU's still opens it (its nodes were removed
 * first).
 */
static void remove_made_file(bc_conn *conn, const bc_job_record *rec)
{
    json_object *nodes = NULL;
    struct stat st;
    size_t i, n;
    bc_error tmp;

    if (!rec->file || conn->fault.code)
        return;
    bc_error_init(&tmp);
    if (bc_conn_named_nodes(conn, &nodes, &tmp) < 0)
        return;
    n = bc_json_len(nodes);
    for (i = 0; i < n; i++) {
        const char *f = bc_json_str(json_object_array_get_idx(nodes, i),
                                    "file");

        if (f && strcmp(f, rec->file) == 0)
            break;
    }
    json_object_put(nodes);
    if (i == n && lstat(rec->file, &st) == 0 && S_ISREG(st.st_mode) &&
        (unsigned long long)st.st_dev == rec->dev &&
        (unsigned long long)st.st_ino == rec->ino)
        unlink(rec->file);
}

/*
 * Remove the secret and TLS objects ("PREFIX" "sN", "PREFIX" "xN") and
 * the fd sets of copies whose protocol node ("PREFIX" "fN") is gone: a
 * node the disk runs on may still need its secret or credentials to
 * reconnect, and its fd set names its file.
 */
static void cleanup_objects(bc_conn *conn, const char *prefix)
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
    n = bc_json_len(objects);
    for (i = 0; i < n; i++) {
        const char *id = bc_json_str(json_object_array_get_idx(objects, i),
                                     "name");
        char node[128];

        if (!id || !bc_str_has_prefix(id, prefix) ||
            (id[strlen(prefix)] != 's' && id[strlen(prefix)] != 'x'))
            continue;
        snprintf(node, sizeof(node), "%sf%.16s", prefix,
                 id + strlen(prefix) + 1);
        if (bc_json_array_find(nodes, "node-name", node))
            continue;
        bc_conn_try_change(conn, "object-del", "id", id);
    }
    bc_fdset_cleanup(conn, prefix, nodes);
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
    n = bc_json_len(nodes);
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
    cleanup_objects(conn, prefix);
}

/* Close the old chain of a disk that has pivoted.  QEMU refuses a node
 * that is still in use. */
static void release_chain(bc_conn *conn, const bc_job_record *rec)
{
    char **p;

    for (p = rec->release; p && *p; p++)
        if (**p)
            bc_conn_try_change(conn, "blockdev-del", "node-name", *p);
}

/* The node 'disk' runs on now (caller frees), or NULL with 'err' set, or
 * NULL with no error when the disk is gone or empty. */
static char *current_root(bc_conn *conn, const bc_disk *disk, bc_error *err)
{
    bc_disk *disks = NULL;
    size_t n = 0, i;
    char *root = NULL;

    if (bc_disks_query(conn, &disks, &n, err) < 0)
        return NULL;
    for (i = 0; i < n; i++) {
        bc_disk *d = &disks[i];

        if (bc_disk_same(d, disk) && d->node && !(root = strdup(d->node)))
            bc_set_error_oom(err);
    }
    bc_disks_free_internal(disks, n);
    return root;
}

/* ---- how a job ended ----------------------------------------------- */

/*
 * The outcome of job 'id' on 'disk', from QEMU's state: the job's status
 * and error, and the node the disk runs on against the record (or
 * 'root_before' when the job is not the tool's).  *present tells whether
 * the job still exists.  Returns 0 with *type, or -1 with 'err'
 * (BC_ERR_UNCERTAIN when the job is gone and the disk did not switch:
 * copied, aborted and failed then look alike).
 */
static int read_outcome(bc_conn *conn, const bc_disk *disk, const char *id,
                        const char *jtype, const bc_job_record *rec,
                        const char *root_before, bc_job_event_type seen_end,
                        const char *seen_error, bc_job_event_type *type,
                        char **error, bool *present, bc_error *err)
{
    json_object *job = NULL;
    const char *e = NULL;
    char *root = NULL;
    bool pivoted = false;
    int rc;

    *error = NULL;
    *type = 0;
    if ((rc = bc_conn_find_job(conn, id, &job, err)) < 0)
        return -1;
    *present = rc == 1;
    if (*present)
        e = bc_json_str(job, "error");
    /* QEMU dismissed it by itself: its last event is what is left. */
    else if (seen_end == BC_JOB_EVENT_ABORTED)
        e = "Operation canceled";
    else if (seen_end)
        e = seen_error;
    if (!e && (!jtype || !strcmp(jtype, "mirror"))) {
        if (!(root = current_root(conn, disk, err)) && bc_error_isset(err))
            goto fail;
        if (rec && rec->target)
            pivoted = root && !strcmp(root, rec->target);
        else if (root_before)
            pivoted = root && strcmp(root, root_before) != 0;
    }
    if (e && strcmp(e, "Operation canceled") == 0) {
        *type = BC_JOB_EVENT_ABORTED;
    } else if (e) {
        *type = BC_JOB_EVENT_FAILED;
        if (!(*error = strdup(e)))
            goto oom;
    } else if (pivoted) {
        *type = BC_JOB_EVENT_PIVOTED;
    } else if (!*present && !seen_end) {
        bc_set_error(err, BC_ERR_UNCERTAIN, "block job '%s' ended and was "
                     "removed by another client before its outcome could be "
                     "read: the disk still runs on its source '%s', but "
                     "whether the copy is complete is not known", id,
                     disk->filename ? disk->filename : "?");
        goto fail;
    } else if (jtype && strcmp(jtype, "mirror") == 0) {
        *type = BC_JOB_EVENT_COPIED;
    } else {
        *type = BC_JOB_EVENT_COMPLETED;
    }
    json_object_put(job);
    free(root);
    return 0;

 oom:
    bc_set_error_oom(err);
 fail:
    json_object_put(job);
    free(root);
    return -1;
}

/* The job has ended as 'type': dismiss it, close the old chain after a
 * pivot, remove what the tool added, and the record.  A step QEMU did
 * not answer is left to the next command on the disk, which is said. */
static void settle(bc_conn *conn, const bc_disk *disk, const char *id,
                   bool present, bc_job_event_type type,
                   const bc_job_record *rec)
{
    char *ours = bc_disk_job_id(disk);
    bool tools = ours && strcmp(ours, id) == 0;

    bc_error_init(&conn->fault);
    if (present)
        bc_conn_try_change(conn, "job-dismiss", "id", id);
    if (type == BC_JOB_EVENT_PIVOTED && rec)
        release_chain(conn, rec);
    if (tools)
        bc_job_cleanup_nodes(conn, disk);
    if (tools && type == BC_JOB_EVENT_FAILED && rec)
        remove_made_file(conn, rec);
    if (rec)
        bc_job_record_drop(conn, disk);
    if (conn->fault.code)
        bc_conn_warn(conn, "block job '%s' has ended, but cleaning up after "
                     "it did not get through (%s): the next blockcopy "
                     "command on disk '%s' does it", id, conn->fault.message,
                     bc_disk_label(disk));
    free(ours);
}

static const char *outcome_words(bc_job_event_type type)
{
    switch (type) {
    case BC_JOB_EVENT_PIVOTED:
        return "pivoted: the disk runs on the copy";
    case BC_JOB_EVENT_COPIED:
        return "copied: the copy is complete, the disk stayed on its source";
    case BC_JOB_EVENT_ABORTED:
        return "aborted";
    case BC_JOB_EVENT_FAILED:
        return "failed";
    default:
        return "completed";
    }
}

/*
 * No job of the tool's runs on the disk: what a start that did not get
 * through left (an ended creation job, nodes nothing uses, the file it
 * made, the record) goes.  A creation job that still runs is another run
 * at work.
 */
static int tidy_start(bc_conn *conn, const bc_disk *disk,
                      const bc_job_record *rec, bc_error *err)
{
    json_object *job = NULL;
    char *id = NULL;
    const char *status;
    int rc;

    if (asprintf(&id, "bc-%s-create", disk->token) < 0)
        return bc_set_error_oom(err);
    rc = bc_conn_find_job(conn, id, &job, err);
    status = bc_json_str(job, "status");
    if (rc == 1 && status && strcmp(status, "concluded") == 0) {
        bc_conn_try_change(conn, "job-dismiss", "id", id);
        bc_conn_warn(conn, "cleaned up block job '%s', which had ended "
                     "without anyone waiting for it", id);
    }
    if (rc == 0 || (status && strcmp(status, "concluded") == 0)) {
        bc_error_init(&conn->fault);
        bc_job_cleanup_nodes(conn, disk);
        if (rec) {
            remove_made_file(conn, rec);
            bc_job_record_drop(conn, disk);
        }
    }
    json_object_put(job);
    free(id);
    return rc < 0 ? -1 : 0;
}

int bc_job_tidy(bc_conn *conn, const bc_disk *disk, bool concluded,
                bc_error *err)
{
    bc_job_record rec = { 0 };
    json_object *job = NULL;
    bc_job_event_type type;
    char *ours = NULL, *error = NULL, *root = NULL;
    bool present = false;
    int have, ret = -1;

    if (bc_conn_is_dry_run(conn))
        return 0;
    if (!(ours = bc_disk_job_id(disk)))
        return bc_set_error_oom(err);
    bc_vm_resume_left_paused(conn);
    if ((have = record_load(conn, disk, &rec, err)) < 0 ||
        bc_conn_find_job(conn, ours, &job, err) < 0)
        goto out;
    if (job) {
        /* A copy of the tool's that ended with nobody waiting. */
        const char *status = bc_json_str(job, "status");

        if (concluded && status && !strcmp(status, "concluded")) {
            if (read_outcome(conn, disk, ours, bc_json_str(job, "type"),
                             have ? &rec : NULL, NULL, 0, NULL, &type, &error,
                             &present, err) < 0)
                goto out;
            settle(conn, disk, ours, present, type, have ? &rec : NULL);
            bc_conn_warn(conn, "block job '%s' of disk '%s' had ended with "
                         "nobody waiting for it: %s%s%s; cleaned up", ours,
                         bc_disk_label(disk), outcome_words(type),
                         error ? ": " : "", error ? error : "");
        }
    } else if (have == 1 && (root = current_root(conn, disk, err)) &&
               rec.target && !strcmp(root, rec.target)) {
        /* The job is gone: a pivot leaves the old chain open until the
         * tool closes it. */
        release_chain(conn, &rec);
        bc_job_cleanup_nodes(conn, disk);
        bc_job_record_drop(conn, disk);
        bc_conn_warn(conn, "disk '%s' had pivoted to its copy with nobody "
                     "waiting: closed its old image", bc_disk_label(disk));
    } else if (bc_error_isset(err)) {
        goto out;
    } else if (concluded && (ret = tidy_start(conn, disk,
                                              have == 1 ? &rec : NULL,
                                              err)) < 0) {
        goto out;
    }
    ret = 0;

 out:
    bc_job_record_clear(&rec);
    json_object_put(job);
    free(ours);
    free(error);
    free(root);
    return ret;
}

/* ---- watching ------------------------------------------------------ */

/* What the watch asked of the job, and whether QEMU has answered. */
typedef enum { ASK_NONE, ASK_PIVOT, ASK_FINISH, ASK_CANCEL } ask_kind;
typedef enum { REQ_NONE, REQ_OWED, REQ_DONE } req_state;

struct watch {
    bc_conn *conn;
    const bc_disk *disk;
    const bc_wait_opts *opts;
    bc_wait_until until;    /* what it waits for (opts->until at first) */
    int interrupt_fd;
    bool plain;             /* any job, only to see it conclude */
    const char *name;       /* the disk as the caller named it, for events */
    int member;             /* its place in a group, for events */
    bc_job_event_type outcome;  /* how it ended, once done */
    int64_t next_progress, next_retry;
    bool switching;         /* a group's switch: the interrupt waits, and
                               the end is told before it is read, so that
                               the guest can resume first */
    bool ended;             /* told so: conclude() is left to the group */
    struct watch **peers;   /* the watches of the wait it is in */
    size_t npeers;
    char *id;
    char *type;

    bc_job_status status;   /* where the job is, as far as QEMU said */
    bool confirm;           /* an event claims something only a query
                               may decide */
    bool ready_reported;
    int64_t ready_us;
    ask_kind ask;
    req_state req;
    char req_id[32];        /* the request, while its reply is owed */

    bc_job_record rec;      /* the tool's record, or nothing */
    bool have_rec;
    char *root_before;

    bc_job_event_type seen_end; /* BLOCK_JOB_COMPLETED/CANCELLED: what is
                                   left to tell a job that QEMU dismissed
                                   by itself (auto-dismiss) */
    char *seen_error;
    bool paused_on_error;
    const char *error_op;   /* "read" or "write", from BLOCK_JOB_ERROR */
    char *io_status;
    char *error;
    unsigned long long cur, end, speed;
    unsigned long long written, data;   /* see bc_job_event */

    /* opts->converge_ms: the first sample, the least remaining data seen
     * and the sample then, the next sample; done once switched or said. */
    int64_t conv_t0, conv_best_at, conv_next;
    unsigned long long conv_cur0, conv_end0;
    unsigned long long conv_best, conv_best_cur, conv_best_end;
    bool conv_done;
    unsigned long long dirty_rate, copy_rate;   /* see bc_job_event */
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
    ev.disk = w->name;
    ev.member = w->member;
    ev.cur = w->cur;
    ev.end = w->end;
    ev.bandwidth = w->speed;
    ev.error = w->error;
    ev.timestamp_us = ts ? ts : wall_us();
    if (type == BC_JOB_EVENT_PROGRESS || type == BC_JOB_EVENT_READY) {
        ev.written = w->written;
        ev.data = w->data;
    }
    ev.dirty_rate = w->dirty_rate;
    ev.copy_rate = w->copy_rate;
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

/* Move the job to what a query shows.  A state the job cannot reach from
 * where it was is another job of the same id: ours is gone. */
static void move_to(struct watch *w, bc_job_status s)
{
    if (s == BC_JS_UNDEFINED || !bc_job_status_reachable(w->status, s))
        s = BC_JS_NULL;
    w->status = s;
}

/* Take cur/end/speed and the state from a query-block-jobs entry. */
static void update_from_job(struct watch *w, json_object *job)
{
    const char *io = bc_json_str(job, "io-status");
    bc_job_status s = bc_job_status_parse(bc_json_str(job, "status"));

    w->cur = bc_json_uint(job, "offset", w->cur);
    w->end = bc_json_uint(job, "len", w->end);
    w->speed = bc_json_uint(job, "speed", w->speed);
    if (io) {
        free(w->io_status);
        w->io_status = strdup(io);
    }
    /* Paused on an error: nobody will resume it. */
    w->paused_on_error = bc_json_bool(job, "paused", false) && io &&
                         strcmp(io, "ok") != 0;
    if (s == BC_JS_RUNNING && bc_json_bool(job, "ready", false))
        s = BC_JS_READY;
    move_to(w, s);
}

/* Read the job's state from QEMU: a block job's numbers from
 * query-block-jobs, any other job's status and error from query-jobs. */
static int resync(struct watch *w, bc_error *err)
{
    json_object *jobs = NULL, *job;

    if (bc_conn_query(w->conn, w->plain ? "query-jobs" : "query-block-jobs",
                      NULL, &jobs, err) < 0)
        return -1;
    w->confirm = false;
    /* The answer is newer than whatever was dropped before it; what was
     * dropped may have been news of the other jobs on this monitor. */
    if (bc_qmp_events_lost(w->conn->qmp)) {
        size_t i;

        for (i = 0; i < w->npeers; i++)
            if (w->peers[i] != w && w->peers[i]->conn == w->conn)
                w->peers[i]->confirm = true;
    }
    if ((job = bc_json_array_find(jobs, w->plain ? "id" : "device", w->id))) {
        update_from_job(w, job);
        if (w->plain && !w->error && bc_json_str(job, "error"))
            w->error = strdup(bc_json_str(job, "error"));
    } else {
        w->status = BC_JS_NULL;
    }
    json_object_put(jobs);
    return 0;
}

static void handle_event(struct watch *w, bc_qmp_event *ev)
{
    json_object *d = ev->data;
    const char *id = bc_json_event_job(d);

    if (!id || strcmp(id, w->id) != 0)
        return;
    if (strcmp(ev->name, "JOB_STATUS_CHANGE") == 0) {
        bc_job_status s = bc_job_status_parse(bc_json_str(d, "status"));

        if (s == w->status)
            return;
        /* Not a step QEMU takes from here: an earlier job's news, or
         * events were missed.  Ask. */
        if (!bc_job_status_step(w->status, s)) {
            w->confirm = true;
            return;
        }
        w->status = s;
        if (s == BC_JS_READY && !w->ready_us)
            w->ready_us = ev->timestamp_us;
        /* An end counts once QEMU confirms it. */
        if (s == BC_JS_CONCLUDED || s == BC_JS_NULL || s == BC_JS_ABORTING)
            w->confirm = true;
        return;
    }

    w->cur = bc_json_uint(d, "offset", w->cur);
    w->end = bc_json_uint(d, "len", w->end);
    w->speed = bc_json_uint(d, "speed", w->speed);
    if (strcmp(ev->name, "BLOCK_JOB_READY") == 0) {
        if (bc_job_status_step(w->status, BC_JS_READY)) {
            w->status = BC_JS_READY;
            w->ready_us = ev->timestamp_us;
        }
    } else if (strcmp(ev->name, "BLOCK_JOB_COMPLETED") == 0 ||
               strcmp(ev->name, "BLOCK_JOB_CANCELLED") == 0) {
        const char *e = bc_json_str(d, "error");

        w->confirm = true;
        w->seen_end = strcmp(ev->name, "BLOCK_JOB_CANCELLED") == 0
                          ? BC_JOB_EVENT_ABORTED : BC_JOB_EVENT_COMPLETED;
        if (e && !w->seen_error)
            w->seen_error = strdup(e);
    } else if (strcmp(ev->name, "BLOCK_JOB_ERROR") == 0) {
        const char *op = bc_json_str(d, "operation");
        const char *action = bc_json_str(d, "action");
        char msg[128];

        w->error_op = op && !strcmp(op, "read") ? "read" : "write";
        snprintf(msg, sizeof(msg), "%s error (QEMU's action: %s)",
                 w->error_op, action ? action : "report");
        /* Stopped, the job would wait for a human forever. */
        if (action && strcmp(action, "stop") == 0)
            w->confirm = true;
        emit_error(w, msg, ev->timestamp_us);
    }
}

/* The job has ended (or is gone): read how, report it, clean up. */
static int conclude(struct watch *w, bc_job_event_type *outcome,
                    bc_error *err)
{
    bc_job_event_type type;
    bool present = false;
    char *error = NULL;

    if (w->plain)
        return 0;
    if (read_outcome(w->conn, w->disk, w->id, w->type,
                     w->have_rec ? &w->rec : NULL, w->root_before,
                     w->seen_end, w->seen_error, &type, &error, &present,
                     err) < 0)
        return -1;
    settle(w->conn, w->disk, w->id, present, type,
           w->have_rec ? &w->rec : NULL);
    free(w->error);
    w->error = error;
    emit(w, type, 0);
    if (outcome)
        *outcome = type;
    if (type == BC_JOB_EVENT_FAILED)
        return bc_set_error(err, BC_ERR_JOB_FAILED, "%s", w->error);
    if (type == BC_JOB_EVENT_ABORTED && w->ask != ASK_CANCEL)
        return bc_set_error(err, BC_ERR_ABORTED, "block job '%s' was "
                            "cancelled", w->id);
    return 0;
}

static int watch_init(struct watch *w, bc_conn *conn, const bc_disk *disk,
                      json_object *job, const bc_wait_opts *opts,
                      bc_error *err)
{
    memset(w, 0, sizeof(*w));
    w->conn = conn;
    w->disk = disk;
    w->opts = opts;
    w->until = opts->until;
    w->interrupt_fd = opts->interrupt_fd >= 0 ? opts->interrupt_fd
                                              : conn->interrupt_fd;
    w->id = bc_strdup0(bc_json_str(job, "device"));
    w->type = bc_strdup0(bc_json_str(job, "type"));
    if (!w->id)
        return bc_set_error(err, BC_ERR_PROTOCOL, "block job without an id");
    /* Where it is now, whatever it was before. */
    w->status = BC_JS_UNDEFINED;
    update_from_job(w, job);
    if (w->status == BC_JS_NULL)
        w->status = BC_JS_UNDEFINED;
    if (conn->record && strcmp(conn->record->job, w->id) == 0) {
        /* Just made by bc_block_copy() on this connection. */
        w->rec = *conn->record;
        memset(conn->record, 0, sizeof(*conn->record));
        free(conn->record);
        conn->record = NULL;
        w->have_rec = true;
    } else {
        int rc = record_load(conn, disk, &w->rec, err);

        if (rc < 0)
            return -1;
        w->have_rec = rc == 1 && strcmp(w->rec.job, w->id) == 0;
    }
    /* Without the record, the disk's node while the job runs is what a
     * pivot changes. */
    if (w->status != BC_JS_CONCLUDED && disk->node &&
        !(w->root_before = strdup(disk->node)))
        return bc_set_error_oom(err);
    return 0;
}

static void watch_clear(struct watch *w)
{
    bc_job_record_clear(&w->rec);
    free(w->root_before);
    free(w->seen_error);
    free(w->io_status);
    free(w->id);
    free(w->type);
    free(w->error);
}

/* The job is paused on an I/O error: say what happened, from io-status. */
static int report_stopped(struct watch *w, bc_error *err)
{
    const char *io = w->io_status;

    return bc_set_error(err, BC_ERR_JOB_FAILED,
                        "block job '%s' is paused after %s%s error: %s; it "
                        "stays paused until it is resumed or aborted", w->id,
                        w->error_op ? "a " : "an ",
                        w->error_op ? w->error_op : "I/O",
                        io && !strcmp(io, "nospace") ? "no space left on device"
                        : io && !strcmp(io, "failed") ? "input/output error"
                        : "unknown cause");
}

/* The record a pivot needs to close the old chain: made now for a job
 * that is not the tool's. */
static int ensure_record(struct watch *w, bc_error *err)
{
    if (w->have_rec || bc_conn_is_dry_run(w->conn))
        return 0;
    /* One of another job would be in the way. */
    bc_job_record_drop(w->conn, w->disk);
    if (bc_job_record_make(w->conn, w->disk, w->id, NULL, &w->rec, err) < 0 ||
        bc_job_record_save(w->conn, w->disk, &w->rec, err) < 0)
        return -1;
    w->have_rec = true;
    return 0;
}

/* The VM may switch only to a file that its path still shows: one the
 * tool handed over as a descriptor is checked (the protocol node
 * "bc-TOKEN-fN" under the record's "bc-TOKEN-tN"). */
static int check_target(struct watch *w, bc_error *err)
{
    const char *t = w->have_rec ? w->rec.target : NULL;
    const char *dash = t ? strrchr(t, '-') : NULL;
    char node[64];

    if (!dash || dash[1] != 't' || bc_conn_is_dry_run(w->conn))
        return 0;
    snprintf(node, sizeof(node), "%.*s-f%s", (int)(dash - t), t, dash + 2);
    return bc_fdset_check(w->conn, node, err);
}

/*
 * Ask QEMU to end the job: pivot, finish a ready copy (cancelling a ready
 * mirror keeps the copy consistent), or cancel.  A reply that comes late
 * is owed, not failed: the wait goes on and reads it when it comes.
 */
static int request_end(struct watch *w, ask_kind ask, bc_error *err)
{
    json_object *args;
    bc_error tmp;
    int rc;

    w->ask = ask;
    bc_error_init(&tmp);
    if (ask == ASK_PIVOT && check_target(w, err) < 0) {
        w->ask = ASK_NONE;
        return -1;
    }
    /* The job-* commands where they mean the same.  Finishing a ready
     * mirror (a cancel that keeps the copy consistent) has no job-*
     * form: job-cancel is always the forced one. */
    if (ask == ASK_FINISH) {
        args = bc_json_add_str(json_object_new_object(), "device", w->id);
        rc = bc_conn_change(w->conn, "block-job-cancel", args, NULL, &tmp);
    } else {
        args = bc_json_add_str(json_object_new_object(), "id", w->id);
        rc = bc_conn_change(w->conn, ask == ASK_PIVOT ? "job-complete"
                            : "job-cancel", args, NULL, &tmp);
    }
    if (rc == 0) {
        w->req = REQ_DONE;
        return 0;
    }
    if (tmp.code == BC_ERR_NO_REPLY) {
        w->req = REQ_OWED;
        bc_strlcpy(w->req_id, bc_qmp_last_id(w->conn->qmp),
                   sizeof(w->req_id));
        return 0;
    }
    if (err)
        *err = tmp;
    return -1;
}

/*
 * QEMU refused to end the job.  Refused because it is not ready after
 * all (the READY was an earlier job's), the wait goes on; refused for
 * any other reason, that reason is the error.  A cancel QEMU refuses
 * because the job is ending anyway is no error either.
 */
static int refused(struct watch *w, bc_error *why, bc_error *err)
{
    bc_error tmp;

    bc_error_init(&tmp);
    if (resync(w, &tmp) < 0) {
        if (err)
            *err = tmp;
        return -1;
    }
    if (w->status == BC_JS_NULL || w->status == BC_JS_CONCLUDED ||
        (w->ask != ASK_CANCEL && !bc_job_status_is_ready(w->status) &&
         w->status != BC_JS_WAITING && w->status != BC_JS_PENDING &&
         w->status != BC_JS_ABORTING)) {
        w->ask = ASK_NONE;
        w->req = REQ_NONE;
        w->ready_reported = bc_job_status_is_ready(w->status);
        return 0;
    }
    if (err)
        *err = *why;
    return -1;
}

/* The allocation of node 'name' and, with 'chain', of its backing chain:
 * what QEMU reports as the images' actual size.  0 if not known. */
static unsigned long long allocated(json_object *nodes, const char *name,
                                    bool chain)
{
    json_object *node = bc_json_array_find(nodes, "node-name", name), *img;
    unsigned long long sum = 0;

    for (img = node ? bc_json_get(node, "image") : NULL; img;
         img = chain ? bc_json_get(img, "backing-image") : NULL)
        sum += bc_json_uint(img, "actual-size", 0);
    return sum;
}

/* How much data the copy holds and how much the source has, for a copy
 * of the tool's (the record names its node).  The source's is measured
 * once: a copy into an image with a backing file (shallow) copies only
 * the top image's data. */
static void measure(struct watch *w)
{
    json_object *nodes = NULL, *target;
    bc_error tmp;

    if (!w->have_rec || !w->rec.target || !w->rec.root)
        return;
    bc_error_init(&tmp);
    if (bc_conn_query(w->conn, "query-named-block-nodes", NULL, &nodes,
                      &tmp) < 0)
        return;
    w->written = allocated(nodes, w->rec.target, false);
    if (!w->data && w->written &&
        (target = bc_json_array_find(nodes, "node-name", w->rec.target)))
        w->data = allocated(nodes, w->rec.root,
                            !bc_json_str(bc_json_get(target, "image"),
                                         "backing-filename"));
    json_object_put(nodes);
}

static int query_progress(struct watch *w, bc_error *err)
{
    unsigned long long cur = w->cur, end = w->end;

    if (resync(w, err) < 0)
        return -1;
    measure(w);
    if (w->status != BC_JS_NULL && w->status != BC_JS_CONCLUDED &&
        (cur != w->cur || end != w->end || cur == 0))
        emit(w, BC_JOB_EVENT_PROGRESS, 0);
    return 0;
}

static const char *ask_words(ask_kind ask)
{
    return ask == ASK_PIVOT ? "the pivot" : ask == ASK_FINISH ? "the finish"
                                                              : "the abort";
}

static int interrupted(struct watch *w, bc_error *err)
{
    if (w->ask == ASK_NONE)
        return bc_set_error(err, BC_ERR_INTERRUPTED,
                            "interrupted while waiting for block job '%s'",
                            w->id);
    /* What is asked cannot be taken back: say so. */
    return bc_set_error(err, BC_ERR_UNCERTAIN,
                        "interrupted while %s of block job '%s' was under "
                        "way: how it ends is not known yet",
                        ask_words(w->ask), w->id);
}

/* Whether the interrupt descriptor is readable now. */
static bool interrupt_pending(const struct watch *w)
{
    struct pollfd pfd = { .fd = w->interrupt_fd, .events = POLLIN };

    return w->interrupt_fd >= 0 && poll(&pfd, 1, 0) > 0 &&
           (pfd.revents & (POLLIN | POLLHUP));
}

/* Make a running copy block guest writes until they reach both images
 * (QEMU 8.2's block-job-change). */
static int change_to_write_blocking(bc_conn *conn, const char *id,
                                    bc_error *err)
{
    json_object *args;

    if (bc_conn_need_feature(conn, BC_FEATURE_JOB_CHANGE,
                             "switch a running copy to synchronous writes",
                             err) < 0)
        return -1;
    args = bc_json_add_str(json_object_new_object(), "id", id);
    bc_json_add_str(args, "type", "mirror");
    bc_json_add_str(args, "copy-mode", "write-blocking");
    return bc_conn_change(conn, "block-job-change", args, NULL, err);
}

/* How often a wait with converge_ms looks at the copy's progress. */
#define CONVERGE_SAMPLE_MS 1000

/*
 * opts->converge_ms: is the copy converging?  Sampled every
 * CONVERGE_SAMPLE_MS while it is not ready.  Not converging (not ready
 * in time, or its remaining data not shrinking for a window), it is
 * switched to synchronous writes, or where that cannot be, said so.
 * Returns -1 only when the monitor failed (tmp says how).
 */
static int check_converging(struct watch *w, int64_t now, bc_error *tmp)
{
    const bc_wait_opts *o = w->opts;
    unsigned long long left;
    double secs;
    bool stuck;
    char *saved = w->error;
    bc_error why;

    if (w->conv_done || !o->converge_ms || now < w->conv_next ||
        !w->type || strcmp(w->type, "mirror") != 0 ||
        bc_job_status_is_ready(w->status))
        return 0;
    w->conv_next = now + CONVERGE_SAMPLE_MS * 1000;
    if (resync(w, tmp) < 0)
        return tmp->code == BC_ERR_NO_REPLY ? 0 : -1;
    if (w->status != BC_JS_RUNNING)
        return 0;
    left = w->end > w->cur ? w->end - w->cur : 0;
    if (!w->conv_t0) {
        w->conv_t0 = now;
        w->conv_cur0 = w->cur;
        w->conv_end0 = w->end;
    }
    if (w->conv_best_at == 0 || left < w->conv_best) {
        w->conv_best = left;
        w->conv_best_at = now;
        w->conv_best_cur = w->cur;
        w->conv_best_end = w->end;
    }
    stuck = now - w->conv_best_at >= (int64_t)BC_CONVERGE_WINDOW_MS * 1000;
    if (!stuck && now - w->conv_t0 < (int64_t)o->converge_ms * 1000)
        return 0;

    w->conv_done = true;
    /* The rates since the copy was nearest to done: what came before
     * (a first pass that skips zero ranges in no time) says nothing of
     * how fast it goes now.  A copy still shrinking when its time is up
     * was nearest to done just now: then since the first sample. */
    if (now - w->conv_best_at < 2 * CONVERGE_SAMPLE_MS * 1000) {
        w->conv_best_at = w->conv_t0;
        w->conv_best_cur = w->conv_cur0;
        w->conv_best_end = w->conv_end0;
    }
    secs = (double)(now - w->conv_best_at) / 1e6;
    bc_error_init(&why);
    if (change_to_write_blocking(w->conn, w->id, &why) < 0 &&
        why.code == BC_ERR_CLOSED) {
        *tmp = why;
        return -1;
    }
    if (secs > 0 && w->end > w->conv_best_end)
        w->dirty_rate = (unsigned long long)((w->end - w->conv_best_end) / secs);
    if (secs > 0 && w->cur > w->conv_best_cur)
        w->copy_rate = (unsigned long long)((w->cur - w->conv_best_cur) / secs);
    /* Why it could not be switched, for the event only. */
    w->error = bc_error_isset(&why) ? why.message : NULL;
    emit(w, bc_error_isset(&why) ? BC_JOB_EVENT_NOT_CONVERGING
                                 : BC_JOB_EVENT_SWITCHED, 0);
    w->error = saved;
    return 0;
}

/* What one look at a watched job comes to. */
enum { STEP_WAIT, STEP_DONE, STEP_AGAIN };

/* The monitor failed under the watch (tmp says how): what is known. */
static int watch_failed(struct watch *w, const bc_error *tmp, bc_error *err)
{
    if (tmp->code == BC_ERR_CLOSED) {
        if (w->ask != ASK_NONE)
            return bc_set_error(err, BC_ERR_UNCERTAIN,
                                "the monitor connection closed while %s of "
                                "block job '%s' was under way: how it ended "
                                "is not known", ask_words(w->ask), w->id);
        return bc_set_error(err, BC_ERR_CLOSED,
                            "QEMU went away while block job '%s' was running "
                            "(the monitor connection closed)", w->id);
    }
    if (err && !bc_error_isset(err))
        *err = *tmp;
    return -1;
}

/*
 * Take one look at the job with what has arrived: confirm what must be
 * confirmed, collect an owed reply, report, ask for the end it waits
 * for, sample progress.  STEP_DONE once it reached w->until or ended
 * (w->outcome says how), STEP_AGAIN to look again before waiting,
 * STEP_WAIT to wait for QEMU, -1 on failure.
 */
static int watch_step(struct watch *w, int64_t now, int64_t deadline,
                      bc_error *err)
{
    const bc_wait_opts *o = w->opts;
    bc_qmp *q = w->conn->qmp;
    bool progress = o->cb && o->progress_ms > 0;
    bc_error tmp;
    int rc;

    bc_error_init(&tmp);
    if (w->confirm && now >= w->next_retry) {
        /* A late answer is asked again a little later.  What came
         * before the answer is taken first. */
        if (resync(w, &tmp) == 0)
            return STEP_AGAIN;
        if (tmp.code != BC_ERR_NO_REPLY)
            return watch_failed(w, &tmp, err);
        w->next_retry = now + RETRY_MS * 1000;
    }
    if (w->req == REQ_OWED) {
        bc_error why;

        bc_error_init(&why);
        rc = bc_qmp_late_reply(q, w->req_id, &why);
        if (rc == 1)
            w->req = REQ_DONE;
        else if (rc < 0 && refused(w, &why, err) < 0)
            return -1;
    }

    if (!w->ready_reported && bc_job_status_is_ready(w->status)) {
        w->ready_reported = true;
        /* Everything is copied now: what that took. */
        if (progress)
            measure(w);
        emit(w, BC_JOB_EVENT_READY, w->ready_us);
    }
    if (!w->confirm && (w->status == BC_JS_CONCLUDED ||
                        w->status == BC_JS_NULL)) {
        if (w->switching) {
            w->ended = true;
            return STEP_DONE;
        }
        return conclude(w, &w->outcome, err) < 0 ? -1 : STEP_DONE;
    }
    if (w->paused_on_error && w->ask == ASK_NONE)
        return report_stopped(w, err);
    if (w->until == BC_WAIT_READY && bc_job_status_is_ready(w->status) &&
        !w->confirm) {
        w->outcome = BC_JOB_EVENT_READY;
        return STEP_DONE;
    }
    if (w->ask == ASK_NONE) {
        ask_kind ask = ASK_NONE;

        if (w->until == BC_WAIT_ABORT)
            ask = ASK_CANCEL;
        else if (bc_job_status_is_ready(w->status) &&
                 w->until == BC_WAIT_PIVOT)
            ask = ASK_PIVOT;
        else if (bc_job_status_is_ready(w->status) &&
                 w->until == BC_WAIT_FINISH)
            ask = ASK_FINISH;
        if (ask == ASK_PIVOT && ensure_record(w, err) < 0)
            return -1;
        if (ask != ASK_NONE) {
            if (request_end(w, ask, &tmp) < 0) {
                if (tmp.code == BC_ERR_CLOSED)
                    return watch_failed(w, &tmp, err);
                if (tmp.code != BC_ERR_QMP || refused(w, &tmp, err) < 0) {
                    if (err && !bc_error_isset(err))
                        *err = tmp;
                    return -1;
                }
            }
            return bc_conn_is_dry_run(w->conn) ? STEP_DONE : STEP_AGAIN;
        }
        if (deadline && now >= deadline)
            return bc_set_error(err, BC_ERR_TIMEOUT,
                                "timed out waiting for block job '%s'",
                                w->id);
        if (!w->plain && check_converging(w, now, &tmp) < 0)
            return watch_failed(w, &tmp, err);
    }
    if (progress && now >= w->next_progress) {
        if (query_progress(w, &tmp) < 0 && tmp.code != BC_ERR_NO_REPLY)
            return watch_failed(w, &tmp, err);
        w->next_progress = now + (int64_t)o->progress_ms * 1000;
        return STEP_AGAIN;
    }
    return STEP_WAIT;
}

/* How long the watch may sleep before it has something to do (-1: until
 * QEMU says something). */
static int watch_sleep_ms(const struct watch *w, int64_t deadline)
{
    const bc_wait_opts *o = w->opts;
    int timeout = -1, t;

    if (deadline && w->ask == ASK_NONE)
        timeout = bc_ms_until(deadline);
    if (o->cb && o->progress_ms > 0) {
        t = bc_ms_until(w->next_progress);
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    if (w->confirm && (timeout < 0 || timeout > RETRY_MS))
        timeout = RETRY_MS;
    if (o->converge_ms && !w->conv_done && w->ask == ASK_NONE &&
        !bc_job_status_is_ready(w->status)) {
        t = bc_ms_until(w->conv_next);
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    return timeout;
}

/* Whether an earlier watch of 'ws' has the same connection as ws[i]. */
static bool conn_seen(struct watch **ws, size_t i)
{
    size_t j;

    for (j = 0; j < i; j++)
        if (ws[j]->conn == ws[i]->conn)
            return true;
    return false;
}

/*
 * The one wait loop: wait on QMP events of every connection of 'ws' until
 * one of the watches is done (reached its w->until, or its job ended) or
 * fails; *which is its index.  Events go to every watch of their
 * connection, so none is lost to a watch that is not asked about.  The
 * interrupt descriptor of ws[0] counts in every phase; 'deadline' (0:
 * none) until the end is asked for.
 */
static int watch_any_loop(struct watch **ws, size_t n, int64_t deadline,
                          size_t *which, bc_error *err)
{
    struct watch *w0 = ws[0];
    bc_qmp_event *ev;
    bc_error tmp;
    size_t i, j;
    int rc;

    *which = 0;
    for (;;) {
        struct pollfd pfd[n + 1];
        bool again = false;
        int nfds = 0, timeout = -1;
        int64_t now;

        /* Before anything is asked, an interrupt wins over whatever has
         * arrived: a monitor that answers without a pause must not carry
         * the wait past it into a pivot. */
        for (i = 0; i < n; i++) {
            if (ws[i]->ask == ASK_NONE && !ws[i]->switching &&
                interrupt_pending(w0)) {
                *which = i;
                return interrupted(ws[i], err);
            }
        }

        /* What has arrived already, then what the sockets have now. */
        for (i = 0; i < n; i++) {
            bc_qmp *q = ws[i]->conn->qmp;

            if (conn_seen(ws, i))
                continue;
            bc_error_init(&tmp);
            while ((rc = bc_qmp_next_event(q, 0, &ev, &tmp)) == 1) {
                for (j = i; j < n; j++)
                    if (ws[j]->conn == ws[i]->conn)
                        handle_event(ws[j], ev);
                bc_qmp_event_free(ev);
            }
            if (rc < 0) {
                *which = i;
                return watch_failed(ws[i], &tmp, err);
            }
            if (bc_qmp_events_lost(q))
                for (j = i; j < n; j++)
                    if (ws[j]->conn == ws[i]->conn)
                        ws[j]->confirm = true;
        }

        now = bc_now_us();
        for (i = 0; i < n; i++) {
            rc = watch_step(ws[i], now, deadline, err);
            if (rc < 0 || rc == STEP_DONE) {
                *which = i;
                return rc < 0 ? -1 : 0;
            }
            again |= rc == STEP_AGAIN;
        }
        for (i = 0; i < n && !again; i++)
            /* A query's reply may have brought events with it. */
            again = bc_qmp_has_pending(ws[i]->conn->qmp);
        if (again)
            continue;

        for (i = 0; i < n; i++) {
            int t = watch_sleep_ms(ws[i], deadline);

            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
            if (conn_seen(ws, i))
                continue;
            pfd[nfds].fd = bc_qmp_fd(ws[i]->conn->qmp);
            pfd[nfds++].events = POLLIN;
        }
        /* The first watch the interrupt stops, if any. */
        for (i = 0; i < n && ws[i]->switching; i++)
            ;
        if (i < n && w0->interrupt_fd >= 0) {
            pfd[nfds].fd = w0->interrupt_fd;
            pfd[nfds++].events = POLLIN;
        }
        rc = poll(pfd, nfds, timeout);
        if (rc < 0 && errno != EINTR)
            return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                      "cannot wait for QEMU");
        if (i < n && w0->interrupt_fd >= 0 && rc > 0 &&
            (pfd[nfds - 1].revents & (POLLIN | POLLHUP))) {
            *which = i;
            return interrupted(ws[i], err);
        }
    }
}

static int watch_any(struct watch **ws, size_t n, int64_t deadline,
                     size_t *which, bc_error *err)
{
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        ws[i]->outcome = 0;
        ws[i]->peers = ws;
        ws[i]->npeers = n;
    }
    rc = watch_any_loop(ws, n, deadline, which, err);
    for (i = 0; i < n; i++) {
        ws[i]->peers = NULL;
        ws[i]->npeers = 0;
    }
    return rc;
}

/* Wait for one job, until opts->until. */
static int watch_run(struct watch *w, bc_job_event_type *outcome,
                     bc_error *err)
{
    const bc_wait_opts *o = w->opts;
    int64_t deadline = o->timeout_ms > 0
                           ? bc_now_us() + (int64_t)o->timeout_ms * 1000 : 0;
    size_t which;
    int rc;

    if (outcome)
        *outcome = 0;
    if (o->cb && o->progress_ms > 0)
        emit(w, BC_JOB_EVENT_PROGRESS, 0);
    rc = watch_any(&w, 1, deadline, &which, err);
    if (outcome)
        *outcome = w->outcome;
    return rc;
}

/* ---- watches of a group ------------------------------------------- */

static int disk_and_job(bc_conn *conn, const char *name, bc_disk *disk,
                        json_object **job, bc_error *err);

struct watch *bc_watch_new(bc_conn *conn, const char *name, int member,
                           const bc_wait_opts *opts, bc_error *err)
{
    struct watch *w = calloc(1, sizeof(*w));
    bc_disk *disk = calloc(1, sizeof(*disk));
    json_object *job = NULL;

    if (!w || !disk) {
        free(w);
        free(disk);
        bc_set_error_oom(err);
        return NULL;
    }
    if (disk_and_job(conn, name, disk, &job, err) < 0 ||
        watch_init(w, conn, disk, job, opts, err) < 0) {
        json_object_put(job);
        watch_clear(w);
        bc_disk_clear(disk);
        free(disk);
        free(w);
        return NULL;
    }
    json_object_put(job);
    w->name = name;
    w->member = member;
    return w;
}

void bc_watch_free(struct watch *w)
{
    if (!w)
        return;
    watch_clear(w);
    bc_disk_clear((bc_disk *)w->disk);
    free((bc_disk *)w->disk);
    free(w);
}

void bc_watch_set_until(struct watch *w, bc_wait_until until)
{
    w->until = until;
    /* An end asked for at one instant with others is seen through. */
    w->switching = until == BC_WAIT_PIVOT || until == BC_WAIT_FINISH;
    /* It was not watched for a while: what it is now is read first. */
    w->confirm = true;
}

int bc_watch_any(struct watch **ws, size_t n, int64_t deadline,
                 size_t *which, bc_error *err)
{
    return watch_any(ws, n, deadline, which, err);
}

bool bc_watch_ended(const struct watch *w)
{
    return w->ended;
}

int bc_watch_conclude(struct watch *w, bc_error *err)
{
    return conclude(w, &w->outcome, err);
}

bc_job_event_type bc_watch_outcome(const struct watch *w)
{
    return w->outcome;
}

bool bc_watch_ready(const struct watch *w)
{
    return bc_job_status_is_ready(w->status);
}

const char *bc_watch_job_id(const struct watch *w)
{
    return w->id;
}

unsigned long long bc_watch_speed(const struct watch *w)
{
    return w->speed;
}

void bc_watch_set_speed(struct watch *w, unsigned long long speed)
{
    w->speed = speed;
}

int bc_job_wait_concluded(bc_conn *conn, const char *id, int timeout_ms,
                          int interrupt_fd, char **error, bc_error *err)
{
    struct watch w;
    bc_wait_opts opts;
    int rc = -1;

    *error = NULL;
    bc_wait_opts_init(&opts);
    opts.timeout_ms = timeout_ms;
    memset(&w, 0, sizeof(w));
    w.conn = conn;
    w.opts = &opts;
    w.until = opts.until;
    w.interrupt_fd = interrupt_fd;
    w.plain = true;
    w.status = BC_JS_UNDEFINED;
    w.confirm = true;
    if (!(w.id = strdup(id))) {
        bc_set_error_oom(err);
        goto out;
    }
    rc = watch_run(&w, NULL, err);
    if (rc == 0) {
        *error = w.error;
        w.error = NULL;
    }
 out:
    watch_clear(&w);
    return rc;
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
    free(info->target);
    memset(info, 0, sizeof(*info));
}

void bc_wait_opts_init(bc_wait_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->until = BC_WAIT_END;
    opts->interrupt_fd = -1;
}

/* Resolve 'name', settle what earlier runs left, and find its job;
 * BC_ERR_NO_JOB when there is none. */
static int disk_and_job(bc_conn *conn, const char *name, bc_disk *disk,
                        json_object **job, bc_error *err)
{
    int rc;

    if (bc_disk_lookup(conn, name, disk, err) < 0 ||
        bc_job_tidy(conn, disk, false, err) < 0)
        return -1;
    rc = bc_job_find(conn, disk, job, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return bc_set_error(err, BC_ERR_NO_JOB, "No current block job for %s",
                            name);
    return 0;
}

/* The reason QEMU gives for a concluded job, from query-jobs. */
static char *job_error(bc_conn *conn, const char *id)
{
    json_object *job = NULL;
    char *e = NULL;
    bc_error ignored;

    bc_error_init(&ignored);
    if (bc_conn_find_job(conn, id, &job, &ignored) == 1)
        e = bc_strdup0(bc_json_str(job, "error"));
    json_object_put(job);
    return e;
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
    info->actively_synced = bc_json_get(job, "actively-synced")
                                ? bc_json_bool(job, "actively-synced", false)
                                : -1;
    if (!info->id)
        return bc_set_error(err, BC_ERR_PROTOCOL, "block job without an id");
    if (info->status && strcmp(info->status, "concluded") == 0)
        info->error = job_error(conn, info->id);
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

/* Which of 'disks' does job 'j' of 'jobs' work on? */
static const bc_disk *job_disk(bc_conn *conn, const bc_disk *disks,
                               size_t ndisks, json_object *jobs,
                               json_object *j, json_object *graph)
{
    const char *id = bc_json_str(j, "device");
    size_t i;

    for (i = 0; id && i < ndisks; i++)
        if (job_named_for(&disks[i], id))
            return &disks[i];
    for (i = 0; id && graph && i < ndisks; i++)
        if (bc_graph_job_on_disk(graph, id, &disks[i]))
            return &disks[i];
    return id && !graph ? job_disk_by_filter(conn, jobs, j, disks, ndisks)
                        : NULL;
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
    if (bc_disks_query(conn, &disks, &ndisks, err) < 0)
        goto out;
    bc_disks_name_targets(conn, disks, ndisks);
    if (bc_conn_query(conn, "query-block-jobs", NULL, &jobs, err) < 0)
        goto out;
    n = bc_json_len(jobs);
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (bc_graph_query(conn, &graph, err) < 0)
        goto out;
    if (!(list = calloc(n, sizeof(*list)))) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_object *j = json_object_array_get_idx(jobs, i);

        if (fill_info(conn, job_disk(conn, disks, ndisks, jobs, j, graph), j,
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

int bc_block_jobs_settle(bc_conn *conn, bc_error *err)
{
    bc_disk *disks = NULL;
    size_t ndisks = 0, i;
    int rc = -1;

    if (bc_disks_query(conn, &disks, &ndisks, err) < 0)
        return -1;
    bc_disks_name_targets(conn, disks, ndisks);
    for (i = 0; i < ndisks; i++)
        if (!disks[i].empty && bc_job_tidy(conn, &disks[i], true, err) < 0)
            goto out;
    rc = 0;
 out:
    bc_disks_free_internal(disks, ndisks);
    return rc;
}

/* The image a copy of the tool's copies into, from its record. */
static int copy_target(bc_conn *conn, const bc_disk *disk, bc_job_info *info,
                       bc_error *err)
{
    bc_job_record rec;
    json_object *nodes = NULL, *node;
    int rc;

    if ((rc = record_load(conn, disk, &rec, err)) <= 0)
        return rc;
    if (rec.target && strcmp(rec.job, info->id) == 0 &&
        (rc = bc_conn_named_nodes(conn, &nodes, err)) == 0 &&
        (node = bc_json_array_find(nodes, "node-name", rec.target)) &&
        bc_json_str(node, "file") &&
        !(info->target = strdup(bc_json_str(node, "file"))))
        rc = bc_set_error_oom(err);
    json_object_put(nodes);
    bc_job_record_clear(&rec);
    return rc;
}

int bc_block_job_info(bc_conn *conn, const char *name, bc_job_info *info,
                      bc_error *err)
{
    bc_disk disk = { 0 };
    json_object *job = NULL;
    int rc = -1;

    memset(info, 0, sizeof(*info));
    if (bc_disk_lookup(conn, name, &disk, err) < 0 ||
        bc_job_tidy(conn, &disk, true, err) < 0)
        goto out;
    rc = bc_job_find(conn, &disk, &job, err);
    if (rc <= 0)
        goto out;

    if (fill_info(conn, &disk, job, info, err) < 0 ||
        copy_target(conn, &disk, info, err) < 0) {
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

    if (outcome)
        *outcome = 0;
    if (!opts) {
        bc_wait_opts_init(&defaults);
        opts = &defaults;
    }
    if (disk_and_job(conn, name, &disk, &job, err) < 0 ||
        watch_init(&w, conn, &disk, job, opts, err) < 0)
        goto out;
    w.name = name;
    /* Make the record now, so that nothing stands between READY and the
     * pivot. */
    if (opts->until == BC_WAIT_PIVOT && w.status != BC_JS_CONCLUDED &&
        ensure_record(&w, err) < 0)
        goto out;
    rc = watch_run(&w, outcome, err);

 out:
    watch_clear(&w);
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}

int bc_block_job_end(bc_conn *conn, const char *name, unsigned int flags,
                     bc_job_event_type *outcome, bc_error *err)
{
    bool pivot = flags & BC_BLOCK_JOB_ABORT_PIVOT;
    bc_disk disk = { 0 };
    json_object *job = NULL;
    bc_wait_opts opts;
    struct watch w = { 0 };
    ask_kind ask;
    int rc = -1;

    if (outcome)
        *outcome = 0;
    if (flags & ~(BC_BLOCK_JOB_ABORT_ASYNC | BC_BLOCK_JOB_ABORT_PIVOT))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "unsupported flags 0x%x", flags);
    bc_wait_opts_init(&opts);
    opts.until = BC_WAIT_END;
    if (disk_and_job(conn, name, &disk, &job, err) < 0) {
        /* No job to end: what a copy that never got going left goes. */
        if (err && err->code == BC_ERR_NO_JOB)
            bc_job_tidy(conn, &disk, true, NULL);
        goto out;
    }
    if (watch_init(&w, conn, &disk, job, &opts, err) < 0)
        goto out;
    w.name = name;

    if (w.status == BC_JS_CONCLUDED) {
        /* Left behind by a run that did not wait: how did it end? */
        rc = watch_run(&w, outcome, err);
        goto out;
    }
    if (pivot) {
        if (!w.type || strcmp(w.type, "mirror") != 0) {
            bc_set_error(err, BC_ERR_INVALID_ARG, "block job '%s' is a %s "
                         "job; only a copy can pivot", w.id,
                         w.type ? w.type : "?");
            goto out;
        }
        if (!bc_job_status_is_ready(w.status)) {
            bc_set_error(err, BC_ERR_NOT_READY, "block job '%s' is not ready "
                         "to pivot yet", w.id);
            goto out;
        }
        if (ensure_record(&w, err) < 0)
            goto out;
        ask = ASK_PIVOT;
    } else {
        ask = w.type && !strcmp(w.type, "mirror") &&
              bc_job_status_is_ready(w.status) ? ASK_FINISH : ASK_CANCEL;
    }
    if (request_end(&w, ask, err) < 0)
        goto out;
    if ((flags & BC_BLOCK_JOB_ABORT_ASYNC) || bc_conn_is_dry_run(conn)) {
        rc = 0;
        goto out;
    }
    rc = watch_run(&w, outcome, err);

 out:
    watch_clear(&w);
    json_object_put(job);
    bc_disk_clear(&disk);
    return rc;
}

int bc_block_job_abort(bc_conn *conn, const char *name, unsigned int flags,
                       bc_error *err)
{
    bc_job_event_type outcome;
    bc_error tmp;
    int rc;

    bc_error_init(&tmp);
    rc = bc_block_job_end(conn, name, flags, &outcome, &tmp);
    /* A cancelled job is what was asked for here. */
    if (rc < 0 && tmp.code == BC_ERR_ABORTED &&
        !(flags & BC_BLOCK_JOB_ABORT_PIVOT))
        return 0;
    if (rc < 0 && err)
        *err = tmp;
    return rc;
}

int bc_block_job_set_synchronous(bc_conn *conn, const char *name,
                                 bc_error *err)
{
    bc_disk disk = { 0 };
    json_object *job = NULL;
    const char *type;
    int rc = -1;

    if (disk_and_job(conn, name, &disk, &job, err) < 0)
        goto out;
    type = bc_json_str(job, "type");
    if (!type || strcmp(type, "mirror") != 0) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "the job of disk '%s' is a %s "
                     "job, not a copy", bc_disk_label(&disk),
                     type ? type : "?");
        goto out;
    }
    rc = change_to_write_blocking(conn, bc_json_str(job, "device"), err);

 out:
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
