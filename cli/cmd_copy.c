/*
 * The copy command: virsh blockcopy's options, rules and messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

/* What virsh reads with --xml, and what the library accepts. */
#define XML_MAX (1024 * 1024)

/* Read the --xml file ("-": standard input), refusing more than XML_MAX
 * bytes. */
static char *read_xml(cli_ctx *ctx, const char *path)
{
    bool std_in = !strcmp(path, "-");
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd;

    if (std_in && ctx->shell) {
        cli_error("--xml - cannot read standard input in the shell: it "
                  "holds the commands");
        return NULL;
    }
    if (std_in)
        path = "standard input";
    fd = std_in ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0)
                : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(XML_MAX + 2)))
        goto oom;
    while ((n = read(fd, buf + len, XML_MAX + 1 - len)) > 0) {
        len += (size_t)n;
        if (len > XML_MAX) {
            cli_error("'%s' is larger than %d KiB: not a destination XML",
                      path, XML_MAX / 1024);
            goto error;
        }
    }
    if (n < 0) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        goto error;
    }
    if (memchr(buf, '\0', len)) {
        cli_error("'%s' contains NUL bytes: not a destination XML", path);
        goto error;
    }
    buf[len] = '\0';
    close(fd);
    return buf;

 oom:
    cli_error("out of memory");
 error:
    free(buf);
    close(fd);
    return NULL;
}

/*
 * The format a new image's name asks for ("vm1.qcow2": qcow2), or NULL:
 * without --format, a copy named for another format than the source's
 * would otherwise hold the source's under a misleading name.
 */
const char *cli_format_from_name(const char *dest)
{
    const char *dot = strrchr(dest, '.');
    size_t i;

    if (!dot || strchr(dot, '/'))
        return NULL;
    for (i = 0; cli_formats[i]; i++)
        if (!strcmp(dot + 1, cli_formats[i]))
            return cli_formats[i];
    return NULL;
}

static void print_dry_run(const char *json, void *opaque)
{
    cli_print_json(json);
}

struct copy_opts {
    unsigned int flags;
    bc_typed_param *params;
    int nparams;
    int maxparams;
    bool wait;
    cli_after_ready after;
    int timeout;
    int converge;       /* --auto-converge: seconds, or 0 */
};

