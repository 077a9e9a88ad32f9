/*
 * Files the tool creates and hands to QEMU as descriptors (see fdset.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdset.h"
#include "internal.h"
#include "jsonutil.h"

/* ---- creating and opening ------------------------------------------ */

/* Split the absolute 'path' into a new directory name and a pointer to
 * its last component. */
static char *split_path(const char *path, const char **base, bc_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (path[0] != '/' || !slash || !slash[1]) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "destination '%s' is not the absolute path of a file",
                     path);
        return NULL;
    }
    *base = slash + 1;
    if (!(dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
        bc_set_error_oom(err);
    return dir;
}

int bc_file_create(const char *path, uid_t uid, gid_t gid, struct stat *st,
                   bc_error *err)
{
    const char *base;
    struct stat dst;
    char *dir;
    int dfd = -1, fd = -1;

    if (!(dir = split_path(path, &base, err)))
        return -1;
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fstat(dfd, &dst) < 0) {
        bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                           "cannot open directory '%s' of destination '%s'",
                           dir, path);
        goto out;
    }
    /* In such a directory anyone may rename the file away and put
     * another in its place while the copy runs. */
    if ((dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX)) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "directory '%s' may be written by anyone and has no "
                     "sticky bit: another user could replace '%s' during "
                     "the copy", dir, path);
        goto out;
    }
    fd = openat(dfd, base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0) {
        if (errno == EEXIST)
            bc_set_error(err, BC_ERR_INVALID_ARG,
                         "destination '%s' already exists; use "
                         "--reuse-external to copy into it", path);
        else
            bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                               "cannot create '%s'", path);
        goto out;
    }
    if (fstat(fd, st) < 0 ||
        (geteuid() == 0 && uid != (uid_t)-1 && uid != 0 &&
         fchown(fd, uid, gid) < 0)) {
        bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                           "cannot give '%s' to QEMU's user", path);
        unlinkat(dfd, base, 0);
        close(fd);
        fd = -1;
    }

 out:
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return fd;
}

int bc_file_open_existing(const char *path, bool block, struct stat *st,
                          bc_error *err)
{
    /* A device node is made by root alone; /dev/disk/by-id and
     * /dev/mapper are links, and only root writes there. */
    int fd = open(path, O_RDWR | O_CLOEXEC | (block ? 0 : O_NOFOLLOW));

    if (fd < 0) {
        if (errno == ELOOP)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is a symbolic link: give "
                                "the path of the image itself", path);
        return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                  "cannot open '%s'", path);
    }
    if (fstat(fd, st) < 0 ||
        (block ? !S_ISBLK(st->st_mode) : !S_ISREG(st->st_mode))) {
        close(fd);
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "destination '%s' is not a %s", path,
                            block ? "block device" : "regular file");
    }
    return fd;
}

/* ---- the sets QEMU holds ------------------------------------------- */

struct set {
    long long id;
    char node[64];          /* the protocol node it was made for */
    dev_t dev;
    ino_t ino;
    const char *path;       /* borrowed from the query's answer */
};

/* "NODE DEV:INO PATH", as bc_fdset_add() writes it. */
static bool parse_note(const char *note, struct set *s)
{
    const char *sp = note ? strchr(note, ' ') : NULL;
    unsigned long long dev, ino;
    int used = 0;

    if (!sp || !bc_str_has_prefix(note, "bc-") ||
        (size_t)(sp - note) >= sizeof(s->node) ||
        sscanf(sp + 1, "%llu:%llu %n", &dev, &ino, &used) != 2 || !used ||
        sp[1 + used] != '/')
        return false;
    memcpy(s->node, note, (size_t)(sp - note));
    s->node[sp - note] = '\0';
    s->dev = (dev_t)dev;
    s->ino = (ino_t)ino;
    s->path = sp + 1 + used;
    return true;
}

/* The tool's sets, from query-fdsets; *answer keeps the strings.  Returns
 * the number of sets, or -1. */
