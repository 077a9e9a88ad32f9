/*
 * Disks: what query-block reports, and finding one by the name a user
 * gives it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "diskxml.h"
#include "graph.h"
#include "jsonutil.h"

/* Node names are at most 31 bytes; the tool's are "bc-TOKEN-tNNN". */
#define TOKEN_MAX 20

void bc_disk_clear(bc_disk *disk)
{
    if (!disk)
        return;
    free(disk->target);
    free(disk->qdev);
    free(disk->device_id);
    free(disk->drive);
    free(disk->node);
    free(disk->format);
    free(disk->filename);
    free(disk->backing_file);
    free(disk->backing_format);
    bc_strv_free(disk->chain);
    free(disk->bus);
    free(disk->token);
    memset(disk, 0, sizeof(*disk));
}

void bc_disks_free_internal(bc_disk *disks, size_t ndisks)
{
    size_t i;

    if (!disks)
        return;
    for (i = 0; i < ndisks; i++)
        bc_disk_clear(&disks[i]);
    free(disks);
}

static bool id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* "/machine/peripheral/virtio-disk0/virtio-backend" -> "virtio-disk0";
 * a plain id stays as it is; anonymous devices have none. */
static char *device_id_from_qdev(const char *qdev)
{
    static const char prefix[] = "/machine/peripheral/";
    const char *end;

    if (!qdev || !*qdev)
        return NULL;
    if (!strchr(qdev, '/'))
        return strdup(qdev);
    if (!bc_str_has_prefix(qdev, prefix))
        return NULL;
    qdev += strlen(prefix);
    end = strchr(qdev, '/');
    return end ? strndup(qdev, end - qdev) : strdup(qdev);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/*
 * A short name that stays the same for a disk across runs of the tool, so
 * that a later run finds the job an earlier one started.  Prefer the names
 * the VM's owner chose; hash what is too long or not a valid QEMU id.
 */
static char *make_token(const bc_disk *d)
{
    const char *base = d->drive ? d->drive : d->device_id ? d->device_id
                       : d->node ? d->node : d->qdev;
    const char *p;
    char *tok;

    if (!base)
        return strdup("disk");
    for (p = base; *p && id_char_ok(*p); p++)
        ;
    if (!*p && p - base <= TOKEN_MAX && p != base)
        return strdup(base);
    if (asprintf(&tok, "h%08x", fnv1a(base)) < 0)
        return NULL;
    return tok;
}

static char *nonempty_dup(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* QEMU's name for an image; a local file or device under a "json:" name
 * as its path, which is what the admin knows and types. */
static char *local_name(const char *name)
{
    char *path = bc_local_path_of_filename(name);

    return path ? path : nonempty_dup(name);
}

/* The file names of an image and of its backing images, top first. */
static char **chain_files(json_object *image)
{
    size_t n = 0, i;
    json_object *im;
    char **v;

    for (im = image; im && n < 256; im = bc_json_get(im, "backing-image"))
        n++;
    if (!(v = calloc(n + 1, sizeof(*v))))
        return NULL;
    for (i = 0, im = image; i < n; i++, im = bc_json_get(im, "backing-image")) {
        const char *f = bc_json_str(im, "filename");

        if (!(v[i] = f && *f ? local_name(f) : strdup(""))) {
            bc_strv_free(v);
            return NULL;
        }
    }
    return v;
}

static int parse_disk(json_object *dev, bc_disk *d, bc_error *err)
{
    json_object *ins = bc_json_get(dev, "inserted");
    json_object *image = bc_json_get(ins, "image");

    d->drive = nonempty_dup(bc_json_str(dev, "device"));
    d->qdev = nonempty_dup(bc_json_str(dev, "qdev"));
    d->device_id = device_id_from_qdev(d->qdev);
    d->removable = bc_json_bool(dev, "removable", false);
    d->empty = ins == NULL;
    if (ins) {
        d->node = nonempty_dup(bc_json_str(ins, "node-name"));
        d->readonly = bc_json_bool(ins, "ro", false);
        d->filename = local_name(bc_json_str(ins, "file"));
        d->format = nonempty_dup(bc_json_str(image, "format"));
        if (!d->format)
            d->format = nonempty_dup(bc_json_str(ins, "drv"));
        d->virtual_size = bc_json_uint(image, "virtual-size", 0);
        d->cluster_size = bc_json_uint(image, "cluster-size", 0);
        d->backing_file = nonempty_dup(bc_json_str(image,
                                                   "full-backing-filename"));
        if (!d->backing_file)
            d->backing_file = nonempty_dup(bc_json_str(image,
                                                       "backing-filename"));
        d->backing_format = nonempty_dup(bc_json_str(image,
                                                     "backing-filename-format"));
        if (image && !(d->chain = chain_files(image)))
            return bc_set_error_oom(err);
    }
    if (!(d->token = make_token(d)))
        return bc_set_error_oom(err);
    return 0;
}

int bc_disks_query(bc_conn *conn, bc_disk **disks, size_t *ndisks,
                   bc_error *err)
{
    json_object *ret = NULL;
    bc_disk *list = NULL;
    size_t i, n = 0;
    int rc = -1;

    *disks = NULL;
    *ndisks = 0;
    if (bc_conn_query(conn, "query-block", NULL, &ret, err) < 0)
        return -1;
    if (!json_object_is_type(ret, json_type_array)) {
        bc_set_error(err, BC_ERR_PROTOCOL, "query-block did not return a list");
        goto out;
    }
    n = json_object_array_length(ret);
    if (n && !(list = calloc(n, sizeof(*list)))) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < n; i++)
        if (parse_disk(json_object_array_get_idx(ret, i), &list[i], err) < 0)
            goto out;
    *disks = list;
    *ndisks = n;
    list = NULL;
    rc = 0;

 out:
    bc_disks_free_internal(list, n);
    json_object_put(ret);
    return rc;
}

const char *bc_disk_label(const bc_disk *d)
{
    if (d->target)
        return d->target;
    if (d->device_id)
        return d->device_id;
    if (d->drive)
        return d->drive;
    if (d->node)
        return d->node;
    return d->qdev ? d->qdev : "?";
}

static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (!a || !b)
        return false;
    if (strcmp(a, b) == 0)
        return true;
    return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

static void append(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);

    snprintf(buf + len, size - len, "%s%s", len ? ", " : "", s);
}