/* Check the options against each other and build the typed params. */
static int collect(cli_ctx *ctx, const cli_args *args, struct copy_opts *o)
{
    unsigned long long v;
    const char *secret, *tls_dir;
    bc_error err;
    int rc;

    if (!cli_exclusive(args, "dest", "xml") || !cli_exclusive(args, "format", "xml") ||
        !cli_exclusive(args, "raw", "xml") || !cli_exclusive(args, "raw", "format") ||
        !cli_exclusive(args, "blockdev", "xml") ||
        !cli_exclusive(args, "pivot", "finish") ||
        !cli_exclusive(args, "print-xml", "dry-run"))
        return -1;
    if (!cli_exclusive(args, "dest-dir", "dest") ||
        !cli_exclusive(args, "dest-dir", "xml") ||
        !cli_exclusive(args, "dest-dir", "blockdev") ||
        !cli_exclusive(args, "dest-dir", "print-xml") ||
        !cli_exclusive(args, "all", "disk"))
        return -1;
    if (!cli_has(args, "disk") && !cli_flag(args, "all")) {
        /* virsh's words, and what else would do. */
        cli_error("command 'copy' requires <disk> option (or --all with "
                  "--dest-dir)");
        return -1;
    }
    if (!cli_has(args, "dest") && !cli_has(args, "xml") &&
        !cli_has(args, "dest-dir")) {
        cli_error("need either --dest or --xml%s",
                  cli_flag(args, "all") || strchr(cli_arg(args, "disk"), ',')
                      ? " (several disks: --dest-dir)" : "");
        return -1;
    }
    if (cli_has(args, "dest-dir") && *cli_arg(args, "dest-dir") != '/') {
        cli_error("--dest-dir '%s' is not an absolute path",
                  cli_arg(args, "dest-dir"));
        return -1;
    }

    o->wait = cli_flag(args, "wait") || cli_flag(args, "pivot") ||
              cli_flag(args, "finish") || cli_has(args, "timeout");
    o->after = cli_flag(args, "pivot") ? CLI_AFTER_READY_PIVOT
               : cli_flag(args, "finish") ? CLI_AFTER_READY_FINISH
               : CLI_AFTER_READY_STAY;
    if (!o->wait && cli_flag(args, "verbose")) {
        cli_error("--verbose requires at least one of --timeout, --wait, "
                  "--pivot, or --finish");
        return -1;
    }
    if (!o->wait && cli_flag(args, "async")) {
        cli_error("--async requires at least one of --timeout, --wait, "
                  "--pivot, or --finish");
        return -1;
    }
    if (cli_arg_timeout(args, &o->timeout) < 0)
        return -1;
    if (cli_has(args, "auto-converge")) {
        o->converge = BC_CONVERGE_DEFAULT_MS / 1000;
        if (!o->wait) {
            cli_error("--auto-converge requires at least one of --timeout, "
                      "--wait, --pivot, or --finish");
            return -1;
        }
        if (!cli_exclusive(args, "auto-converge", "synchronous-writes") ||
            (*cli_arg(args, "auto-converge") &&
             cli_arg_int(args, "auto-converge", &o->converge) < 0))
            return -1;
        if (o->converge > INT_MAX / 1000) {
            cli_error("--auto-converge %d is too large: at most %d seconds",
                      o->converge, INT_MAX / 1000);
            return -1;
        }
    }

    if (cli_flag(args, "shallow"))
        o->flags |= BC_BLOCK_COPY_SHALLOW;
    if (cli_flag(args, "reuse-external"))
        o->flags |= BC_BLOCK_COPY_REUSE_EXT;
    if (cli_flag(args, "transient-job"))
        o->flags |= BC_BLOCK_COPY_TRANSIENT_JOB;
    if (cli_flag(args, "synchronous-writes"))
        o->flags |= BC_BLOCK_COPY_SYNCHRONOUS_WRITES;
    if (cli_flag(args, "dest-is-zero"))
        o->flags |= BC_BLOCK_COPY_TARGET_ZEROED;

    bc_error_init(&err);
    if ((rc = cli_arg_bandwidth(args, ULLONG_MAX, &v)) < 0)
        return -1;
    if (rc == 1 &&
        bc_typed_params_add_ullong(&o->params, &o->nparams, &o->maxparams,
                                   BC_BLOCK_COPY_BANDWIDTH, v, &err) < 0)
        goto error;
    if ((rc = cli_arg_size(args, "granularity", UINT_MAX, &v)) < 0)
        return -1;
    if (rc == 1 && bc_typed_params_add_uint(&o->params, &o->nparams,
                                            &o->maxparams,
                                            BC_BLOCK_COPY_GRANULARITY,
                                            (unsigned int)v, &err) < 0)
        goto error;
    secret = cli_arg(args, "secret-file");
    if (!secret)
        secret = getenv("BLOCKCOPY_SECRET_FILE");
    if (secret && *secret &&
        bc_typed_params_add_string(&o->params, &o->nparams, &o->maxparams,
                                   BC_BLOCK_COPY_SECRET_FILE, secret, &err) < 0)
        goto error;
    /* An empty --tls-dir is an error of the library's; an empty
     * variable is as good as unset. */
    tls_dir = cli_arg(args, "tls-dir");
    if (!tls_dir && (tls_dir = getenv("BLOCKCOPY_TLS_DIR")) && !*tls_dir)
        tls_dir = NULL;
    if (tls_dir &&
        bc_typed_params_add_string(&o->params, &o->nparams, &o->maxparams,
                                   BC_BLOCK_COPY_TLS_DIR, tls_dir, &err) < 0)
        goto error;
    if (cli_has(args, "tls-hostname") &&
        bc_typed_params_add_string(&o->params, &o->nparams, &o->maxparams,
                                   BC_BLOCK_COPY_TLS_HOSTNAME,
                                   cli_arg(args, "tls-hostname"), &err) < 0)
        goto error;
    if ((rc = cli_arg_size(args, "buf-size", ULLONG_MAX, &v)) < 0)
        return -1;
    if (rc == 1 && bc_typed_params_add_ullong(&o->params, &o->nparams,
                                              &o->maxparams,
                                              BC_BLOCK_COPY_BUF_SIZE, v,
                                              &err) < 0)
        goto error;
    return 0;

 error:
    cli_report(ctx, NULL, &err);
    return -1;
}

static void print_started(cli_ctx *ctx, const char *disk)
{
    cli_print_result(ctx, "disk", disk, "started", "Block Copy started",
                     CLI_OK);
}

static int print_aborted(cli_ctx *ctx, const char *disk)
{
    cli_print_result(ctx, "disk", disk, "aborted", "Copy aborted", CLI_FAILED);
    return CLI_FAILED;
}

