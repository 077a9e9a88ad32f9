/*
 * The copy engine: bc_block_copy().
 *
 * Everything that can be checked without changing the VM is checked
 * first.  Then the destination is created (a local file by the tool
 * itself, handed to QEMU as a descriptor) and opened through QMP and the
 * mirror job started; if any of that fails, what was added is removed
 * again, so a failed call leaves the VM and the file system as they were.
 */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "codec.h"
#include "copy.h"
#include "diskxml.h"
#include "fdset.h"
#include "job.h"
#include "jsonutil.h"

#define GRANULARITY_MIN 512u
#define GRANULARITY_MAX (64u * 1024 * 1024)
#define CREATE_TIMEOUT_MS (5 * 60 * 1000)
/* How long a roll-back waits for a job it cancelled to end. */
#define UNDO_TIMEOUT_MS (30 * 1000)
#define MAX_UNDO 12
/* How often a change answered late is checked before it counts as
 * unknown. */
#define LATE_TRIES 5
/* A secret file larger than this is refused unread. */
#define SECRET_MAX (64 * 1024)
/* Where libvirt keeps the certificates QEMU uses by default. */
#define TLS_DIR_DEFAULT "/etc/pki/qemu"

static const bc_typed_param_spec copy_params[] = {
    { BC_BLOCK_COPY_BANDWIDTH, BC_TYPED_PARAM_ULLONG },
    { BC_BLOCK_COPY_GRANULARITY, BC_TYPED_PARAM_UINT },
    { BC_BLOCK_COPY_BUF_SIZE, BC_TYPED_PARAM_ULLONG },
    { BC_BLOCK_COPY_SECRET_FILE, BC_TYPED_PARAM_STRING },
    { BC_BLOCK_COPY_TLS_DIR, BC_TYPED_PARAM_STRING },
    { BC_BLOCK_COPY_TLS_HOSTNAME, BC_TYPED_PARAM_STRING },
    { NULL, 0 }
};

/*
 * One step of the roll-back.  A step goes on the list before the command
 * that needs it is sent: whether QEMU ran it or not (a reply that never
 * came), undoing it is safe, as QEMU refuses to delete what is not there.
 */
typedef enum {
    UNDO_FILE,              /* the file the tool created for the copy */
    UNDO_FDSET,             /* the fd set that hands it to QEMU */
    UNDO_OBJECT,            /* a secret or TLS object, or the record */
    UNDO_NODE,              /* a block node */
    UNDO_CREATE,            /* a blockdev-create job */
    UNDO_MIRROR,            /* the mirror job */
} undo_kind;

struct undo {
    undo_kind kind;
    char name[64];          /* node, object or job id */
    dev_t dev;              /* UNDO_FILE: the file made, if it was */
    ino_t ino;
    bool exists;
};

struct copy {
    bc_conn *conn;
    unsigned int flags;
    bc_disk disk;
    bc_dest dest;
    char *dest_name;            /* for messages */

    bool has_bandwidth;
    unsigned long long bandwidth;
    unsigned int granularity;   /* 0: QEMU's choice */
    unsigned long long buf_size;
    char *secret_file;          /* absolute: QEMU's cwd is not ours */
    char *secret;               /* its secret, base64, for QEMU */
    const char *tls_dir_param;  /* borrowed from the params */
    const char *tls_hostname;   /* borrowed from the params */
    char *tls_dir;              /* absolute: QEMU's cwd is not ours */

    char *format;               /* of the destination */
    bool exists;                /* the destination exists already */
    bool create;                /* the tool creates the image */
    char *job_id;
    char create_id[64];
    char fmt_node[32];
    char proto_node[32];
    char secret_id[32];
    char tls_id[32];

    int fd;                     /* the local destination, or -1 */
    struct stat st;             /* what 'fd' is */
    char file_name[64];         /* what QEMU opens: "/dev/fdset/N" or the
                                 * path */

    int saved_timeout_ms;       /* the monitor's, raised for a slow
                                 * protocol; 0: not raised */
    bool added_secret;
    bool added_tls;
    bc_job_record rec;

    struct undo undo[MAX_UNDO];
    int nundo;
};

/* ---- checks before anything changes -------------------------------- */

/* 'path' relative to the caller's working directory, as a new absolute
 * path: QEMU, which reads it, has a working directory of its own. */
static char *absolute_path(const char *path, const char *what,
                           bc_error *err)
{
    char cwd[PATH_MAX], *abs;

    if (path[0] == '/')
        abs = strdup(path);
    else if (!getcwd(cwd, sizeof(cwd)))
        return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                  "cannot resolve %s '%s'", what, path),
               NULL;
    else if (asprintf(&abs, "%s/%s", cwd, path) < 0)
        abs = NULL;
    if (!abs)
        bc_set_error_oom(err);
    return abs;
}

static int check_params(struct copy *c, const bc_typed_param *params,
                        int nparams, bc_error *err)
{
    unsigned long long ull;
    unsigned int ui;
    const char *s;
    struct stat st;
    int rc;

    if (bc_typed_params_validate(params, nparams, copy_params, err) < 0)
        return -1;

    rc = bc_typed_params_get_ullong(params, nparams, BC_BLOCK_COPY_BANDWIDTH,
                                    &ull, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (ull > LLONG_MAX)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "bandwidth must be less than %llu bytes/s",
                                (unsigned long long)LLONG_MAX + 1);
        c->has_bandwidth = true;
        c->bandwidth = ull;
    }

    rc = bc_typed_params_get_uint(params, nparams, BC_BLOCK_COPY_GRANULARITY,
                                  &ui, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (ui < GRANULARITY_MIN || ui > GRANULARITY_MAX || (ui & (ui - 1)))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "granularity must be a power of 2 between "
                                "512 B and 64 MiB, not %u", ui);
        c->granularity = ui;
    }

    rc = bc_typed_params_get_ullong(params, nparams, BC_BLOCK_COPY_BUF_SIZE,
                                    &ull, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (ull == 0 || ull > INT_MAX)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "buf-size must be between 1 and %d bytes, not "
                                "%llu", INT_MAX, ull);
        c->buf_size = ull;
    }

    rc = bc_typed_params_get_string(params, nparams, BC_BLOCK_COPY_SECRET_FILE,
                                    &s, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (!(c->secret_file = absolute_path(s, "secret file", err)))
            return -1;
        if (access(c->secret_file, R_OK) < 0 || stat(c->secret_file, &st) < 0)
            return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                      "cannot read secret file '%s'",
                                      c->secret_file);
        if (st.st_mode & 044)
            bc_conn_warn(c->conn, "secret file '%s' may be read by others "
                         "(mode %04o): 'chmod 600' it", c->secret_file,
                         (unsigned)(st.st_mode & 07777));
    }

    if (bc_typed_params_get_string(params, nparams, BC_BLOCK_COPY_TLS_DIR,
                                   &c->tls_dir_param, err) < 0 ||
        bc_typed_params_get_string(params, nparams,
                                   BC_BLOCK_COPY_TLS_HOSTNAME,
                                   &c->tls_hostname, err) < 0)
        return -1;
    if (c->tls_dir_param && !*c->tls_dir_param)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "the '%s' parameter is "
                            "empty", BC_BLOCK_COPY_TLS_DIR);
    if (c->tls_hostname && !*c->tls_hostname)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "the '%s' parameter is "
                            "empty", BC_BLOCK_COPY_TLS_HOSTNAME);
    return 0;
}

/* Is 'name' in directory 'dir' a file we can read?  0, or -1 with errno. */
static int readable_in(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    return access(path, R_OK);
}

/*
 * The certificates of a TLS destination, checked before anything
 * changes: a missing CA would otherwise show only as QEMU refusing the
 * object half way through the copy.  QEMU reads the files itself, by
 * the names it gives them for a client.
 */
