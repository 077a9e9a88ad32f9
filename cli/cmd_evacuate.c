/*
 * evacuate --from DIR --to DIR: move every disk of every running VM whose
 * image lies under DIR to the same place under the other, a few copies at
 * a time, the disks of one VM switched together, sharing one bandwidth.
 * Running it again after an interruption takes up where it stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

/* Copies at once without --parallel: enough to keep a storage array
 * busy, few enough that each gets a fair share of it. */
#define EVACUATE_PARALLEL 4

typedef enum { ACT_COPY, ACT_ADOPT } action;

struct item {
    size_t vm;              /* index in the VM table */
    char *disk;             /* its target name */
    char *from, *to;
    unsigned long long allocated;
    action act;
    char *label;            /* "VM/DISK" */
};

struct vm {
    char *name;
    bc_conn *conn;
};

struct plan {
    struct vm *vms;
    size_t nvms;
    struct item *items;
    size_t nitems;
    size_t moved_before;    /* disks already under --to */
    size_t problems;        /* disks or VMs that cannot be moved */
};

/* 'path' made absolute and free of links, which must be a directory. */
static char *real_dir(const char *opt, const char *path)
{
    struct stat st;
    char *real;

    if (path[0] != '/') {
        cli_error("--%s '%s' is not an absolute path", opt, path);
        return NULL;
    }
    if (!(real = realpath(path, NULL)) || stat(real, &st) < 0 ||
        !S_ISDIR(st.st_mode)) {
        cli_error("--%s '%s' is not a directory%s%s", opt, path,
                  real ? "" : ": ", real ? "" : strerror(errno));
        free(real);
        return NULL;
    }
    return real;
}

/* 'path' relative to directory 'dir', or NULL if it is not under it. */
static const char *under(const char *path, const char *dir)
{
    size_t len = strlen(dir);

    if (strncmp(path, dir, len) != 0)
        return NULL;
    if (len == 1)
        return path + 1;
    return path[len] == '/' && path[len + 1] ? path + len + 1 : NULL;
}

static void plan_clear(struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nitems; i++) {
        free(p->items[i].disk);
        free(p->items[i].from);
        free(p->items[i].to);
        free(p->items[i].label);
    }
    for (i = 0; i < p->nvms; i++) {
        free(p->vms[i].name);
        bc_conn_free(p->vms[i].conn);
    }
    free(p->items);
    free(p->vms);
}

static int add_item(struct plan *p, size_t vm, const char *disk,
                    const char *from, const char *to, action act)
{
    struct item *it, *items;
    struct stat st;

    if (!(items = realloc(p->items, (p->nitems + 1) * sizeof(*items))))
        return -1;
    p->items = items;
    it = &p->items[p->nitems];
    memset(it, 0, sizeof(*it));
    it->vm = vm;
    it->act = act;
    if (stat(from, &st) == 0)
        it->allocated = (unsigned long long)st.st_blocks * 512;
    if (!(it->disk = strdup(disk)) || !(it->from = strdup(from)) ||
        !(it->to = strdup(to)) ||
        asprintf(&it->label, "%s/%s", p->vms[vm].name, disk) < 0) {
        free(it->disk);
        free(it->from);
        free(it->to);
        return -1;
    }
    p->nitems++;
    return 0;
}