static ssize_t load_sets(bc_conn *conn, json_object **answer,
                         struct set **sets, bc_error *err)
{
    size_t i, j, n = 0, cap;
    struct set *v;

    *sets = NULL;
    if (bc_conn_query(conn, "query-fdsets", NULL, answer, err) < 0)
        return -1;
    cap = bc_json_len(*answer);
    if (cap == 0)
        return 0;
    if (!(v = calloc(cap, sizeof(*v)))) {
        bc_set_error_oom(err);
        return -1;
    }
    for (i = 0; i < cap; i++) {
        json_object *set = json_object_array_get_idx(*answer, i);
        json_object *fds = bc_json_get(set, "fds");

        for (j = 0; j < bc_json_len(fds); j++) {
            if (parse_note(bc_json_str(json_object_array_get_idx(fds, j),
                                       "opaque"), &v[n])) {
                v[n++].id = bc_json_int(set, "fdset-id", -1);
                break;
            }
        }
    }
    *sets = v;
    return (ssize_t)n;
}

bool bc_fdset_names_node(json_object *fdsets, const char *node)
{
    size_t i, j;
    struct set s;

    for (i = 0; i < bc_json_len(fdsets); i++) {
        json_object *fds = bc_json_get(json_object_array_get_idx(fdsets, i),
                                       "fds");

        for (j = 0; j < bc_json_len(fds); j++)
            if (parse_note(bc_json_str(json_object_array_get_idx(fds, j),
                                       "opaque"), &s) &&
                strcmp(s.node, node) == 0)
                return true;
    }
    return false;
}

int bc_fdset_add(bc_conn *conn, int fd, const char *node,
                 const struct stat *st, const char *path, char *name,
                 int64_t *fdset, bc_error *err)
{
    json_object *args = json_object_new_object(), *ret = NULL;
    char *note;
    int rc;

    if (asprintf(&note, "%s %llu:%llu %s", node,
                 (unsigned long long)st->st_dev,
                 (unsigned long long)st->st_ino, path) < 0) {
        json_object_put(args);
        return bc_set_error_oom(err);
    }
    bc_json_add_str(args, "opaque", note);
    free(note);
    rc = bc_conn_change_fd(conn, "add-fd", args, fd, &ret, err);
    *fdset = rc == 0 ? bc_json_int(ret, "fdset-id", -1) : -1;
    json_object_put(ret);
    if (rc < 0)
        return -1;
    if (bc_conn_is_dry_run(conn)) {
        snprintf(name, 32, BC_FDSET_PREFIX "N");
        return 0;
    }
    if (*fdset < 0)
        return bc_set_error(err, BC_ERR_PROTOCOL,
                            "add-fd returned no fdset-id");
    snprintf(name, 32, BC_FDSET_PREFIX "%lld", (long long)*fdset);
    return 0;
}

void bc_fdset_remove(bc_conn *conn, int64_t fdset)
{
    json_object *args = json_object_new_object();

    bc_json_add_int(args, "fdset-id", fdset);
    bc_conn_change(conn, "remove-fd", args, NULL, NULL);
}

/* ---- naming files ---------------------------------------------------- */

static bool mentions_fdset(json_object *o)
{
    size_t i;

    switch (json_object_get_type(o)) {
    case json_type_string:
        return strstr(json_object_get_string(o), BC_FDSET_PREFIX) != NULL;
    case json_type_array:
        for (i = 0; i < json_object_array_length(o); i++)
            if (mentions_fdset(json_object_array_get_idx(o, i)))
                return true;
        return false;
    case json_type_object: {
        json_object_object_foreach(o, key, val) {
            (void)key;
            if (mentions_fdset(val))
                return true;
        }
        return false;
    }
    default:
        return false;
    }
}

static const struct set *find_set(const struct set *sets, size_t n,
                                  long long id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (sets[i].id == id)
            return &sets[i];
    return NULL;
}