static int check_tls(struct copy *c, bc_error *err)
{
    const char *dir = c->tls_dir_param ? c->tls_dir_param : TLS_DIR_DEFAULT;
    struct stat st;
    bool cert, key;

    if (!bc_dest_uses_tls(&c->dest)) {
        /* A name to check the certificate against means the caller
         * expects TLS: never connect in the clear instead. */
        if (c->tls_hostname)
            return bc_set_error(err, BC_ERR_INVALID_ARG, "a TLS host name "
                                "('%s') is given, but destination '%s' does "
                                "not use TLS (tls='yes' on its <source>)",
                                c->tls_hostname, c->dest_name);
        return 0;
    }
    if (c->tls_hostname) {
        free(c->dest.tls_hostname);
        if (!(c->dest.tls_hostname = strdup(c->tls_hostname)))
            return bc_set_error_oom(err);
    }

    if (!(c->tls_dir = absolute_path(dir, "TLS directory", err)))
        return -1;

    if (stat(c->tls_dir, &st) < 0)
        return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                  "cannot use TLS directory '%s' of "
                                  "destination '%s'", c->tls_dir,
                                  c->dest_name);
    if (!S_ISDIR(st.st_mode))
        return bc_set_error(err, BC_ERR_INVALID_ARG, "TLS directory '%s' of "
                            "destination '%s' is not a directory",
                            c->tls_dir, c->dest_name);
    if (readable_in(c->tls_dir, "ca-cert.pem") < 0)
        return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                  "TLS directory '%s' has no readable "
                                  "'ca-cert.pem' (the CA certificate that "
                                  "signed the server's)", c->tls_dir);
    /* A client certificate is optional, but only with its key. */
    cert = readable_in(c->tls_dir, "client-cert.pem") == 0;
    key = readable_in(c->tls_dir, "client-key.pem") == 0;
    if (cert != key)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "TLS directory '%s' "
                            "has '%s' but no readable '%s'", c->tls_dir,
                            cert ? "client-cert.pem" : "client-key.pem",
                            cert ? "client-key.pem" : "client-cert.pem");
    return 0;
}

/*
 * A QEMU that waits for an incoming migration, or has handed its disks to
 * the destination of one, keeps its images inactive: it neither writes
 * them nor may start a job on them.  QEMU 10.0 says so per node.
 */
static int check_active(struct copy *c, const char *name, bc_error *err)
{
    json_object *nodes = NULL, *node;
    bool has, inactive;

    if (!c->disk.node ||
        bc_conn_has_feature(c->conn, BC_FEATURE_NODE_ACTIVE, &has, err) < 0)
        return c->disk.node ? -1 : 0;
    if (!has)
        return 0;
    if (bc_conn_named_nodes(c->conn, &nodes, err) < 0)
        return -1;
    node = bc_json_array_find(nodes, "node-name", c->disk.node);
    inactive = node && !bc_json_bool(node, "active", true);
    json_object_put(nodes);
    if (inactive)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "disk '%s' is inactive: this QEMU waits for an "
                            "incoming migration or has handed the disk to "
                            "the destination of one, so there is nothing "
                            "to copy here", name);
    return 0;
}

static int check_disk(struct copy *c, const char *name, bc_error *err)
{
    json_object *job = NULL;
    int rc;

    if (bc_disk_lookup(c->conn, name, &c->disk, err) < 0)
        return -1;
    if (c->disk.empty)
        return bc_set_error(err, BC_ERR_NO_DISK,
                            "disk '%s' has no medium: there is nothing to copy",
                            name);
    if (c->disk.removable)
        return bc_set_error(err, BC_ERR_NO_DISK,
                            "disk '%s' is a removable drive (CD-ROM or "
                            "floppy) and cannot be copied", name);
    if (!c->disk.node && !c->disk.drive)
        return bc_set_error(err, BC_ERR_NO_DISK,
                            "disk '%s' has no block node to copy from", name);
    if (check_active(c, name, err) < 0)
        return -1;

    if (!(c->job_id = bc_disk_job_id(&c->disk)))
        return bc_set_error_oom(err);
    rc = bc_job_find(c->conn, &c->disk, &job, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        const char *id = bc_json_str(job, "device");
        const char *status = bc_json_str(job, "status");

        /* A copy of the tool's that ended, left by a run that was killed
         * or that returned at once (--async): it is settled once the new
         * copy is known to be valid. */
        bool stale = id && status && !strcmp(id, c->job_id) &&
                     !strcmp(status, "concluded");

        if (!stale)
            bc_set_error(err, BC_ERR_JOB_EXISTS,
                         "disk '%s' already has a block job: '%s' (%s, %s)",
                         name, id, bc_json_str(job, "type"), status);
        json_object_put(job);
        if (!stale)
            return -1;
    }
    return 0;
}

/* Is 'path' one of the images the disk runs on? */
static bool is_source_image(const struct copy *c, const struct stat *dst)
{
    struct stat st;
    char **f;

    /* A device is the same under any of its names. */
    for (f = c->disk.chain; f && *f; f++)
        if (stat(*f, &st) == 0 &&
            ((st.st_dev == dst->st_dev && st.st_ino == dst->st_ino) ||
             (S_ISBLK(st.st_mode) && S_ISBLK(dst->st_mode) &&
              st.st_rdev == dst->st_rdev)))
            return true;
    return false;
}

static int check_local_dest(struct copy *c, bc_error *err)
{
    const char *path = c->dest.path;
    bool block = c->dest.type == BC_DEST_BLOCK;
    bool reuse = c->flags & BC_BLOCK_COPY_REUSE_EXT;
    struct stat lst, st;
    char *dir, *slash;

    if (path[0] != '/')
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "destination '%s' is not an absolute path", path);

    /* lstat(): a dangling symlink counts as existing, so the tool never
     * creates a file through a link it did not make. */
    if (lstat(path, &lst) < 0) {
        if (errno != ENOENT)
            return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                      "cannot check destination '%s'", path);
        c->exists = false;
    } else {
        c->exists = true;
    }

    if (c->exists) {
        if (stat(path, &st) < 0)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is a symbolic link to a "
                                "missing file; it is never followed to "
                                "create one", path);
        if (is_source_image(c, &st))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is the disk's own image", path);
        if (!reuse)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' already exists; use "
                                "--reuse-external to copy into it", path);
        if (block && !S_ISBLK(st.st_mode))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is not a block device", path);
        if (!block && S_ISBLK(st.st_mode))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is a block device; use "
                                "--blockdev (or <disk type='block'>)", path);
        if (!block && !S_ISREG(st.st_mode))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is not a regular file", path);
        return 0;
    }

    if (reuse)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "destination '%s' does not exist, but "
                            "--reuse-external needs an existing image", path);
    if (block)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "block device '%s' does not exist", path);

    if (!(dir = strdup(path)))
        return bc_set_error_oom(err);
    slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "directory '%s' of destination '%s' does not exist",
                     dir, path);
        free(dir);
        return -1;
    }
    free(dir);
    return 0;
}

/*
 * A network destination that names an image of the disk's own chain,
 * as QEMU reports their file names, or as a file of this machine: a
 * copy onto itself would overwrite the disk it reads, and creating it
 * would truncate it first.
 */
static int check_network_self(struct copy *c, bc_error *err)
{
    const char *local = bc_dest_local_path(&c->dest);
    char *dst = bc_dest_location(&c->dest), *src;
    struct stat st;
    char **f;
    bool same = false;

    /* Over ssh to this machine, the path names a file here too. */
    if (local && stat(local, &st) == 0)
        same = is_source_image(c, &st);

    for (f = c->disk.chain; dst && f && *f && !same; f++) {
        src = bc_location_of_filename(*f);
        same = src && strcmp(src, dst) == 0;
        free(src);
    }
    free(dst);
    if (same)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "destination '%s' is the disk's own image",
                            c->dest_name);
    return 0;
}

static unsigned long long node_size(struct copy *c, const char *name,
                                    bc_error *err)
{
    json_object *nodes = NULL;
    unsigned long long size;

    if (bc_conn_named_nodes(c->conn, &nodes, err) < 0)
        return 0;
    size = bc_json_uint(bc_json_get(bc_json_array_find(nodes, "node-name",
                                                       name), "image"),
                        "virtual-size", 0);
    json_object_put(nodes);
    return size;
}