/* What to do with each disk of the VM on 'conn'. */
static int plan_vm(cli_ctx *ctx, struct plan *p, size_t vm,
                   const char *from, const char *to)
{
    bc_conn *conn = p->vms[vm].conn;
    bc_disk_info *disks = NULL;
    size_t n = 0, i;
    bc_error err;
    int ret = 0;

    bc_error_init(&err);
    if (bc_disks_list(conn, &disks, &n, &err) < 0) {
        cli_warn("cannot list the disks of VM '%s': %s",
                 cli_safe(p->vms[vm].name), cli_safe(err.message));
        p->problems++;
        return 0;
    }
    for (i = 0; i < n && ret == 0; i++) {
        const char *label = disks[i].target ? disks[i].target
                                            : disks[i].device;
        char *real = disks[i].source && disks[i].source[0] == '/'
                         ? realpath(disks[i].source, NULL) : NULL;
        const char *rel = real ? under(real, from) : NULL;
        char *dest = NULL;
        bc_job_info job = { 0 };
        struct stat st;
        int rc;

        if (real && !rel && under(real, to))
            p->moved_before++;
        if (!rel) {
            free(real);
            continue;
        }
        if (asprintf(&dest, "%s%s%s", to, strcmp(to, "/") ? "/" : "",
                     rel) < 0) {
            free(real);
            return -1;
        }
        rc = bc_block_job_info(conn, label, &job, &err);
        if (rc == 1 && job.target && !strcmp(job.target, dest)) {
            /* An earlier run's copy, still running: taken up. */
            ret = add_item(p, vm, label, real, dest, ACT_ADOPT);
        } else if (rc != 0) {
            cli_warn("%s/%s: not moved: %s", cli_safe(p->vms[vm].name),
                     cli_safe(label), rc < 0 ? cli_safe(err.message)
                     : "another block job runs on it");
            p->problems++;
        } else if (lstat(dest, &st) == 0) {
            cli_warn("%s/%s: not moved: '%s' exists already (left by an "
                     "earlier run that failed?): remove it to move the disk",
                     cli_safe(p->vms[vm].name), cli_safe(label),
                     cli_safe(dest));
            p->problems++;
        } else {
            ret = add_item(p, vm, label, real, dest, ACT_COPY);
        }
        bc_job_info_clear(&job);
        free(real);
        free(dest);
    }
    bc_disks_free(disks, n);
    return ret;
}

/*
 * Whether QEMU process 'pid' may have an image under 'from' or 'to'
 * open: what /proc says it has open.  A VM with nothing there is left
 * alone: not even its monitor is taken.  True when /proc cannot tell.
 */
static bool may_use(int pid, const char *from, const char *to)
{
    char dir[64], root[PATH_MAX], target[PATH_MAX];
    struct dirent *de;
    bool found = false;
    size_t rootlen;
    ssize_t len;
    DIR *d;

    if (pid <= 0)
        return true;
    /* A QEMU in a chroot or a container names its files from its own
     * root, and /proc shows them from ours. */
    snprintf(dir, sizeof(dir), "/proc/%d/root", pid);
    if ((len = readlink(dir, root, sizeof(root) - 1)) <= 0)
        return true;
    root[len] = '\0';
    rootlen = strcmp(root, "/") ? (size_t)len : 0;
    snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
    if (!(d = opendir(dir)))
        return true;
    while (!found && (de = readdir(d))) {
        const char *f = target;

        if (de->d_name[0] == '.')
            continue;
        if ((len = readlinkat(dirfd(d), de->d_name, target,
                              sizeof(target) - 1)) <= 0)
            continue;
        target[len] = '\0';
        if (rootlen && !strncmp(target, root, rootlen) &&
            target[rootlen] == '/')
            f = target + rootlen;
        found = under(f, from) || under(f, to);
    }
    closedir(d);
    return found;
}

/* Every VM the tool can reach whose disks lie under 'from'. */
static int make_plan(cli_ctx *ctx, struct plan *p, const char *from,
                     const char *to)
{
    bc_domain_info *doms = NULL;
    size_t n = 0, i, j, before;
    bc_error err;
    int ret = 0;

    bc_error_init(&err);
    if (bc_domains_list(&doms, &n, &err) < 0)
        return cli_report(ctx, NULL, &err), -1;
    if (!(p->vms = calloc(n ? n : 1, sizeof(*p->vms))))
        goto oom;
    for (i = 0; i < n && ret == 0; i++) {
        const bc_domain_info *d = &doms[i];
        char note[256];
        struct vm *vm;

        if (!d->address || cli_domain_note(ctx, d, note, sizeof(note)))
            continue;
        /* One monitor a VM: a free one where it has several. */
        for (j = 0; j < n; j++) {
            bool free_i = !strcmp(d->state, "free");
            bool free_j = !strcmp(doms[j].state, "free");

            if (j != i && d->pid > 0 && doms[j].pid == d->pid &&
                doms[j].address &&
                ((free_j && !free_i) || (free_j == free_i && j < i)))
                break;
        }
        if (j < n || !may_use(d->pid, from, to))
            continue;
        vm = &p->vms[p->nvms];
        if (!(vm->name = strdup(d->name)))
            goto oom;
        p->nvms++;
        if (!(vm->conn = bc_conn_open_opts(d->address, &ctx->conn_opts,
                                           &err))) {
            cli_warn("cannot reach VM '%s': %s", cli_safe(d->name),
                     cli_safe(err.message));
            p->problems++;
            continue;
        }
        bc_conn_set_warning_cb(vm->conn, cli_warning_cb, ctx);
        before = p->nitems;
        ret = plan_vm(ctx, p, p->nvms - 1, from, to);
        /*
         * A VM with nothing to move is let go: its monitor may be the one
         * another client needs while the others are moved.
         */
        if (p->nitems == before) {
            bc_conn_free(vm->conn);
            vm->conn = NULL;
        }
    }
    bc_domains_free(doms, n);
    if (ret < 0)
        cli_error("out of memory");
    return ret;

 oom:
    bc_domains_free(doms, n);
    cli_error("out of memory");
    return -1;
}