/* The disk of 'disks' that 'name' names, as the library would take it. */
static const bc_disk_info *find_disk(const bc_disk_info *disks, size_t n,
                                     const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const bc_disk_info *d = &disks[i];

        if ((d->target && !strcmp(d->target, name)) ||
            (d->device && !strcmp(d->device, name)) ||
            (d->drive && !strcmp(d->drive, name)) ||
            (d->node && !strcmp(d->node, name)) ||
            (d->source && !strcmp(d->source, name)))
            return d;
    }
    return NULL;
}

/* Why --all leaves a disk alone, or NULL. */
static const char *not_copied(const bc_disk_info *d)
{
    if (d->empty || !d->source)
        return "an empty drive";
    if (d->removable && d->readonly)
        return "a read-only CD-ROM";
    if (d->readonly)
        return "read-only";
    return NULL;
}

/* Add the copy of disk 'name' into DIR under its source's name. */
static int add_to_dir(cli_ctx *ctx, bc_group *g, bc_conn *conn,
                      const bc_disk_info *d, const char *name,
                      const char *dir, const char *format,
                      const struct copy_opts *o)
{
    const char *base = d->source ? strrchr(d->source, '/') : NULL;
    char *path = NULL, *xml = NULL;
    bc_error err;
    int status = CLI_USAGE;

    bc_error_init(&err);
    if (!base || !base[1] || !strncmp(d->source, "json:", 5) ||
        strstr(d->source, "://")) {
        cli_error("disk '%s' is no local file ('%s'): copy it on its own, "
                  "with DEST or --xml", name, cli_safe(d->source));
        return CLI_USAGE;
    }
    if (asprintf(&path, "%s%s%s", dir,
                 dir[strlen(dir) - 1] == '/' ? "" : "/", base + 1) < 0) {
        cli_error("out of memory");
        return CLI_FAILED;
    }
    if (!format && !(o->flags & BC_BLOCK_COPY_REUSE_EXT))
        format = cli_format_from_name(path);
    if (!(xml = bc_dest_xml_from_path(path, format, false, &err)) ||
        bc_group_add_copy(g, conn, name, xml, o->params, o->nparams,
                          o->flags, &err) < 0) {
        char prefix[256];

        snprintf(prefix, sizeof(prefix), "%s: ", name);
        status = cli_report(ctx, prefix, &err);
    } else {
        status = CLI_OK;
    }
    free(path);
    free(xml);
    return status;
}

/* copy DOMAIN vda,vdb --dest-dir DIR, or copy DOMAIN --all --dest-dir DIR:
 * every disk into DIR under its source's name, switched together. */
static int copy_group(cli_ctx *ctx, const cli_args *args,
                      const struct copy_opts *o, const char *format)
{
    const char *dir = cli_arg(args, "dest-dir");
    bc_disk_info *disks = NULL;
    size_t ndisks = 0, i, nlabels = 0;
    const char **labels = NULL;
    char *list = NULL, *name, *save = NULL;
    bc_group *g = NULL;
    bc_conn *conn = NULL;
    struct stat st;
    bc_error err;
    int status = CLI_USAGE;

    bc_error_init(&err);
    if (!dir) {
        cli_error("copying several disks needs --dest-dir DIR");
        return CLI_USAGE;
    }
    errno = 0;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--dest-dir '%s' is not a directory%s%s", dir,
                  errno ? ": " : "", errno ? strerror(errno) : "");
        return CLI_USAGE;
    }
    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        return status;
    if (cli_flag(args, "dry-run"))
        bc_conn_set_dry_run(conn, print_dry_run, ctx);
    if (bc_disks_list(conn, &disks, &ndisks, &err) < 0 ||
        !(g = bc_group_new(&err))) {
        status = cli_report(ctx, NULL, &err);
        goto out;
    }
    if (!(labels = calloc(ndisks + 1, sizeof(*labels)))) {
        cli_error("out of memory");
        status = CLI_FAILED;
        goto out;
    }
    status = CLI_OK;
    if (cli_flag(args, "all")) {
        for (i = 0; i < ndisks && status == CLI_OK; i++) {
            const bc_disk_info *d = &disks[i];
            const char *why = not_copied(d);
            const char *label = d->target ? d->target : d->device;

            if (why) {
                cli_warn("skipping '%s': %s", cli_safe(label), why);
                continue;
            }
            status = add_to_dir(ctx, g, conn, d, label, dir, format, o);
            labels[nlabels++] = label;
        }
    } else {
        if (!(list = strdup(cli_arg(args, "disk")))) {
            cli_error("out of memory");
            status = CLI_FAILED;
            goto out;
        }
        for (name = strtok_r(list, ",", &save); name && status == CLI_OK;
             name = strtok_r(NULL, ",", &save)) {
            const bc_disk_info *d = find_disk(disks, ndisks, name);

            if (!d) {
                cli_error("no disk '%s' in the VM (see 'blockcopy disks')",
                          cli_safe(name));
                status = CLI_USAGE;
            } else {
                /* A disk named twice, by any of its names, is refused by
                 * the group: at most ndisks labels. */
                status = add_to_dir(ctx, g, conn, d, name, dir, format, o);
                labels[nlabels++] = name;
            }
        }
    }
    if (status != CLI_OK)
        goto out;
    if (nlabels == 0) {
        cli_error("the VM has no disk to copy");
        status = CLI_USAGE;
        goto out;
    }
    status = cli_run_group(ctx, g, labels, o->wait, o->after,
                           cli_flag(args, "verbose"), o->timeout,
                           cli_flag(args, "dry-run"));

 out:
    bc_group_free(g);
    free(labels);
    free(list);
    bc_disks_free(disks, ndisks);
    cli_disconnect(ctx, conn);
    return status;
}