/*
 * The size of an image to copy into ('have' bytes, 0: not known) against
 * the disk's: a qcow2 image (or any with a format) must have the disk's
 * virtual size; a raw one at least its size, and a file no more (one of
 * fixed size, a device, a LUN or an export, is used for the disk's size
 * only).  One rule for the checks before anything changes and for the
 * node QEMU opened.
 */
static int check_reused_size(struct copy *c, unsigned long long have,
                             bc_error *err)
{
    unsigned long long want = c->disk.virtual_size;

    if (!have || !want)
        return 0;
    if (strcmp(c->format, "raw") != 0) {
        if (have != want)
            return bc_set_error(err, BC_ERR_INVALID_ARG, "destination '%s' "
                                "has a virtual size of %llu bytes, but the "
                                "disk has %llu bytes", c->dest_name, have,
                                want);
        return 0;
    }
    if (have < want)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "destination '%s' (%llu "
                            "bytes) is smaller than the disk (%llu bytes)",
                            c->dest_name, have, want);
    if (have > want && c->dest.type == BC_DEST_FILE)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "destination '%s' is "
                            "%llu bytes, but the disk is %llu bytes",
                            c->dest_name, have, want);
    return 0;
}

/* The size of a local image to copy into, before QEMU opens it: a raw
 * file's or device's, a qcow2 header's virtual size; 0 for other formats
 * (QEMU tells once it opened the image). */
static unsigned long long local_image_size(const struct copy *c)
{
    unsigned char hdr[32];
    unsigned long long size = 0;
    struct stat st;
    int fd, i;

    /* Never through a link to a file: open_dest() refuses that, and says
     * why.  A device is often named by one (/dev/disk/by-id). */
    if ((fd = open(c->dest.path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                   (c->dest.type == BC_DEST_BLOCK ? 0 : O_NOFOLLOW))) < 0)
        return 0;
    if (fstat(fd, &st) == 0 && !strcmp(c->format, "raw")) {
        if (S_ISREG(st.st_mode))
            size = (unsigned long long)st.st_size;
        else if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0)
            size = 0;
    } else if (!strcmp(c->format, "qcow2") &&
               pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
               !memcmp(hdr, "QFI\xfb", 4)) {
        for (i = 24; i < 32; i++)
            size = size << 8 | hdr[i];
    }
    close(fd);
    return size;
}

/*
 * QEMU's creation over ssh, gluster and nfs truncates an image that is
 * there already.  Before creating one, open the destination read-only
 * and close it again: if it opens, it exists, and is refused as an
 * existing file is.  Only an error in the protocol's words for "no such
 * image" means it is free; any other is reported.  Read-only, so also
 * in a dry run.
 */
/* The object QEMU reads the destination's secret from. */
static json_object *secret_args(const struct copy *c, const char *id,
                                bool hidden)
{
    json_object *args = json_object_new_object();

    bc_json_add_str(args, "qom-type", "secret");
    bc_json_add_str(args, "id", id);
    bc_json_add_str(args, "data", hidden ? "(hidden)" : c->secret);
    bc_json_add_str(args, "format", "base64");
    return args;
}

/* The TLS credentials of the connection: QEMU reads the certificates
 * from the directory. */
static json_object *tls_args(const struct copy *c, const char *id)
{
    json_object *args = json_object_new_object();

    bc_json_add_str(args, "qom-type", "tls-creds-x509");
    bc_json_add_str(args, "id", id);
    bc_json_add_str(args, "endpoint", "client");
    bc_json_add_str(args, "dir", c->tls_dir);
    bc_json_add_bool(args, "verify-peer", true);
    return args;
}

/* Run 'cmd' with the object or node named 'key': 'name', ignoring the
 * outcome (taking a probe's pieces away). */
static void drop(bc_qmp *q, const char *cmd, const char *key,
                 const char *name)
{
    json_object *args = bc_json_add_str(json_object_new_object(), key, name);

    bc_qmp_execute(q, cmd, args, NULL, NULL);
    json_object_put(args);
}

static void explain_connect_error(struct copy *c, bc_error *err);

static int probe_network_dest(struct copy *c, bc_error *err)
{
    const char *missing = bc_dest_missing_words(&c->dest);
    /* The copy opens an image to copy into and checks its size itself;
     * a dry run must ask the same. */
    bool reuse = !c->create && bc_conn_is_dry_run(c->conn);
    bc_qmp *q = c->conn->qmp;
    json_object *opts;
    char node[48], fmt[56] = "", secret[56] = "", tls[56] = "";
    unsigned long long have = 0;
    bool opened;
    bc_error tmp;
    int rc;

    /* A new image: whether one is there.  One to copy into: that it
     * opens, and its size. */
    if (!(c->create && missing) && !reuse)
        return 0;
    /* Its own names: a probe that a killed run left is no obstacle.  The
     * objects the connection needs (rbd's cephx key, NBD's TLS
     * credentials) are there for as long as the probe runs. */
    snprintf(node, sizeof(node), "bc-%s-p%ld", c->disk.token,
             (long)getpid());
    if (c->secret) {
        snprintf(secret, sizeof(secret), "%s-s", node);
        opts = secret_args(c, secret, false);
        rc = bc_qmp_execute(q, "object-add", opts, NULL, err);
        json_object_put(opts);
        if (rc < 0) {
            secret[0] = '\0';
            goto out;
        }
    }
    if (bc_dest_uses_tls(&c->dest)) {
        snprintf(tls, sizeof(tls), "%s-t", node);
        opts = tls_args(c, tls);
        rc = bc_qmp_execute(q, "object-add", opts, NULL, err);
        json_object_put(opts);
        if (rc < 0) {
            tls[0] = '\0';
            goto out;
        }
    }
    if (!(opts = bc_dest_protocol_options(&c->dest, node,
                                          secret[0] ? secret : NULL,
                                          tls[0] ? tls : NULL, err)))
        goto out;
    bc_json_add_bool(opts, "read-only", true);
    bc_error_init(&tmp);
    rc = bc_qmp_execute(q, "blockdev-add", opts, NULL, &tmp);
    json_object_put(opts);
    /* Added, or perhaps added: QEMU did not say no. */
    opened = rc == 0 || tmp.code != BC_ERR_QMP;
    /* The image's size: of the format layer, unless it is raw. */
    if (rc == 0 && reuse && strcmp(c->format, "raw") != 0) {
        snprintf(fmt, sizeof(fmt), "%s-f", node);
        opts = bc_json_add_str(json_object_new_object(), "driver", c->format);
        bc_json_add_str(opts, "node-name", fmt);
        bc_json_add_str(opts, "file", node);
        bc_json_add_bool(opts, "read-only", true);
        if (bc_qmp_execute(q, "blockdev-add", opts, NULL, &tmp) < 0) {
            fmt[0] = '\0';
            rc = -1;
        }
        json_object_put(opts);
    }
    if (rc == 0 && reuse)
        have = node_size(c, fmt[0] ? fmt : node, &tmp);
    if (fmt[0])
        drop(q, "blockdev-del", "node-name", fmt);
    if (opened)
        drop(q, "blockdev-del", "node-name", node);
    if (reuse && rc < 0) {
        /* As the copy would say it. */
        *err = tmp;
        explain_connect_error(c, err);
    } else if (reuse)
        check_reused_size(c, have, err);
    else if (rc == 0)
        bc_set_error(err, BC_ERR_INVALID_ARG, "destination '%s' already "
                     "exists; use --reuse-external to copy into it",
                     c->dest_name);
    else if (tmp.code != BC_ERR_QMP ||
             fnmatch(missing, tmp.message, 0) != 0)
        bc_set_error(err, tmp.code, "cannot tell whether destination '%s' "
                     "exists: %s", c->dest_name, tmp.message);

 out:
    if (tls[0])
        drop(q, "object-del", "id", tls);
    if (secret[0])
        drop(q, "object-del", "id", secret);
    return bc_error_isset(err) ? -1 : 0;
}

