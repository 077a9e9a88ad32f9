/*
 * qmp-floor: the least a QMP client can do to copy a disk live and pivot.
 *
 *   qmp-floor SOCKET DEVICE DEST SIZE [CLUSTER-SIZE]
 *
 * It sends the sequence blockcopy sends for a qcow2 destination, and
 * nothing else: blockdev-create of the file, blockdev-add, blockdev-create
 * of the qcow2 layer, blockdev-add (both nodes with discard=unmap),
 * blockdev-mirror, job-complete the moment the job is ready, job-dismiss.
 * It knows the size and cluster size from its caller, so it needs no
 * query, and it reacts to events only.  Its wall time is the floor that
 * blockcopy's is measured against in `make bench`.
 *
 * Exit status 0 when the disk has pivoted, 1 on any failure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

struct qmp {
    int fd;
    json_tokener *tok;
    char buf[65536];
    size_t len, pos;
};

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "qmp-floor: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool str_is(json_object *o, const char *key, const char *want)
{
    const char *v = str(o, key);

    return v && strcmp(v, want) == 0;
}

/* The next JSON object QEMU sends. */
static json_object *qmp_read(struct qmp *q)
{
    json_object *obj;
    enum json_tokener_error jerr;
    ssize_t n;

    for (;;) {
        while (q->pos < q->len) {
            /* Skip the newlines between messages. */
            if (q->buf[q->pos] == '\n' || q->buf[q->pos] == '\r') {
                q->pos++;
                continue;
            }
            obj = json_tokener_parse_ex(q->tok, q->buf + q->pos,
                                        (int)(q->len - q->pos));
            jerr = json_tokener_get_error(q->tok);
            if (jerr == json_tokener_continue) {
                q->pos = q->len;
                break;
            }
            if (jerr != json_tokener_success)
                die("bad JSON from QEMU: %s", json_tokener_error_desc(jerr));
            q->pos += json_tokener_get_parse_end(q->tok);
            json_tokener_reset(q->tok);
            return obj;
        }
        q->pos = q->len = 0;
        n = read(q->fd, q->buf, sizeof(q->buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("%s", "QEMU closed the monitor");
        q->len = (size_t)n;
    }
}

/* What a job's events say; filled as they arrive, whoever waits. */
struct jobs {
    const char *mirror;
    bool mirror_ready;
    bool mirror_concluded;
    bool mirror_failed;
    const char *create;
    bool create_concluded;
    bool create_failed;
};

static void on_event(struct jobs *j, json_object *ev)
{
    const char *name = str(ev, "event");
    json_object *data = NULL;
    const char *id, *status;

    json_object_object_get_ex(ev, "data", &data);
    if (strcmp(name, "JOB_STATUS_CHANGE") == 0) {
        id = str(data, "id");
        status = str(data, "status");
        if (!id || !status)
            return;
        if (j->create && strcmp(id, j->create) == 0) {
            if (strcmp(status, "aborting") == 0)
                j->create_failed = true;
            else if (strcmp(status, "concluded") == 0)
                j->create_concluded = true;
        } else if (j->mirror && strcmp(id, j->mirror) == 0) {
            /* "ready" comes just before BLOCK_JOB_READY: act on it. */
            if (strcmp(status, "ready") == 0)
                j->mirror_ready = true;
            else if (strcmp(status, "aborting") == 0)
                j->mirror_failed = true;
            else if (strcmp(status, "concluded") == 0)
                j->mirror_concluded = true;
        }
    } else if (strcmp(name, "BLOCK_JOB_COMPLETED") == 0 && j->mirror &&
               str_is(data, "device", j->mirror) && str(data, "error")) {
        fprintf(stderr, "qmp-floor: copy failed: %s\n", str(data, "error"));
        j->mirror_failed = true;
    }
}

/* Send a command and wait for its answer, taking events on the way. */
static void qmp_run(struct qmp *q, struct jobs *j, const char *cmd,
                    json_object *args)
{
    json_object *msg = json_object_new_object(), *r, *e;
    const char *text;
    size_t len, off = 0;
    ssize_t n;

    json_object_object_add(msg, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(msg, "arguments", args);
    text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    len = strlen(text);
    while (off < len) {
        n = write(q->fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("cannot write to the monitor: %s", strerror(errno));
        off += (size_t)n;
    }
    json_object_put(msg);

    for (;;) {
        r = qmp_read(q);
        if (json_object_object_get_ex(r, "event", NULL)) {
            on_event(j, r);
        } else if (json_object_object_get_ex(r, "error", &e)) {
            fprintf(stderr, "qmp-floor: %s: %s\n", cmd, str(e, "desc"));
            exit(1);
        } else if (json_object_object_get_ex(r, "return", NULL)) {
            json_object_put(r);
            return;
        }
        json_object_put(r);
    }
}

/* Wait until an event sets *flag (or *failed). */
static void wait_for(struct qmp *q, struct jobs *j, const bool *flag,
                     const bool *failed, const char *what)
{
    json_object *r;

    while (!*flag && !*failed) {
        r = qmp_read(q);
        if (json_object_object_get_ex(r, "event", NULL))
            on_event(j, r);
        json_object_put(r);
    }
    if (*failed)
        die("%s failed", what);
}

static json_object *obj(void)
{
    return json_object_new_object();
}

static json_object *add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
    return o;
}

static json_object *s(const char *v)
{
    return json_object_new_string(v);
}

static void create(struct qmp *q, struct jobs *j, const char *id,
                   json_object *options)
{
    j->create = id;
    j->create_concluded = j->create_failed = false;
    qmp_run(q, j, "blockdev-create",
            add(add(obj(), "job-id", s(id)), "options", options));
    wait_for(q, j, &j->create_concluded, &j->create_failed, id);
    qmp_run(q, j, "job-dismiss", add(obj(), "id", s(id)));
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct qmp q = { .fd = -1 };
    struct jobs j = { 0 };
    const char *sock, *device, *dest;
    long long size, cluster = 0;
    json_object *o, *greeting;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: qmp-floor SOCKET DEVICE DEST SIZE "
                "[CLUSTER-SIZE]\n");
        return 2;
    }
    sock = argv[1];
    device = argv[2];
    dest = argv[3];
    size = atoll(argv[4]);
    if (argc == 6)
        cluster = atoll(argv[5]);
    if (strlen(sock) >= sizeof(sa.sun_path))
        die("socket path '%s' is too long", sock);
    strcpy(sa.sun_path, sock);

    if ((q.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(q.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("cannot connect to '%s'", sock);
    q.tok = json_tokener_new();
    greeting = qmp_read(&q);
    json_object_put(greeting);
    qmp_run(&q, &j, "qmp_capabilities", NULL);

    create(&q, &j, "fl-create-f",
           add(add(add(obj(), "driver", s("file")), "filename", s(dest)),
               "size", json_object_new_int64(0)));
    qmp_run(&q, &j, "blockdev-add",
            add(add(add(add(obj(), "driver", s("file")), "node-name",
                        s("fl-f")), "filename", s(dest)),
                "discard", s("unmap")));
    o = add(add(add(obj(), "driver", s("qcow2")), "file", s("fl-f")), "size",
            json_object_new_int64(size));
    if (cluster)
        add(o, "cluster-size", json_object_new_int64(cluster));
    create(&q, &j, "fl-create-t", o);
    qmp_run(&q, &j, "blockdev-add",
            add(add(add(add(add(obj(), "driver", s("qcow2")), "node-name",
                            s("fl-t")), "file", s("fl-f")),
                    "discard", s("unmap")), "backing", NULL));

    j.mirror = "fl";
    qmp_run(&q, &j, "blockdev-mirror",
            add(add(add(add(add(obj(), "job-id", s("fl")), "device",
                                s(device)), "target", s("fl-t")),
                        "sync", s("full")),
                "auto-dismiss", json_object_new_boolean(0)));
    wait_for(&q, &j, &j.mirror_ready, &j.mirror_failed, "the copy");
    qmp_run(&q, &j, "job-complete", add(obj(), "id", s("fl")));
    wait_for(&q, &j, &j.mirror_concluded, &j.mirror_failed, "the pivot");
    qmp_run(&q, &j, "job-dismiss", add(obj(), "id", s("fl")));

    json_tokener_free(q.tok);
    close(q.fd);
    return 0;
}