/* The string 's' with the sets' names replaced, or NULL if none is. */
static char *renamed(const char *s, const struct set *sets, size_t n)
{
    const size_t plen = strlen(BC_FDSET_PREFIX);
    const char *at, *from = s;
    bool changed = false;
    char *out = NULL;
    size_t size = 0;
    FILE *f;

    if (!(f = open_memstream(&out, &size)))
        return NULL;
    while ((at = strstr(from, BC_FDSET_PREFIX))) {
        const char *digits = at + plen;
        const struct set *set;
        char *end;
        long long id = strtoll(digits, &end, 10);

        fwrite(from, 1, (size_t)(at - from), f);
        if (end == digits || *digits == '-' || *digits == '+' ||
            !(set = find_set(sets, n, id))) {
            fwrite(at, 1, plen, f);
            from = digits;
            continue;
        }
        if (at == s && !*end) {
            fputs(set->path, f);
        } else {
            /* Inside "json:{...}": the path as a JSON string's body. */
            json_object *str = json_object_new_string(set->path);
            const char *q = json_object_to_json_string_ext(
                str, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

            fwrite(q + 1, 1, strlen(q) - 2, f);
            json_object_put(str);
        }
        changed = true;
        from = end;
    }
    fputs(from, f);
    fclose(f);
    if (!changed) {
        free(out);
        return NULL;
    }
    return out;
}

static void rename_strings(json_object *o, const struct set *sets, size_t n)
{
    char *s;
    size_t i;

    switch (json_object_get_type(o)) {
    case json_type_string:
        if ((s = renamed(json_object_get_string(o), sets, n))) {
            json_object_set_string(o, s);
            free(s);
        }
        break;
    case json_type_array:
        for (i = 0; i < json_object_array_length(o); i++)
            rename_strings(json_object_array_get_idx(o, i), sets, n);
        break;
    case json_type_object: {
        json_object_object_foreach(o, key, val) {
            (void)key;
            rename_strings(val, sets, n);
        }
        break;
    }
    default:
        break;
    }
}

void bc_fdset_name_files(bc_conn *conn, json_object *tree)
{
    json_object *answer = NULL;
    struct set *sets = NULL;
    ssize_t n;
    bc_error ignored;

    if (!mentions_fdset(tree))
        return;
    bc_error_init(&ignored);
    if ((n = load_sets(conn, &answer, &sets, &ignored)) > 0)
        rename_strings(tree, sets, (size_t)n);
    free(sets);
    json_object_put(answer);
}

/* ---- checking and cleaning up ---------------------------------------- */

int bc_fdset_check(bc_conn *conn, const char *node, bc_error *err)
{
    json_object *answer = NULL;
    struct set *sets = NULL;
    struct stat st;
    ssize_t n, i;
    int ret = -1;

    if ((n = load_sets(conn, &answer, &sets, err)) < 0)
        goto out;
    ret = 0;
    for (i = 0; i < n; i++) {
        if (strcmp(sets[i].node, node) != 0)
            continue;
        if (stat(sets[i].path, &st) < 0 || st.st_dev != sets[i].dev ||
            st.st_ino != sets[i].ino)
            ret = bc_set_error(err, BC_ERR_DEST_CHANGED,
                               "'%s' is no longer the file the copy writes "
                               "(it was removed, renamed or replaced): the "
                               "VM is not switched to it", sets[i].path);
        break;
    }
 out:
    free(sets);
    json_object_put(answer);
    return ret;
}

void bc_fdset_cleanup(bc_conn *conn, const char *prefix, json_object *nodes)
{
    json_object *answer = NULL;
    struct set *sets = NULL;
    ssize_t n, i;
    bc_error ignored;

    bc_error_init(&ignored);
    n = load_sets(conn, &answer, &sets, &ignored);
    for (i = 0; i < n; i++)
        if (bc_str_has_prefix(sets[i].node, prefix) &&
            !bc_json_array_find(nodes, "node-name", sets[i].node))
            bc_fdset_remove(conn, sets[i].id);
    free(sets);
    json_object_put(answer);
}