static void print_plan(cli_ctx *ctx, const struct plan *p)
{
    char size[32];
    size_t i;

    if (!ctx->json && !ctx->quiet)
        printf("%-16s %-8s %-6s %9s  %s -> %s\n", "VM", "Disk", "Action",
               "Allocated", "From", "To");
    for (i = 0; i < p->nitems; i++) {
        const struct item *it = &p->items[i];
        const char *act = it->act == ACT_COPY ? "copy" : "adopt";

        if (ctx->json) {
            json_object *o = json_object_new_object();

            json_object_object_add(o, "type", json_object_new_string("plan"));
            json_object_object_add(o, "vm", json_object_new_string(
                                                p->vms[it->vm].name));
            json_object_object_add(o, "disk", json_object_new_string(it->disk));
            json_object_object_add(o, "action", json_object_new_string(act));
            json_object_object_add(o, "from", json_object_new_string(it->from));
            json_object_object_add(o, "to", json_object_new_string(it->to));
            json_object_object_add(o, "allocated",
                                   json_object_new_uint64(it->allocated));
            cli_print_json_obj(o);
        } else if (!ctx->quiet) {
            printf("%-16s %-8s %-6s %9s  %s -> %s\n",
                   cli_safe(p->vms[it->vm].name), cli_safe(it->disk), act,
                   cli_human_size((double)it->allocated, size, sizeof(size)),
                   cli_safe(it->from), cli_safe(it->to));
        }
    }
}

/* The directories above 'path' under 'top', made as needed. */
static int make_parents(const char *top, const char *path)
{
    char *dir = strdup(path), *s;
    int ret = 0;

    if (!dir)
        return -1;
    for (s = dir + strlen(top) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            cli_error("cannot make directory '%s': %s", dir, strerror(errno));
            ret = -1;
            break;
        }
        *s = '/';
    }
    free(dir);
    return ret;
}

/* Move the disks of VMs [first, last) of the plan together. */
static int run_wave(cli_ctx *ctx, struct plan *p, size_t first, size_t last,
                    const char *to, cli_after_ready after,
                    unsigned long long bandwidth, bool verbose, int timeout,
                    size_t *moved)
{
    const char **labels = calloc(p->nitems + 1, sizeof(*labels));
    bc_group *g = NULL;
    size_t i, n = 0;
    bc_error err;
    int status = CLI_OK;

    bc_error_init(&err);
    if (!labels || !(g = bc_group_new(&err))) {
        free(labels);
        cli_error("out of memory");
        return CLI_FAILED;
    }
    for (i = 0; i < p->nitems; i++) {
        struct item *it = &p->items[i];
        bc_conn *conn = p->vms[it->vm].conn;
        char *xml = NULL;
        int rc;

        if (it->vm < first || it->vm >= last)
            continue;
        if (it->act == ACT_ADOPT) {
            rc = bc_group_add_job(g, conn, it->disk, &err);
        } else {
            rc = make_parents(to, it->to);
            if (rc == 0 &&
                (!(xml = bc_dest_xml_from_path(it->to, NULL, false, &err)) ||
                 bc_group_add_copy(g, conn, it->disk, xml, NULL, 0, 0,
                                   &err) < 0))
                rc = -1;
            free(xml);
        }
        if (rc < 0) {
            char prefix[300];

            snprintf(prefix, sizeof(prefix), "%s: not moved: ", it->label);
            if (err.code != BC_ERR_NONE)
                cli_report(ctx, prefix, &err);
            bc_error_init(&err);
            status = CLI_FAILED;
            continue;
        }
        labels[n++] = it->label;
    }
    if (n && bandwidth && bc_group_set_bandwidth(g, bandwidth, &err) < 0) {
        cli_report(ctx, NULL, &err);
        status = CLI_FAILED;
    } else if (n) {
        int rc = cli_run_group(ctx, g, labels, true, after, verbose, timeout,
                               false);

        if (rc != CLI_OK)
            status = CLI_FAILED;
        for (i = 0; i < n; i++) {
            bc_group_result r;

            bc_group_result_get(g, i, &r);
            *moved += !r.error && (r.outcome == BC_JOB_EVENT_PIVOTED ||
                                   r.outcome == BC_JOB_EVENT_COPIED);
        }
    }
    bc_group_free(g);
    free(labels);
    return status;
}

