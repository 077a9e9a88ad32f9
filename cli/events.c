/*
 * QEMU's events on the shell's connection, shown while the shell waits
 * for input: a copy that got ready or ended, an I/O error, the VM going
 * down.  Everything else QEMU reports is noise at a prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "shell.h"

static const char *const shown[] = {
    "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED",
    "BLOCK_JOB_ERROR", "SHUTDOWN", NULL
};

typedef struct event_copy {
    char *name;
    json_object *data;
} event_copy;

typedef struct event_list {
    event_copy *v;
    size_t n;
    size_t cap;
} event_list;

/* The event's strings live only during the callback, and asking QEMU
 * which disk a job is on must wait until the events are all taken. */
static void collect(const bc_event *e, void *opaque)
{
    event_list *l = opaque;
    size_t i;

    for (i = 0; shown[i] && strcmp(shown[i], e->name) != 0; i++)
        ;
    if (!shown[i])
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        event_copy *grown = realloc(l->v, cap * sizeof(*grown));

        if (!grown)
            return;
        l->v = grown;
        l->cap = cap;
    }
    if (!(l->v[l->n].name = strdup(e->name)))
        return;
    l->v[l->n].data = json_tokener_parse(e->data_json);
    l->n++;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static const char *job_label(const char *type)
{
    if (type && !strcmp(type, "mirror"))
        return "Block Copy";
    if (type && !strcmp(type, "commit"))
        return "Block Commit";
    if (type && !strcmp(type, "stream"))
        return "Block Pull";
    if (type && !strcmp(type, "backup"))
        return "Backup";
    return "Block job";
}

typedef struct vm_state {
    bc_job_info *jobs;
    size_t njobs;
    bc_disk_info *disks;
    size_t ndisks;
} vm_state;

static bool same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* The disk a job works on, by the name 'disks' shows first. */
static const char *job_disk(const vm_state *vm, const char *id)
{
    const char *label = NULL;
    size_t i;

    for (i = 0; id && i < vm->njobs; i++)
        if (same(vm->jobs[i].id, id))
            label = vm->jobs[i].disk;
    for (i = 0; label && i < vm->ndisks; i++) {
        const bc_disk_info *d = &vm->disks[i];

        if (d->target && (same(d->device, label) || same(d->drive, label) ||
                          same(d->node, label)))
            return d->target;
    }
    return label;
}

/* One line about one event, for people. */
static void describe(FILE *out, const char *domain, const event_copy *e,
                     const vm_state *vm)
{
    const char *id = str(e->data, "device");
    const char *disk = job_disk(vm, id);
    const char *what = job_label(str(e->data, "type"));
    const char *error = str(e->data, "error");

    fprintf(out, "[%s] ", cli_safe(domain));
    if (!strcmp(e->name, "SHUTDOWN")) {
        const char *reason = str(e->data, "reason");

        fprintf(out, "the VM shut down%s%s%s\n", reason ? " (" : "",
                reason ? cli_safe(reason) : "", reason ? ")" : "");
        return;
    }
    if (disk)
        fprintf(out, "%s: ", cli_safe(disk));
    else
        fprintf(out, "job '%s': ", id ? cli_safe(id) : "?");
    if (!strcmp(e->name, "BLOCK_JOB_READY"))
        fprintf(out, "%s ready, now in mirroring phase\n", what);
    else if (!strcmp(e->name, "BLOCK_JOB_COMPLETED") && error)
        fprintf(out, "%s failed: %s\n", what, cli_safe(error));
    else if (!strcmp(e->name, "BLOCK_JOB_COMPLETED"))
        fprintf(out, "%s completed\n", what);
    else if (!strcmp(e->name, "BLOCK_JOB_CANCELLED"))
        fprintf(out, "%s cancelled\n", what);
    else
        fprintf(out, "%s: I/O error on %s (action: %s)\n", what,
                str(e->data, "operation") ? cli_safe(str(e->data, "operation"))
                                          : "?",
                str(e->data, "action") ? cli_safe(str(e->data, "action"))
                                       : "?");
}

static void describe_json(FILE *out, const char *domain, const event_copy *e,
                          const vm_state *vm)
{
    json_object *o = json_object_new_object();
    const char *disk = job_disk(vm, str(e->data, "device"));

    json_object_object_add(o, "type", json_object_new_string("event"));
    json_object_object_add(o, "domain", json_object_new_string(domain));
    json_object_object_add(o, "event", json_object_new_string(e->name));
    if (disk)
        json_object_object_add(o, "disk", json_object_new_string(disk));
    json_object_object_add(o, "data", json_object_get(e->data));
    cli_fprint_json(out, json_object_to_json_string_ext(
                                 o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void describe_lost(FILE *out, cli_ctx *ctx, const bc_error *err)
{
    if (ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("event"));
        json_object_object_add(o, "domain",
                               json_object_new_string(ctx->domain));
        json_object_object_add(o, "event",
                               json_object_new_string("disconnected"));
        json_object_object_add(o, "error",
                               json_object_new_string(err->message));
        cli_fprint_json(out, json_object_to_json_string_ext(
                                 o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else if (err->code == BC_ERR_CLOSED) {
        fprintf(out, "[%s] QEMU went away: disconnected\n",
                cli_safe(ctx->domain));
    } else {
        fprintf(out, "[%s] the monitor connection broke (%s): disconnected\n",
                cli_safe(ctx->domain), cli_safe(err->message));
    }
}

void cli_shell_events(cli_ctx *ctx, bool show, char **text)
{
    event_list l = { NULL, 0, 0 };
    vm_state vm = { NULL, 0, NULL, 0 };
    size_t i, size = 0;
    bc_error err;
    FILE *out = NULL;
    int rc;

    *text = NULL;
    if (!ctx->conn)
        return;
    bc_error_init(&err);
    rc = bc_conn_dispatch_events(ctx->conn, show ? collect : NULL, &l, &err);
    if (!show)
        goto out;
    if (rc == 0 && l.n == 0)
        goto out;
    if (!(out = open_memstream(text, &size)))
        goto out;

    if (rc == 0) {
        bc_error ignored;

        /* Events name a job by its id: the VM knows the disk. */
        bc_error_init(&ignored);
        bc_block_jobs_list(ctx->conn, &vm.jobs, &vm.njobs, &ignored);
        bc_disks_list(ctx->conn, &vm.disks, &vm.ndisks, &ignored);
    }
    for (i = 0; i < l.n; i++) {
        if (ctx->json)
            describe_json(out, ctx->domain, &l.v[i], &vm);
        else
            describe(out, ctx->domain, &l.v[i], &vm);
    }
    if (rc < 0)
        describe_lost(out, ctx, &err);
    fclose(out);

 out:
    /* A connection that broke stays broken: forget it. */
    if (show && rc < 0)
        cli_shell_disconnect(ctx);
    for (i = 0; i < l.n; i++) {
        free(l.v[i].name);
        json_object_put(l.v[i].data);
    }
    free(l.v);
    bc_job_infos_free(vm.jobs, vm.njobs);
    bc_disks_free(vm.disks, vm.ndisks);
}