static int check_network_dest(struct copy *c, bc_error *err)
{
    bc_qmp *q = c->conn->qmp;

    /* Opening and closing an image there may keep QEMU busy longer than
     * a command usually takes. */
    if (bc_dest_slow_ms(&c->dest) > bc_qmp_command_timeout(q)) {
        c->saved_timeout_ms = bc_qmp_command_timeout(q);
        bc_qmp_set_timeouts(q, 0, 0, bc_dest_slow_ms(&c->dest));
    }
    if (check_network_self(c, err) < 0 ||
        bc_dest_find_host_key(&c->dest, err) < 0)
        return -1;
    return probe_network_dest(c, err);
}

/* The format of an existing image, from the magic of its header. */
static const char *probe_format(const char *path)
{
    static const struct { const char *magic; size_t len; const char *fmt; }
    magics[] = {
        { "QFI\xfb", 4, "qcow2" },
        { "QED\0", 4, "qed" },
        { "KDMV", 4, "vmdk" },
        { "vhdxfile", 8, "vhdx" },
        { "conectix", 8, "vpc" },
    };
    unsigned char buf[8] = { 0 };
    size_t i;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return NULL;
    for (i = 0; i < BC_ARRAY_SIZE(magics); i++)
        if ((size_t)n >= magics[i].len &&
            memcmp(buf, magics[i].magic, magics[i].len) == 0) {
            /* qcow version 1 shares the magic; QEMU tells them apart. */
            return magics[i].fmt;
        }
    return "raw";
}

static int choose_format(struct copy *c, bc_error *err)
{
    const char *fmt = c->dest.format;
    bool reuse = c->flags & BC_BLOCK_COPY_REUSE_EXT;

    if (!fmt && reuse) {
        if (c->dest.type == BC_DEST_NETWORK) {
            fmt = "raw";
        } else if ((fmt = probe_format(c->dest.path))) {
            bc_conn_warn(c->conn, "no format given for '%s'; its header says "
                         "'%s': using that (pass --format to be explicit)",
                         c->dest.path, fmt);
        } else {
            return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                      "cannot read destination '%s'",
                                      c->dest.path);
        }
    }
    if (!fmt)
        fmt = c->disk.format;
    if (!bc_format_is_writable(fmt))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "cannot create a destination in format '%s'; "
                            "give one with --format", fmt ? fmt : "?");
    if (!(c->format = strdup(fmt)))
        return bc_set_error_oom(err);

    if ((c->flags & BC_BLOCK_COPY_SHALLOW) && c->create &&
        strcmp(c->format, "raw") == 0 && c->disk.backing_file)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "a shallow copy keeps the backing file '%s', "
                            "which a raw destination cannot have; use a "
                            "format such as qcow2, or a full copy",
                            c->disk.backing_file);
    return 0;
}

/* Pick node names that are not in use yet: "bc-TOKEN-tN", "bc-TOKEN-fN",
 * nor named by an fd set QEMU still lists; the objects of the same copy
 * are "bc-TOKEN-sN" (secret) and "bc-TOKEN-xN" (TLS), removed with node
 * "fN" (see job.c). */
static int choose_node_names(struct copy *c, bc_error *err)
{
    json_object *nodes = NULL, *fdsets = NULL;
    int gen;

    if (bc_conn_named_nodes(c->conn, &nodes, err) < 0 ||
        bc_conn_query(c->conn, "query-fdsets", NULL, &fdsets, err) < 0) {
        json_object_put(nodes);
        return -1;
    }
    for (gen = 1; gen < 1000; gen++) {
        snprintf(c->fmt_node, sizeof(c->fmt_node), "bc-%s-t%d",
                 c->disk.token, gen);
        snprintf(c->proto_node, sizeof(c->proto_node), "bc-%s-f%d",
                 c->disk.token, gen);
        snprintf(c->secret_id, sizeof(c->secret_id), "bc-%s-s%d",
                 c->disk.token, gen);
        snprintf(c->tls_id, sizeof(c->tls_id), "bc-%s-x%d",
                 c->disk.token, gen);
        if (!bc_json_array_find(nodes, "node-name", c->fmt_node) &&
            !bc_json_array_find(nodes, "node-name", c->proto_node) &&
            !bc_fdset_names_node(fdsets, c->proto_node))
            break;
    }
    json_object_put(nodes);
    json_object_put(fdsets);
    if (gen == 1000)
        return bc_set_error(err, BC_ERR_INTERNAL,
                            "no free node name for disk '%s'", c->disk.token);
    return 0;
}

/* ---- changing things ----------------------------------------------- */

static struct undo *push_undo(struct copy *c, undo_kind kind, const char *name)
{
    struct undo *u = &c->undo[c->nundo < MAX_UNDO ? c->nundo++ : MAX_UNDO - 1];

    memset(u, 0, sizeof(*u));
    u->kind = kind;
    bc_strlcpy(u->name, name, sizeof(u->name));
    return u;
}

/* Did a change whose reply never came take effect?  1 yes, 0 no, -1
 * unknown.  QEMU answers in order: once a later query is answered, the
 * change has run or failed. */
static int took_effect(struct copy *c, undo_kind kind, const char *name)
{
    json_object *found = NULL;
    bc_error tmp;
    int rc = -1, tries;

    /* A QEMU that answered late may answer the query late too: ask a
     * few times before calling it unknown. */
    for (tries = 0; tries < LATE_TRIES && rc < 0; tries++) {
        bc_error_init(&tmp);
        if (kind == UNDO_MIRROR) {
            if (bc_conn_find_job(c->conn, name, &found, &tmp) >= 0)
                rc = found != NULL;
        } else if (bc_conn_named_nodes(c->conn, &found, &tmp) == 0) {
            rc = bc_json_array_find(found, "node-name", name) != NULL;
        }
        json_object_put(found);
        found = NULL;
        if (tmp.code != BC_ERR_NO_REPLY)
            break;
    }
    return rc;
}

/*
 * Send a change that adds 'name' (of 'kind', undone by the roll-back).
 * A node or job whose reply comes late is no failure once QEMU shows
 * that it is there: the copy goes on.
 */
static int add_thing(struct copy *c, undo_kind kind, const char *name,
                     const char *cmd, json_object *args, bc_error *err)
{
    const char *id;
    bc_error tmp;

    push_undo(c, kind, name);
    bc_error_init(&tmp);
    if (bc_conn_change(c->conn, cmd, args, NULL, &tmp) == 0)
        return 0;
    if (tmp.code == BC_ERR_NO_REPLY && kind != UNDO_OBJECT) {
        id = bc_qmp_last_id(c->conn->qmp);
        switch (took_effect(c, kind, name)) {
        case 1:
            bc_conn_warn(c->conn, "QEMU answered '%s' late, but it ran it",
                         cmd);
            return 0;
        case 0:
            /* Its answer has come by now: the reason, if there is one. */
            bc_error_init(&tmp);
            if (bc_qmp_late_reply(c->conn->qmp, id, &tmp) == 0)
                bc_set_error(&tmp, BC_ERR_NO_REPLY, "QEMU did not run '%s'",
                             cmd);
            break;
        default:
            break;
        }
    }
    if (err && !bc_error_isset(err))
        *err = tmp;
    return -1;
}

/* The uid and gid QEMU runs as, at the other end of the monitor socket:
 * those of its process now, as it may have dropped root (-run-with
 * user=) after it made the socket. */
static void qemu_owner(struct copy *c, uid_t *uid, gid_t *gid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    char proc[32];
    struct stat st;

    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (!bc_qmp_can_pass_fds(c->conn->qmp) ||
        getsockopt(bc_qmp_fd(c->conn->qmp), SOL_SOCKET, SO_PEERCRED, &cred,
                   &len) < 0)
        return;
    snprintf(proc, sizeof(proc), "/proc/%d", (int)cred.pid);
    if (cred.pid > 0 && stat(proc, &st) == 0) {
        *uid = st.st_uid;
        *gid = st.st_gid;
    } else {
        *uid = cred.uid;
        *gid = cred.gid;
    }
}