static bool names_explicitly(const bc_disk *d, const char *name)
{
    return (d->device_id && !strcmp(d->device_id, name)) ||
           (d->drive && !strcmp(d->drive, name)) ||
           (d->node && !strcmp(d->node, name)) ||
           (d->qdev && !strcmp(d->qdev, name));
}

static const char *identity(const bc_disk *d)
{
    return d->drive ? d->drive : d->qdev;
}

/* The one disk 'pred' accepts: its index, -1 if none, -2 if several (then
 * 'names' lists them). */
static ssize_t pick(bc_disk *disks, size_t n, const char *name,
                    bool (*pred)(const bc_disk *, const char *),
                    char *names, size_t len)
{
    ssize_t found = -1;
    size_t i, count = 0;

    for (i = 0; i < n; i++)
        if (pred(&disks[i], name)) {
            found = (ssize_t)i;
            count++;
        }
    if (count <= 1)
        return found;
    for (i = 0; i < n; i++)
        if (pred(&disks[i], name))
            append(names, len, bc_disk_label(&disks[i]));
    return -2;
}

static bool names_target(const bc_disk *d, const char *name)
{
    return d->target && !strcmp(d->target, name);
}

static bool names_file(const bc_disk *d, const char *name)
{
    return same_file(d->filename, name);
}

static bool is_alias(const bc_disk *d, const char *ident)
{
    return identity(d) && !strcmp(identity(d), ident);
}