int cli_cmd_copy(cli_ctx *ctx, const cli_args *args)
{
    const char *disk = cli_arg(args, "disk");
    const char *format = cli_flag(args, "raw") ? "raw" : cli_arg(args, "format");
    struct copy_opts o;
    struct stat st;
    char *xml = NULL, *canon = NULL;
    bc_conn *conn = NULL;
    bc_error err;
    int status = CLI_USAGE;

    memset(&o, 0, sizeof(o));
    bc_error_init(&err);
    if (collect(ctx, args, &o) < 0)
        goto out;
    if (cli_has(args, "dest-dir") || cli_flag(args, "all") ||
        (disk && strchr(disk, ','))) {
        status = copy_group(ctx, args, &o, format);
        goto out;
    }

    if (cli_has(args, "dest") && !cli_flag(args, "blockdev") &&
        stat(cli_arg(args, "dest"), &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("destination '%s' is a directory", cli_arg(args, "dest"));
        goto out;
    }
    if (!format && cli_has(args, "dest") && !cli_flag(args, "blockdev") &&
        !cli_flag(args, "reuse-external"))
        format = cli_format_from_name(cli_arg(args, "dest"));

    if (cli_has(args, "xml")) {
        if (!(xml = read_xml(ctx, cli_arg(args, "xml"))))
            goto out;
    } else if (!(xml = bc_dest_xml_from_path(cli_arg(args, "dest"), format,
                                             cli_flag(args, "blockdev"),
                                             &err))) {
        status = cli_report(ctx, NULL, &err);
        goto out;
    }

    if (cli_flag(args, "print-xml")) {
        if (!(canon = bc_dest_xml_canonical(xml, &err))) {
            status = cli_report(ctx, NULL, &err);
            goto out;
        }
        if (ctx->json) {
            json_object *doc = json_object_new_object();

            json_object_object_add(doc, "type", json_object_new_string("xml"));
            json_object_object_add(doc, "xml", json_object_new_string(canon));
            cli_print_json_obj(doc);
        } else {
            fputs(canon, stdout);
            if (canon[0] && canon[strlen(canon) - 1] != '\n')
                fputc('\n', stdout);
        }
        status = CLI_OK;
        goto out;
    }

    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        goto out;
    if (cli_flag(args, "dry-run"))
        bc_conn_set_dry_run(conn, print_dry_run, ctx);

    /* From here a signal must not kill the tool half way: it aborts the
     * copy once the copy has started. */
    cli_signals_take(ctx);
    cli_signals_catch(ctx);
    if (bc_block_copy(conn, disk, xml, o.params, o.nparams, o.flags,
                      &err) < 0) {
        status = cli_report_on(ctx, bc_error_is_usage(&err) ? NULL
                               : "Copy failed: ", &err, conn, disk);
        goto out;
    }
    if (cli_flag(args, "dry-run")) {
        status = CLI_OK;
        goto out;
    }
    if (!o.wait && (ctx->last_signal = cli_signals_take(ctx))) {
        if (bc_block_job_abort(conn, disk, 0, &err) < 0)
            status = cli_report(ctx, "cannot abort the copy: ", &err);
        else
            status = print_aborted(ctx, disk);
        goto out;
    }
    if (!o.wait) {
        print_started(ctx, disk);
        status = CLI_OK;
        goto out;
    }
    status = cli_wait_job(ctx, conn, disk, o.after, cli_flag(args, "verbose"),
                          o.timeout, cli_flag(args, "async"), false, o.converge);

 out:
    cli_signals_default();
    cli_disconnect(ctx, conn);
    bc_typed_params_free(o.params, o.nparams);
    free(xml);
    free(canon);
    return status;
}