/*
 * Create or open the local destination and hand it to QEMU: over a unix
 * monitor as a descriptor, so that QEMU writes into this file whatever
 * happens to its path; over TCP by its path, checked again before every
 * command that opens it.
 */
static int open_dest(struct copy *c, bc_error *err)
{
    bool block = c->dest.type == BC_DEST_BLOCK;
    struct undo *file;
    int64_t fdset;
    uid_t uid;
    gid_t gid;

    bc_strlcpy(c->file_name, c->dest.path, sizeof(c->file_name));
    if (bc_conn_is_dry_run(c->conn)) {
        memset(&c->st, 0, sizeof(c->st));
    } else if (c->create) {
        qemu_owner(c, &uid, &gid);
        file = push_undo(c, UNDO_FILE, "");
        if ((c->fd = bc_file_create(c->dest.path, uid, gid, &c->st, err)) < 0)
            return -1;
        file->exists = true;
        file->dev = c->st.st_dev;
        file->ino = c->st.st_ino;
    } else {
        if ((c->fd = bc_file_open_existing(c->dest.path, block, &c->st,
                                           err)) < 0)
            return -1;
        /* The file opened is the one checked: it may have been swapped
         * for the disk's own image since. */
        if (is_source_image(c, &c->st))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' is the disk's own image",
                                c->dest.path);
    }
    if (!bc_qmp_can_pass_fds(c->conn->qmp))
        return 0;
    push_undo(c, UNDO_FDSET, c->proto_node);
    return bc_fdset_add(c->conn, c->fd, c->proto_node, &c->st, c->dest.path,
                        c->file_name, &fdset, err);
}

/* Is the destination's path still the file the tool opened?  A path
 * QEMU opens by name is checked before each such command; one handed
 * over as a descriptor before the copy starts, so that no one is left
 * with a VM on a file its path no longer shows. */
static int recheck_dest(struct copy *c, bool by_name_only, bc_error *err)
{
    struct stat st;

    if (c->fd < 0 || (by_name_only && bc_str_has_prefix(c->file_name,
                                                        BC_FDSET_PREFIX)))
        return 0;
    if (stat(c->dest.path, &st) < 0 || st.st_dev != c->st.st_dev ||
        st.st_ino != c->st.st_ino)
        return bc_set_error(err, BC_ERR_SYSTEM, "destination '%s' was "
                            "removed, renamed or replaced while the copy "
                            "was set up", c->dest.path);
    return 0;
}

/* Run blockdev-create with 'options' and wait for its job to end. */
static int create_image(struct copy *c, json_object *options, bc_error *err)
{
    json_object *args;
    char *error = NULL;
    int ret = -1;

    args = bc_json_add_str(json_object_new_object(), "job-id", c->create_id);
    bc_json_add(args, "options", options);
    push_undo(c, UNDO_CREATE, c->create_id);
    /* A late reply is no failure: the job, if it runs, ends by itself,
     * and the wait below finds out. */
    if (bc_conn_change(c->conn, "blockdev-create", args, NULL, err) < 0 &&
        err->code != BC_ERR_NO_REPLY)
        return -1;
    if (bc_conn_is_dry_run(c->conn))
        return 0;
    if (bc_error_isset(err)) {
        bc_error_init(err);
        bc_conn_warn(c->conn, "QEMU answered 'blockdev-create' late");
    }
    if (bc_job_wait_concluded(c->conn, c->create_id, CREATE_TIMEOUT_MS,
                              c->conn->interrupt_fd, &error, err) < 0) {
        if (err->code == BC_ERR_TIMEOUT) {
            bc_error_init(err);
            bc_set_error(err, BC_ERR_TIMEOUT, "creating '%s' did not finish "
                         "within %d s", c->dest_name, CREATE_TIMEOUT_MS / 1000);
        }
        return -1;
    }
    if (error)
        bc_set_error(err, BC_ERR_QMP, "cannot create '%s': %s", c->dest_name,
                     error);
    else
        ret = 0;
    free(error);
    bc_conn_try_change(c->conn, "job-dismiss", "id", c->create_id);
    return ret;
}

static bool format_has_backing(const char *fmt)
{
    return !strcmp(fmt, "qcow2") || !strcmp(fmt, "qed") ||
           !strcmp(fmt, "vmdk");
}

/*
 * The secret of the secret file, as base64 for QEMU's secret object.
 * The tool reads the file rather than letting QEMU read it: QEMU takes a
 * file's bytes as they are, and a file written with 'echo pw > file'
 * ends in a newline that is no part of the password.  A Ceph key file
 * holds base64 text already ('ceph auth get-key'); any other secret is
 * the bytes themselves, encoded here.  Neither the secret nor a byte of
 * it ever goes into a message.
 */
static int read_secret(struct copy *c, bc_error *err)
{
    unsigned char *buf = NULL, *raw;
    size_t len = 0, rawlen;
    ssize_t n;
    int fd, ret = -1;

    if ((fd = open(c->secret_file, O_RDONLY | O_CLOEXEC)) < 0)
        return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                  "cannot read secret file '%s'",
                                  c->secret_file);
    if (!(buf = malloc(SECRET_MAX + 1))) {
        bc_set_error_oom(err);
        goto out;
    }
    while ((n = read(fd, buf + len, SECRET_MAX + 1 - len)) > 0 &&
           len + n <= SECRET_MAX)
        len += n;
    if (n < 0) {
        bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno, "cannot read "
                           "secret file '%s'", c->secret_file);
        goto out;
    }
    if (n > 0) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "secret file '%s' is larger "
                     "than %d KiB", c->secret_file, SECRET_MAX / 1024);
        goto out;
    }
    if (len && buf[len - 1] == '\n')
        len--;
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (!len) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "secret file '%s' is empty",
                     c->secret_file);
        goto out;
    }
    if (bc_dest_secret_kind(&c->dest) == BC_SECRET_BASE64) {
        if (!(raw = bc_base64_decode((char *)buf, &rawlen))) {
            bc_set_error(err, BC_ERR_INVALID_ARG, "secret file '%s' does not "
                         "hold a key in base64, as 'ceph auth get-key' "
                         "prints it", c->secret_file);
            goto out;
        }
        explicit_bzero(raw, rawlen);
        free(raw);
        c->secret = strdup((char *)buf);
    } else {
        c->secret = bc_base64_encode(buf, len);
    }
    if (!c->secret) {
        bc_set_error_oom(err);
        goto out;
    }
    ret = 0;

 out:
    if (buf) {
        explicit_bzero(buf, SECRET_MAX + 1);
        free(buf);
    }
    close(fd);
    return ret;
}

/* The secret object QEMU hands the protocol: the secret itself, through
 * the monitor, never on a command line nor in a message. */
static int add_secret(struct copy *c, bc_error *err)
{
    json_object *args;

    if (c->added_secret || !c->secret)
        return 0;
    /* A dry run prints the commands: never the secret. */
    args = secret_args(c, c->secret_id, bc_conn_is_dry_run(c->conn));
    if (add_thing(c, UNDO_OBJECT, c->secret_id, "object-add", args, err) < 0)
        return -1;
    c->added_secret = true;
    return 0;
}

/* The TLS credentials of the connection: QEMU reads the certificates
 * from the directory.  Like the secret, the object lives as long as the
 * protocol node that uses it. */
static int add_tls(struct copy *c, bc_error *err)
{
    json_object *args;

    if (c->added_tls || !bc_dest_uses_tls(&c->dest))
        return 0;
    args = tls_args(c, c->tls_id);
    if (add_thing(c, UNDO_OBJECT, c->tls_id, "object-add", args, err) < 0)
        return -1;
    c->added_tls = true;
    return 0;
}