int cli_cmd_evacuate(cli_ctx *ctx, const cli_args *args)
{
    char *from = NULL, *to = NULL;
    unsigned long long bandwidth = 0;
    struct plan p;
    int parallel = EVACUATE_PARALLEL, timeout = 0, status = CLI_USAGE;
    cli_after_ready after;
    size_t first, last, moved = 0, i;
    bool verbose;

    memset(&p, 0, sizeof(p));
    if (!cli_exclusive(args, "pivot", "finish") ||
        cli_arg_bandwidth(args, LLONG_MAX, &bandwidth) < 0 ||
        (cli_has(args, "parallel") &&
         cli_arg_int(args, "parallel", &parallel) < 0) ||
        cli_arg_timeout(args, &timeout) < 0 ||
        !(from = real_dir("from", cli_arg(args, "from"))) ||
        !(to = real_dir("to", cli_arg(args, "to"))))
        goto out;
    if (under(to, from) || under(from, to) || !strcmp(from, to)) {
        cli_error("--from '%s' and --to '%s' overlap", from, to);
        goto out;
    }
    after = cli_flag(args, "finish") ? CLI_AFTER_READY_FINISH
                                     : CLI_AFTER_READY_PIVOT;
    /* A script gets JSON lines; a terminal a table redrawn in place. */
    if (!isatty(STDOUT_FILENO))
        ctx->json = true;
    verbose = cli_flag(args, "verbose") || isatty(STDERR_FILENO);

    status = CLI_FAILED;
    if (make_plan(ctx, &p, from, to) < 0)
        goto out;
    if (cli_flag(args, "dry-run")) {
        print_plan(ctx, &p);
        status = p.problems ? CLI_FAILED : CLI_OK;
        goto out;
    }
    status = p.problems ? CLI_FAILED : CLI_OK;
    /* A few copies at once, the disks of a VM always together. */
    for (first = 0; first < p.nvms && !ctx->last_signal; first = last) {
        size_t disks = 0;

        for (last = first; last < p.nvms; last++) {
            size_t d = 0;

            for (i = 0; i < p.nitems; i++)
                d += p.items[i].vm == last;
            if (disks && disks + d > (size_t)parallel)
                break;
            disks += d;
        }
        if (disks && run_wave(ctx, &p, first, last, to, after, bandwidth,
                              verbose, timeout, &moved) != CLI_OK)
            status = CLI_FAILED;
    }
    if (ctx->last_signal)
        status = CLI_FAILED;
    if (ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("result"));
        json_object_object_add(o, "status", json_object_new_string(
                                   status == CLI_OK ? "done" : "incomplete"));
        json_object_object_add(o, "planned", json_object_new_uint64(p.nitems));
        json_object_object_add(o, "moved", json_object_new_uint64(moved));
        json_object_object_add(o, "already", json_object_new_uint64(
                                   p.moved_before));
        json_object_object_add(o, "exit", json_object_new_int(status));
        cli_print_json_obj(o);
    } else if (!ctx->quiet)
        printf("%zu of %zu disk%s %s, %zu already under '%s'%s\n", moved,
               p.nitems, p.nitems == 1 ? "" : "s",
               after == CLI_AFTER_READY_FINISH ? "copied" : "moved",
               p.moved_before, to,
               status == CLI_OK ? "" : "; not everything was moved");

 out:
    plan_clear(&p);
    free(from);
    free(to);
    return status;
}