int bc_disk_lookup(bc_conn *conn, const char *name, bc_disk *disk,
                   bc_error *err)
{
    bc_disk *disks = NULL;
    size_t n = 0, i;
    ssize_t found;
    char names[512] = "";
    bool named = false;
    int rc = -1;

    if (!name || !*name)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no disk given");
    bc_error_init(&conn->fault);
    if (bc_disks_query(conn, &disks, &n, err) < 0)
        return -1;

    /* A name the VM's owner gave wins over one the tool computes. */
    found = pick(disks, n, name, names_explicitly, names, sizeof(names));
    if (found == -1 && conn->alias_name && !strcmp(conn->alias_name, name)) {
        /* Named before on this connection: no need to walk QOM again. */
        found = pick(disks, n, conn->alias_disk, is_alias, names,
                     sizeof(names));
        if (found >= 0 && !disks[found].target)
            disks[found].target = strdup(name);
    }
    if (found == -1 && !strchr(name, '/')) {
        bc_disks_name_targets(conn, disks, n);
        named = true;
        found = pick(disks, n, name, names_target, names, sizeof(names));
        if (found >= 0 && identity(&disks[found])) {
            free(conn->alias_name);
            free(conn->alias_disk);
            conn->alias_name = strdup(name);
            conn->alias_disk = strdup(identity(&disks[found]));
        }
    }
    if (found == -1 && strchr(name, '/'))
        found = pick(disks, n, name, names_file, names, sizeof(names));

    if (found == -2) {
        bc_set_error(err, BC_ERR_NO_DISK,
                     "disk name '%s' is ambiguous: it matches %s", name, names);
        goto out;
    }
    if (found == -1) {
        if (!named)
            bc_disks_name_targets(conn, disks, n);
        /* Not found because QEMU did not answer is no usage error. */
        if (conn->fault.code) {
            if (err)
                *err = conn->fault;
            goto out;
        }
        bc_disks_sort(disks, n);
        for (i = 0; i < n; i++)
            append(names, sizeof(names), bc_disk_label(&disks[i]));
        bc_set_error(err, BC_ERR_NO_DISK,
                     "no disk '%s' in this VM (disks: %s)", name,
                     n ? names : "none");
        goto out;
    }

    *disk = disks[found];
    memset(&disks[found], 0, sizeof(disks[found]));
    rc = 0;

 out:
    bc_disks_free_internal(disks, n);
    return rc;
}

bool bc_disk_same(const bc_disk *a, const bc_disk *b)
{
    if (a->drive || b->drive)
        return a->drive && b->drive && strcmp(a->drive, b->drive) == 0;
    return a->qdev && b->qdev && strcmp(a->qdev, b->qdev) == 0;
}

char *bc_disk_job_id(const bc_disk *disk)
{
    char *id;

    if (asprintf(&id, "bc-%s", disk->token) < 0)
        return NULL;
    return id;
}

int bc_disks_list(bc_conn *conn, bc_disk_info **out, size_t *nout,
                  bc_error *err)
{
    bc_disk *disks = NULL;
    bc_disk_info *list = NULL;
    size_t n = 0, i;

    *out = NULL;
    *nout = 0;
    if (bc_disks_query(conn, &disks, &n, err) < 0)
        return -1;
    bc_disks_name_targets(conn, disks, n);
    bc_disks_sort(disks, n);
    if (n && !(list = calloc(n, sizeof(*list)))) {
        bc_disks_free_internal(disks, n);
        return bc_set_error_oom(err);
    }
    for (i = 0; i < n; i++) {
        bc_disk *d = &disks[i];
        bc_disk_info *o = &list[i];

        /* Move the strings over; what is left is freed below. */
        o->target = d->target;
        o->device = d->device_id ? d->device_id : d->qdev;
        if (o->device == d->device_id)
            d->device_id = NULL;
        else
            d->qdev = NULL;
        o->drive = d->drive;
        o->node = d->node;
        o->format = d->format;
        o->source = d->filename;
        o->bus = d->bus;
        d->target = d->drive = d->node = d->format = d->filename = NULL;
        d->bus = NULL;
        o->virtual_size = d->virtual_size;
        o->removable = d->removable;
        o->empty = d->empty;
        o->readonly = d->readonly;
    }
    bc_disks_free_internal(disks, n);
    *out = list;
    *nout = n;
    return 0;
}

void bc_disks_free(bc_disk_info *disks, size_t ndisks)
{
    size_t i;

    if (!disks)
        return;
    for (i = 0; i < ndisks; i++) {
        free(disks[i].target);
        free(disks[i].device);
        free(disks[i].drive);
        free(disks[i].node);
        free(disks[i].format);
        free(disks[i].source);
        free(disks[i].bus);
    }
    free(disks);
}