/* Create the protocol layer: an empty file (or a raw one of full size). */
static int create_protocol(struct copy *c, bc_error *err)
{
    unsigned long long size = strcmp(c->format, "raw") == 0
                                  ? c->disk.virtual_size : 0;
    json_object *opts, *loc;

    if (c->dest.type == BC_DEST_FILE) {
        if (recheck_dest(c, true, err) < 0)
            return -1;
        opts = json_object_new_object();
        bc_json_add_str(opts, "driver", "file");
        bc_json_add_str(opts, "filename", c->file_name);
        bc_json_add_int(opts, "size", (int64_t)size);
    } else {
        /* Network protocols take their connection as a "location". */
        if (add_secret(c, err) < 0 || add_tls(c, err) < 0)
            return -1;
        if (!(loc = bc_dest_protocol_options(&c->dest, NULL,
                                             c->added_secret ? c->secret_id
                                                             : NULL,
                                             c->added_tls ? c->tls_id : NULL,
                                             err)))
            return -1;
        opts = json_object_new_object();
        bc_json_add_str(opts, "driver", c->dest.protocol);
        json_object_object_del(loc, "driver");
        bc_json_add(opts, "location", loc);
        bc_json_add_int(opts, "size", (int64_t)size);
    }
    return create_image(c, opts, err);
}

/*
 * QEMU's reason for not opening a network destination names neither the
 * server nor the certificates ("The certificate hasn't got a known
 * issuer"), and a server that wants TLS answers in the protocol's words
 * ("TLS negotiation required before option 7 (go)"): add which, and what
 * to change.
 */
static void explain_connect_error(struct copy *c, bc_error *err)
{
    char *msg;
    size_t len;

    if (bc_dest_uses_tls(&c->dest)) {
        if (asprintf(&msg, "cannot connect to '%s' over TLS with the "
                     "certificates in '%s': %s", c->dest_name, c->tls_dir,
                     err->message) < 0)
            return;
        bc_strlcpy(err->message, msg, sizeof(err->message));
        free(msg);
    } else if (bc_dest_can_use_tls(&c->dest) &&
               strstr(err->message, "TLS")) {
        len = strlen(err->message);
        snprintf(err->message + len, sizeof(err->message) - len,
                 "; the server of '%s' accepts only TLS: add tls='yes' to "
                 "the destination's <source>", c->dest_name);
    }
}

static int add_protocol_node(struct copy *c, bc_error *err)
{
    json_object *opts;

    if (add_secret(c, err) < 0 || add_tls(c, err) < 0)
        return -1;
    if (recheck_dest(c, true, err) < 0)
        return -1;
    opts = bc_dest_protocol_options(&c->dest, c->proto_node,
                                    c->added_secret ? c->secret_id : NULL,
                                    c->added_tls ? c->tls_id : NULL, err);
    if (!opts)
        return -1;
    if (c->dest.type != BC_DEST_NETWORK)
        bc_json_add_str(opts, "filename", c->file_name);
    /* Zero ranges become discards, which the mirror does not charge
     * against the bandwidth limit. */
    bc_json_add_str(opts, "discard", "unmap");
    if (add_thing(c, UNDO_NODE, c->proto_node, "blockdev-add", opts,
                  err) == 0)
        return 0;
    if (err->code == BC_ERR_QMP)
        explain_connect_error(c, err);
    return -1;
}

static int create_format(struct copy *c, bc_error *err)
{
    json_object *opts = json_object_new_object();
    bool shallow = c->flags & BC_BLOCK_COPY_SHALLOW;

    bc_json_add_str(opts, "driver", c->format);
    bc_json_add_str(opts, "file", c->proto_node);
    bc_json_add_int(opts, "size", (int64_t)c->disk.virtual_size);
    if (strcmp(c->format, "qcow2") == 0 && c->disk.cluster_size &&
        c->disk.format && strcmp(c->disk.format, "qcow2") == 0)
        bc_json_add_int(opts, "cluster-size", (int64_t)c->disk.cluster_size);
    if (shallow && c->disk.backing_file) {
        bc_json_add_str(opts, "backing-file", c->disk.backing_file);
        if (c->disk.backing_format)
            bc_json_add_str(opts, "backing-fmt", c->disk.backing_format);
    }
    return create_image(c, opts, err);
}

/* The size QEMU sees for node 'name', or 0 if it cannot be told. */

static int add_format_node(struct copy *c, bc_error *err)
{
    json_object *opts = json_object_new_object();
    bool reuse = c->flags & BC_BLOCK_COPY_REUSE_EXT;
    bool raw = strcmp(c->format, "raw") == 0;
    bool dry = bc_conn_is_dry_run(c->conn);
    unsigned long long have = 0, want = c->disk.virtual_size;

    /* A reused raw destination of fixed size may be larger (a block
     * device, an iSCSI LUN or an NBD export usually is): the guest must
     * still see exactly its own disk size, so the raw node is limited to
     * it.  A larger file is refused: it was meant for another disk. */
    if (reuse && raw && !dry) {
        if (!(have = node_size(c, c->proto_node, err)) && bc_error_isset(err))
            goto error;
        if (check_reused_size(c, have, err) < 0)
            goto error;
    }

    bc_json_add_str(opts, "driver", c->format);
    bc_json_add_str(opts, "node-name", c->fmt_node);
    bc_json_add_str(opts, "file", c->proto_node);
    bc_json_add_str(opts, "discard", "unmap");
    if (raw && have > want)
        bc_json_add_int(opts, "size", (int64_t)want);
    /* A full copy holds all the data: the destination must not show its
     * own backing file.  A shallow one opens the chain its header names. */
    if (format_has_backing(c->format) && !(c->flags & BC_BLOCK_COPY_SHALLOW))
        bc_json_add_null(opts, "backing");
    if (add_thing(c, UNDO_NODE, c->fmt_node, "blockdev-add", opts, err) < 0)
        return -1;

    if (reuse && !raw && !dry) {
        have = node_size(c, c->fmt_node, err);
        if (bc_error_isset(err))
            return -1;
        if (have != want)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "destination '%s' has a virtual size of %llu "
                                "bytes, but the disk has %llu bytes",
                                c->dest_name, have, want);
    }
    return 0;

 error:
    json_object_put(opts);
    return -1;
}

static int start_mirror(struct copy *c, bc_error *err)
{
    json_object *args = json_object_new_object();

    bc_json_add_str(args, "job-id", c->job_id);
    bc_json_add_str(args, "device", c->disk.node ? c->disk.node
                                                 : c->disk.drive);
    bc_json_add_str(args, "target", c->fmt_node);
    bc_json_add_str(args, "sync", (c->flags & BC_BLOCK_COPY_SHALLOW) ? "top"
                                                                     : "full");
    if (c->has_bandwidth)
        bc_json_add_int(args, "speed", (int64_t)c->bandwidth);
    if (c->granularity)
        bc_json_add_int(args, "granularity", c->granularity);
    if (c->buf_size)
        bc_json_add_int(args, "buf-size", (int64_t)c->buf_size);
    if (c->flags & BC_BLOCK_COPY_SYNCHRONOUS_WRITES)
        bc_json_add_str(args, "copy-mode", "write-blocking");
    if (c->flags & BC_BLOCK_COPY_TARGET_ZEROED)
        bc_json_add_bool(args, "target-is-zero", true);
    /* The job stays until dismissed, so that its outcome can be read by
     * whoever waits for it, even a later run of the tool. */
    bc_json_add_bool(args, "auto-dismiss", false);
    /* Whatever QEMU said about an earlier job of this id is no news of
     * this one. */
    bc_qmp_drop_events(c->conn->qmp, c->job_id);
    return add_thing(c, UNDO_MIRROR, c->job_id, "blockdev-mirror", args, err);
}

/*
 * Whether a guest write made while the mirror job starts can be missing
 * from the copy on this QEMU (read in its block/mirror.c; t0971 makes it
 * happen on 7.2):
 *  - Before 8.1 the mirror's filter copies a write-blocking write to the
 *    target as soon as the job exists, while the job still zeroes the
 *    whole target (sync=full).  The end of that zeroing forgets the
 *    writes then in flight, and the first pass, not waiting for them,
 *    can write older data over them.
 *  - From 8.1 until the fix (10.0.9 in the 10.0 series; 11.0), a write
 *    made while the job scans the source for allocated data is neither
 *    copied nor marked: lost where the scan has passed and found nothing.
 *    A raw image in a local file has nothing unallocated.
 * 8.0 is counted in both.
 */
static bool start_loses_writes(const struct copy *c)
{
    bool zeroing = !(c->flags & BC_BLOCK_COPY_SHALLOW);
    bool blocking = c->flags & BC_BLOCK_COPY_SYNCHRONOUS_WRITES;
    bool allocated = c->disk.format && strcmp(c->disk.format, "raw") == 0 &&
                     c->disk.filename && c->disk.filename[0] == '/';
    int major, minor, micro;
    bool early, late;

    bc_conn_get_qemu_version(c->conn, &major, &minor, &micro);
    if (major >= 11 || (major == 10 && minor == 0 && micro >= 9))
        return false;
    early = major < 8 || (major == 8 && minor == 0);
    late = major >= 8;
    return (early && blocking && zeroing) || (late && !allocated);
}

/* Wait until the job has left its start: it has data to copy, or it no
 * longer runs (ready already, or ended). */
static int wait_started(struct copy *c, bc_error *err)
{
    for (;;) {
        struct pollfd pfd = { .fd = c->conn->interrupt_fd, .events = POLLIN };
        json_object *job = NULL;
        const char *status;
        bool started;
        int rc;

        if ((rc = bc_conn_find_job(c->conn, c->job_id, &job, err)) <= 0)
            return rc;
        status = bc_json_str(job, "status");
        started = bc_json_int(job, "total-progress", 0) > 0 || !status ||
                  (strcmp(status, "created") != 0 &&
                   strcmp(status, "running") != 0);
        json_object_put(job);
        if (started)
            return 0;
        if (poll(&pfd, 1, 1) > 0)
            return bc_set_error(err, BC_ERR_INTERRUPTED,
                                "interrupted while the copy started");
    }
}

/*
 * Start the mirror job.  Where QEMU can lose a guest write made while
 * its job starts, a running guest is paused until the job has started.
 */
static int start_copy(struct copy *c, bc_error *err)
{
    bool paused = false;
    int64_t since;
    bc_error tmp;
    int ret;

    if (!bc_conn_is_dry_run(c->conn) && start_loses_writes(c) &&
        bc_vm_pause(c->conn, "paused while a copy starts", &paused, err) < 0)
        return -1;
    since = bc_now_us();
    ret = start_mirror(c, err);
    if (ret == 0 && paused)
        ret = wait_started(c, err);
    if (!paused)
        return ret;
    bc_error_init(&tmp);
    if (bc_vm_resume(c->conn, &tmp) < 0) {
        if (ret == 0)
            *err = tmp;
        return -1;
    }
    since = bc_now_us() - since;
    if (since >= 100 * 1000)
        bc_conn_warn(c->conn, "the guest was paused for %.1f s while the "
                     "copy of '%s' started: this QEMU can lose a write "
                     "made then", since / 1e6, bc_disk_label(&c->disk));
    return ret;
}

/* What a later run needs to tell how the copy ended, kept in QEMU. */
static int save_record(struct copy *c, bc_error *err)
{
    char id[64];

    if (bc_job_record_make(c->conn, &c->disk, c->job_id, c->fmt_node,
                           &c->rec, err) < 0)
        return -1;
    /* A copy that fails takes the file made for it along. */
    if (c->create && c->dest.type == BC_DEST_FILE && c->fd >= 0) {
        if (!(c->rec.file = strdup(c->dest.path)))
            return bc_set_error_oom(err);
        c->rec.dev = c->st.st_dev;
        c->rec.ino = c->st.st_ino;
    }
    bc_job_record_id(&c->disk, id, sizeof(id));
    push_undo(c, UNDO_OBJECT, id);
    return bc_job_record_save(c->conn, &c->disk, &c->rec, err);
}

/*
 * A creation job of the tool's that a killed run left behind would make
 * blockdev-create fail; one still running means another run is at work
 * on this disk right now.
 */
static int check_create_job(struct copy *c, bc_error *err)
{
    json_object *job = NULL;
    const char *status;
    int rc, ret = 0;

    snprintf(c->create_id, sizeof(c->create_id), "%s-create", c->job_id);
    if ((rc = bc_conn_find_job(c->conn, c->create_id, &job, err)) <= 0)
        return rc;
    status = bc_json_str(job, "status");
    if (!status || strcmp(status, "concluded") != 0)
        ret = bc_set_error(err, BC_ERR_JOB_EXISTS,
                           "disk '%s' is busy: another run is creating a copy "
                           "of it (job '%s')", bc_disk_label(&c->disk),
                           c->create_id);
    json_object_put(job);
    return ret;
}

/* Dismiss what a run that did not finish left, and its unused nodes. */
static int clean_leftovers(struct copy *c, bc_error *err)
{
    return bc_job_tidy(c->conn, &c->disk, true, err);
}

/* End job 'id' that the copy started, and dismiss it.  False if it could
 * not be seen to end. */
static bool undo_job(struct copy *c, const struct undo *u)
{
    json_object *job = NULL;
    char *error = NULL;
    bc_error tmp;
    int rc;

    bc_error_init(&tmp);
    if ((rc = bc_conn_find_job(c->conn, u->name, &job, &tmp)) <= 0)
        return rc == 0;
    if (strcmp(bc_json_str(job, "status") ? bc_json_str(job, "status") : "",
               "concluded") != 0) {
        bc_conn_change(c->conn, "job-cancel",
                       bc_json_add_str(json_object_new_object(), "id",
                                       u->name), NULL, NULL);
    }
    json_object_put(job);
    /* Not interruptible: the interrupt is what brought us here. */
    if (bc_job_wait_concluded(c->conn, u->name, UNDO_TIMEOUT_MS, -1, &error,
                              &tmp) < 0)
        return false;
    free(error);
    bc_conn_try_change(c->conn, "job-dismiss", "id", u->name);
    return true;
}

/* Does any node still open the copy's file, or is any of its nodes
 * still there? */
static bool file_in_use(struct copy *c)
{
    json_object *nodes = NULL;
    size_t i, n;
    bool used = false;
    bc_error tmp;

    bc_error_init(&tmp);
    if (bc_conn_named_nodes(c->conn, &nodes, &tmp) < 0)
        return true;
    n = bc_json_len(nodes);
    for (i = 0; i < n && !used; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        const char *name = bc_json_str(node, "node-name");
        const char *file = bc_json_str(node, "file");

        used = (name && (!strcmp(name, c->fmt_node) ||
                         !strcmp(name, c->proto_node))) ||
               (file && !strcmp(file, c->dest.path));
    }
    json_object_put(nodes);
    return used;
}

/*
 * Undo what was done, newest first.  Returns true when all of it is
 * known to be undone; a file that QEMU may still write is never removed.
 */
static bool roll_back(struct copy *c)
{
    json_object *nodes = NULL;
    bool sure = true;
    struct stat st;
    bc_error tmp;
    int i;

    if (bc_conn_is_dry_run(c->conn))
        return true;
    /* A step QEMU did not answer (refusing is an answer: a node already
     * gone) leaves the outcome unknown. */
    bc_error_init(&c->conn->fault);
    bc_error_init(&tmp);
    for (i = c->nundo - 1; i >= 0; i--) {
        struct undo *u = &c->undo[i];

        switch (u->kind) {
        case UNDO_MIRROR:
        case UNDO_CREATE:
            sure &= undo_job(c, u);
            break;
        case UNDO_NODE:
            bc_conn_try_change(c->conn, "blockdev-del", "node-name", u->name);
            break;
        case UNDO_OBJECT:
            bc_conn_try_change(c->conn, "object-del", "id", u->name);
            break;
        case UNDO_FDSET:
            /* Found by its note: the reply with its id may not have come. */
            if (bc_conn_named_nodes(c->conn, &nodes, &tmp) == 0)
                bc_fdset_cleanup(c->conn, u->name, nodes);
            json_object_put(nodes);
            nodes = NULL;
            break;
        case UNDO_FILE:
            if (!u->exists)
                break;
            sure &= !c->conn->fault.code;
            if (!sure || file_in_use(c)) {
                sure = false;
                break;
            }
            /* Only if it is still the one made for the copy. */
            if (lstat(c->dest.path, &st) == 0 && st.st_dev == u->dev &&
                st.st_ino == u->ino)
                unlink(c->dest.path);
            break;
        }
    }
    return sure && !c->conn->fault.code;
}

/* The roll-back could not be seen through (the monitor went away, QEMU
 * did not answer): say what may be left. */
static void uncertain(struct copy *c, bc_error *err)
{
    size_t len = strlen(err->message);

    err->code = BC_ERR_UNCERTAIN;
    snprintf(err->message + len, sizeof(err->message) - len,
             "; the copy may still be in QEMU (job '%s')%s%s%s", c->job_id,
             c->dest.type == BC_DEST_FILE ? ", and '" : "",
             c->dest.type == BC_DEST_FILE ? c->dest.path : "",
             c->dest.type == BC_DEST_FILE ? "' is kept" : "");
}

static void copy_clear(struct copy *c)
{
    if (c->saved_timeout_ms)
        bc_qmp_set_timeouts(c->conn->qmp, 0, 0, c->saved_timeout_ms);
    if (c->fd >= 0)
        close(c->fd);
    bc_job_record_clear(&c->rec);
    bc_disk_clear(&c->disk);
    bc_dest_clear(&c->dest);
    free(c->dest_name);
    free(c->format);
    free(c->job_id);
    free(c->tls_dir);
    free(c->secret_file);
    if (c->secret) {
        explicit_bzero(c->secret, strlen(c->secret));
        free(c->secret);
    }
}

/*
 * Every check that can be made before anything changes: the disk, the
 * destination, the parameters.  Fills 'c' (copy_clear() releases it).
 */
static int copy_check(struct copy *c, bc_conn *conn, const char *disk,
                      const char *destxml, const bc_typed_param *params,
                      int nparams, unsigned int flags, bc_error *err)
{
    const unsigned int known = BC_BLOCK_COPY_SHALLOW |
                               BC_BLOCK_COPY_REUSE_EXT |
                               BC_BLOCK_COPY_TRANSIENT_JOB |
                               BC_BLOCK_COPY_SYNCHRONOUS_WRITES |
                               BC_BLOCK_COPY_TARGET_ZEROED;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->conn = conn;
    c->flags = flags;

    if (!conn || !disk || !destxml)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "missing connection, "
                            "disk or destination");
    if (flags & ~known)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "unsupported flags 0x%x",
                            flags & ~known);
    if (check_params(c, params, nparams, err) < 0 ||
        bc_dest_parse(destxml, strlen(destxml), &c->dest, err) < 0)
        return -1;
    if (!(c->dest_name = bc_dest_describe(&c->dest)))
        return bc_set_error_oom(err);
    if (check_tls(c, err) < 0 || check_disk(c, disk, err) < 0 ||
        check_create_job(c, err) < 0)
        return -1;
    if (c->dest.type != BC_DEST_NETWORK && check_local_dest(c, err) < 0)
        return -1;

    c->create = !(flags & BC_BLOCK_COPY_REUSE_EXT);
    if (c->create && !bc_dest_can_create(&c->dest))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "QEMU cannot create images over %s: create '%s' "
                            "first and use --reuse-external",
                            c->dest.protocol, c->dest_name);
    if (bc_dest_needs_secret(&c->dest) && !c->secret_file)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "destination '%s' authenticates as '%s': give "
                            "the file holding its secret (the '%s' "
                            "parameter)", c->dest_name,
                            c->dest.auth_username, BC_BLOCK_COPY_SECRET_FILE);
    if (bc_dest_needs_secret(&c->dest) && read_secret(c, err) < 0)
        return -1;
    if (choose_format(c, err) < 0)
        return -1;
    if ((flags & BC_BLOCK_COPY_TARGET_ZEROED) &&
        bc_conn_need_feature(conn, BC_FEATURE_TARGET_IS_ZERO,
                             "be told that the destination is zeroed",
                             err) < 0)
        return -1;
    if (c->dest.type != BC_DEST_NETWORK && !c->create &&
        check_reused_size(c, local_image_size(c), err) < 0)
        return -1;
    /* Last, as it asks the server. */
    if (c->dest.type == BC_DEST_NETWORK && check_network_dest(c, err) < 0)
        return -1;
    return 0;
}

/* Make the copy and start its job.  From here on the VM changes; a
 * failure rolls back what was done. */
static int copy_start(struct copy *c, bc_error *err)
{
    if (clean_leftovers(c, err) < 0 || choose_node_names(c, err) < 0)
        return -1;
    if ((c->dest.type != BC_DEST_NETWORK && open_dest(c, err) < 0) ||
        (c->create && create_protocol(c, err) < 0) ||
        add_protocol_node(c, err) < 0 ||
        (c->create && strcmp(c->format, "raw") != 0 &&
         create_format(c, err) < 0) ||
        add_format_node(c, err) < 0 || recheck_dest(c, false, err) < 0 ||
        save_record(c, err) < 0 || start_copy(c, err) < 0) {
        if (!roll_back(c))
            uncertain(c, err);
        return -1;
    }
    return 0;
}

int bc_block_copy(bc_conn *conn, const char *disk, const char *destxml,
                  const bc_typed_param *params, int nparams,
                  unsigned int flags, bc_error *err)
{
    struct copy c;
    bc_error local;
    int ret = -1;

    bc_error_init(&local);
    if (!err)
        err = &local;
    if (copy_check(&c, conn, disk, destxml, params, nparams, flags, err) < 0 ||
        copy_start(&c, err) < 0)
        goto out;
    /* The wait that follows reads the record from here. */
    bc_job_record_clear(conn->record);
    free(conn->record);
    conn->record = NULL;
    if (!bc_conn_is_dry_run(conn) &&
        (conn->record = malloc(sizeof(*conn->record)))) {
        *conn->record = c.rec;
        memset(&c.rec, 0, sizeof(c.rec));
    }
    ret = 0;

 out:
    copy_clear(&c);
    return ret;
}

/* ---- copies of a group --------------------------------------------- */

bc_copy *bc_copy_new(bc_conn *conn, const char *disk, const char *destxml,
                     const bc_typed_param *params, int nparams,
                     unsigned int flags, bc_error *err)
{
    struct copy *c = malloc(sizeof(*c));

    if (!c) {
        bc_set_error_oom(err);
        return NULL;
    }
    if (copy_check(c, conn, disk, destxml, params, nparams, flags, err) < 0) {
        bc_copy_free(c);
        return NULL;
    }
    return c;
}

int bc_copy_start(bc_copy *c, bc_error *err)
{
    return copy_start(c, err);
}

bool bc_copy_undo(bc_copy *c)
{
    return roll_back(c);
}

const bc_disk *bc_copy_disk(const bc_copy *c)
{
    return &c->disk;
}

const char *bc_copy_local_path(const bc_copy *c)
{
    return c->dest.type == BC_DEST_NETWORK ? NULL : c->dest.path;
}

const char *bc_copy_job_id(const bc_copy *c)
{
    return c->job_id;
}

void bc_copy_set_bandwidth(bc_copy *c, unsigned long long bandwidth)
{
    c->has_bandwidth = true;
    c->bandwidth = bandwidth;
}

bc_job_record *bc_copy_record(bc_copy *c)
{
    return &c->rec;
}

void bc_copy_free(bc_copy *c)
{
    if (!c)
        return;
    copy_clear(c);
    free(c);
}
