/*
 * QMP client.
 *
 * The stream is parsed incrementally with one json_tokener: bytes are fed
 * as they arrive, so a message split across reads and several messages in
 * one read are both handled, and a message is refused once it grows past
 * BC_QMP_MAX_MESSAGE without ever holding more than that in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "jsonutil.h"
#include "qmp.h"

#define READ_CHUNK 65536

/* Commands whose reply is still owed after their timeout passed. */
#define MAX_LATE 8

/* A command that timed out: its reply, when it comes, says whether QEMU
 * ran it after all. */
struct late {
    char id[32];
    int state;                  /* 0 owed, 1 ran, -1 refused */
    char cls[64];
    char desc[512];
};

struct bc_qmp {
    int fd;
    char *address;              /* for messages */
    int connect_ms;
    int greeting_ms;
    int command_ms;

    json_tokener *tok;
    bool in_message;            /* the tokener holds part of a message */
    size_t message_bytes;       /* bytes of the current message so far */
    char *rbuf;
    size_t rpos, rlen;

    bool broken;                /* the stream cannot be trusted any more */
    unsigned long long next_id;
    char last_id[32];           /* of the last command sent */
    struct late late[MAX_LATE];
    unsigned int nlate;         /* slots used, oldest overwritten */
    int version[3];

    bc_qmp_event *ev_head, *ev_tail;
    size_t ev_count;
    bool ev_lost;

    bc_qmp_trace_cb trace;
    void *trace_opaque;

    /* A unix socket must be served by this uid (bc_qmp_require_peer()). */
    bool check_peer;
    uid_t peer_uid;
};

bc_qmp *bc_qmp_new(void)
{
    bc_qmp *q = calloc(1, sizeof(*q));

    if (!q)
        return NULL;
    q->fd = -1;
    q->connect_ms = 5000;
    q->greeting_ms = 2000;
    q->command_ms = 30000;
    q->tok = json_tokener_new_ex(64);
    q->rbuf = malloc(READ_CHUNK);
    if (!q->tok || !q->rbuf) {
        bc_qmp_free(q);
        return NULL;
    }
    json_tokener_set_flags(q->tok, JSON_TOKENER_STRICT |
                                   JSON_TOKENER_ALLOW_TRAILING_CHARS);
    return q;
}

void bc_qmp_event_free(bc_qmp_event *ev)
{
    if (!ev)
        return;
    free(ev->name);
    json_object_put(ev->data);
    free(ev);
}

void bc_qmp_free(bc_qmp *q)
{
    bc_qmp_event *ev, *next;

    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    for (ev = q->ev_head; ev; ev = next) {
        next = ev->next;
        bc_qmp_event_free(ev);
    }
    if (q->tok)
        json_tokener_free(q->tok);
    free(q->rbuf);
    free(q->address);
    free(q);
}

void bc_qmp_set_timeouts(bc_qmp *q, int connect_ms, int greeting_ms,
                         int command_ms)
{
    if (connect_ms > 0)
        q->connect_ms = connect_ms;
    if (greeting_ms > 0)
        q->greeting_ms = greeting_ms;
    if (command_ms > 0)
        q->command_ms = command_ms;
}

int bc_qmp_command_timeout(const bc_qmp *q)
{
    return q->command_ms;
}

void bc_qmp_set_trace(bc_qmp *q, bc_qmp_trace_cb cb, void *opaque)
{
    q->trace = cb;
    q->trace_opaque = opaque;
}

int bc_qmp_fd(const bc_qmp *q)
{
    return q->fd;
}

void bc_qmp_version(const bc_qmp *q, int *major, int *minor, int *micro)
{
    if (major)
        *major = q->version[0];
    if (minor)
        *minor = q->version[1];
    if (micro)
        *micro = q->version[2];
}

static int64_t deadline_after(int ms)
{
    return ms < 0 ? 0 : bc_now_us() + (int64_t)ms * 1000;
}

/* ---- connecting ---------------------------------------------------- */

/*
 * The owner of a socket file says little about who listens on it: the
 * file can be swapped between the lookup and the connect(), or made by
 * one user and served by another.  The kernel knows who called listen().
 */
static int check_peer(int fd, const char *path, uid_t want, bc_error *err)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    char got_user[160], want_user[160];

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return bc_set_error_errno(err, BC_ERR_CONNECT, errno,
                                  "cannot tell who listens on '%s'", path);
    if (cred.uid == want)
        return 0;
    return bc_set_error(err, BC_ERR_NO_DOMAIN,
                        "monitor socket '%s' is served by a process of %s, "
                        "not of %s as the lookup found: refused by name; "
                        "give the socket path if you trust it", path,
                        bc_user_describe(cred.uid, got_user, sizeof(got_user)),
                        bc_user_describe(want, want_user, sizeof(want_user)));
}

static int connect_unix(bc_qmp *q, const char *path, bc_error *err)
{
    struct sockaddr_un sun;
    struct stat st;
    int64_t deadline = deadline_after(q->connect_ms);
    int fd, e;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path))
        return bc_set_error(err, BC_ERR_CONNECT,
                            "socket path '%s' is too long (at most %zu bytes)",
                            path, sizeof(sun.sun_path) - 1);
    memcpy(sun.sun_path, path, strlen(path));

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                  "cannot create a socket");
    /* A listener whose backlog is full (clients queue for a monitor that
     * another client holds) makes a non-blocking connect() fail with
     * EAGAIN at once instead of blocking forever: try again until the
     * deadline. */
    while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN && bc_ms_until(deadline) > 0) {
            poll(NULL, 0, 20);
            continue;
        }
        close(fd);
        /* Linux refuses a connection to a file that is not a socket. */
        if (e == ECONNREFUSED && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
            e = ENOTSOCK;
        switch (e) {
        case ENOENT:
            return bc_set_error(err, BC_ERR_CONNECT,
                                "monitor socket '%s' does not exist", path);
        case EACCES:
        case EPERM:
            return bc_set_error(err, BC_ERR_CONNECT,
                                "no permission to connect to monitor socket "
                                "'%s' (try as root or as QEMU's user)", path);
        case ECONNREFUSED:
            return bc_set_error(err, BC_ERR_CONNECT,
                                "connection to '%s' refused: no QEMU is "
                                "listening there (a stale socket?)", path);
        case ENOTSOCK:
            return bc_set_error(err, BC_ERR_CONNECT,
                                "'%s' is not a socket", path);
        case EAGAIN:
            return bc_set_error(err, BC_ERR_BUSY,
                                "'%s' accepts no connection within %d ms: "
                                "clients are queueing for a monitor that "
                                "another client holds", path, q->connect_ms);
        default:
            return bc_set_error_errno(err, BC_ERR_CONNECT, e,
                                      "cannot connect to '%s'", path);
        }
    }
    if (q->check_peer && check_peer(fd, path, q->peer_uid, err) < 0) {
        close(fd);
        return -1;
    }
    q->fd = fd;
    return 0;
}

static int connect_tcp(bc_qmp *q, const char *hostport, bc_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char *host = NULL;
    const char *port, *colon;
    int fd = -1, rc, e = 0;
    int ret = -1;

    colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || !colon[1]) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "invalid address 'tcp:%s': expected tcp:HOST:PORT",
                     hostport);
        goto out;
    }
    port = colon + 1;
    /* "[::1]:4444" names an IPv6 host. */
    if (hostport[0] == '[' && colon[-1] == ']')
        host = strndup(hostport + 1, colon - hostport - 2);
    else
        host = strndup(hostport, colon - hostport);
    if (!host) {
        bc_set_error_oom(err);
        goto out;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        bc_set_error(err, BC_ERR_CONNECT, "cannot resolve '%s': %s",
                     hostport, gai_strerror(rc));
        goto out;
    }

    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        int64_t deadline = deadline_after(q->connect_ms);
        socklen_t len = sizeof(e);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
                    SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        if (e == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            do {
                rc = poll(&pfd, 1, bc_ms_until(deadline));
            } while (rc < 0 && errno == EINTR);
            if (rc == 0) {
                e = ETIMEDOUT;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 &&
                       e == 0) {
                break;
            }
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        if (e == ECONNREFUSED)
            bc_set_error(err, BC_ERR_CONNECT,
                         "connection to '%s' refused: no QEMU is listening "
                         "there", hostport);
        else
            bc_set_error_errno(err, BC_ERR_CONNECT, e,
                               "cannot connect to '%s'", hostport);
        goto out;
    }
    /* Replies are small and latency matters more than packet count. */
    rc = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &rc, sizeof(rc));
    q->fd = fd;
    ret = 0;

 out:
    if (res)
        freeaddrinfo(res);
    free(host);
    return ret;
}

/* ---- reading ------------------------------------------------------- */

static int stream_broken(bc_qmp *q, bc_error *err, bc_error_code code,
                         const char *what)
{
    q->broken = true;
    return bc_set_error(err, code, "%s", what);
}

/*
 * Wait until the socket is readable and read what is there.  Returns 1
 * after reading, 0 on timeout, -1 on error or end of stream.
 */
static int fill_buffer(bc_qmp *q, int64_t deadline, bc_error *err)
{
    struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
    ssize_t n;
    int rc;

    for (;;) {
        rc = poll(&pfd, 1, bc_ms_until(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                      "cannot wait for the monitor");
        if (rc == 0)
            return 0;
        n = read(q->fd, q->rbuf, READ_CHUNK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            q->broken = true;
            return bc_set_error_errno(err, BC_ERR_CLOSED, errno,
                                      "cannot read from the monitor");
        }
        if (n == 0) {
            q->broken = true;
            if (q->in_message)
                return bc_set_error(err, BC_ERR_CLOSED,
                                    "QEMU closed the monitor connection in "
                                    "the middle of a message (%zu bytes "
                                    "read)", q->message_bytes);
            return bc_set_error(err, BC_ERR_CLOSED,
                                "QEMU closed the monitor connection");
        }
        q->rpos = 0;
        q->rlen = (size_t)n;
        return 1;
    }
}

/*
 * Parse one message from what is buffered.  Returns 1 with *obj set, 0 if
 * more input is needed, -1 on a protocol error.
 */
static int parse_buffered(bc_qmp *q, json_object **obj, bc_error *err)
{
    enum json_tokener_error jerr;
    json_object *o;
    size_t avail, used;

    while (q->rpos < q->rlen) {
        if (!q->in_message) {
            /* QMP separates messages with CRLF; skip it between them. */
            while (q->rpos < q->rlen &&
                   strchr(" \t\r\n", q->rbuf[q->rpos]) &&
                   q->rbuf[q->rpos] != '\0')
                q->rpos++;
            if (q->rpos == q->rlen)
                return 0;
            q->in_message = true;
            q->message_bytes = 0;
        }

        /* Never feed the tokener more than the cap allows, so a huge
         * message costs at most the cap in memory. */
        avail = q->rlen - q->rpos;
        if (avail > BC_QMP_MAX_MESSAGE + 1 - q->message_bytes)
            avail = BC_QMP_MAX_MESSAGE + 1 - q->message_bytes;
        o = json_tokener_parse_ex(q->tok, q->rbuf + q->rpos, (int)avail);
        jerr = json_tokener_get_error(q->tok);
        if (jerr == json_tokener_continue) {
            q->rpos += avail;
            q->message_bytes += avail;
            if (q->message_bytes > BC_QMP_MAX_MESSAGE) {
                char msg[128];

                snprintf(msg, sizeof(msg),
                         "message from QEMU exceeds %d MiB; refusing it",
                         BC_QMP_MAX_MESSAGE / (1024 * 1024));
                return stream_broken(q, err, BC_ERR_PROTOCOL, msg);
            }
            continue;
        }
        if (jerr != json_tokener_success) {
            char msg[256];

            snprintf(msg, sizeof(msg), "malformed JSON from QEMU: %s",
                     json_tokener_error_desc(jerr));
            return stream_broken(q, err, BC_ERR_PROTOCOL, msg);
        }
        used = json_tokener_get_parse_end(q->tok);
        q->rpos += used;
        q->message_bytes += used;
        q->in_message = false;
        json_tokener_reset(q->tok);
        if (q->message_bytes > BC_QMP_MAX_MESSAGE) {
            json_object_put(o);
            return stream_broken(q, err, BC_ERR_PROTOCOL,
                                 "message from QEMU exceeds the size limit");
        }
        if (!json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            return stream_broken(q, err, BC_ERR_PROTOCOL,
                                 "message from QEMU is not a JSON object");
        }
        *obj = o;
        return 1;
    }
    return 0;
}

/* Read one whole message.  Returns 1 with *obj, 0 on timeout, -1. */
static int read_message(bc_qmp *q, int64_t deadline, json_object **obj,
                        bc_error *err)
{
    int rc;

    if (q->fd < 0 || q->broken)
        return bc_set_error(err, BC_ERR_CLOSED,
                            "the monitor connection is closed");
    for (;;) {
        rc = parse_buffered(q, obj, err);
        if (rc != 0)
            break;
        rc = fill_buffer(q, deadline, err);
        if (rc <= 0)
            break;
    }
    if (rc == 1 && q->trace)
        q->trace(BC_QMP_TRACE_RECV,
                 json_object_to_json_string_ext(*obj, JSON_C_TO_STRING_PLAIN),
                 q->trace_opaque);
    return rc;
}

static void queue_event(bc_qmp *q, json_object *msg)
{
    json_object *name, *data, *ts, *v;
    bc_qmp_event *ev;

    if (!json_object_object_get_ex(msg, "event", &name) ||
        !json_object_is_type(name, json_type_string))
        return;
    ev = calloc(1, sizeof(*ev));
    if (!ev || !(ev->name = strdup(json_object_get_string(name)))) {
        free(ev);
        q->ev_lost = true;
        return;
    }
    if (json_object_object_get_ex(msg, "data", &data))
        ev->data = json_object_get(data);
    if (json_object_object_get_ex(msg, "timestamp", &ts)) {
        int64_t sec = 0, usec = 0;

        if (json_object_object_get_ex(ts, "seconds", &v))
            sec = json_object_get_int64(v);
        if (json_object_object_get_ex(ts, "microseconds", &v))
            usec = json_object_get_int64(v);
        /* A timestamp that would overflow is no timestamp (0: unknown),
         * not undefined behaviour. */
        if (sec >= 0 && sec < INT64_MAX / 1000000 && usec >= 0 &&
            usec < 1000000)
            ev->timestamp_us = sec * 1000000 + usec;
    }

    if (q->ev_count >= BC_QMP_MAX_EVENTS) {
        bc_qmp_event *old = q->ev_head;

        q->ev_head = old->next;
        if (!q->ev_head)
            q->ev_tail = NULL;
        q->ev_count--;
        bc_qmp_event_free(old);
        q->ev_lost = true;
    }
    if (q->ev_tail)
        q->ev_tail->next = ev;
    else
        q->ev_head = ev;
    q->ev_tail = ev;
    q->ev_count++;
}

/* A reply to a command whose timeout passed: record what it says. */
static void record_late(bc_qmp *q, json_object *msg)
{
    json_object *id, *e, *v;
    unsigned int i;

    if (!json_object_object_get_ex(msg, "id", &id) ||
        !json_object_is_type(id, json_type_string))
        return;
    for (i = 0; i < q->nlate && i < MAX_LATE; i++) {
        struct late *l = &q->late[i];

        if (l->state != 0 || strcmp(l->id, json_object_get_string(id)) != 0)
            continue;
        if (!json_object_object_get_ex(msg, "error", &e)) {
            l->state = 1;
            return;
        }
        l->state = -1;
        v = NULL;
        json_object_object_get_ex(e, "class", &v);
        bc_strlcpy(l->cls, json_object_is_type(v, json_type_string)
                               ? json_object_get_string(v) : "", sizeof(l->cls));
        v = NULL;
        json_object_object_get_ex(e, "desc", &v);
        bc_strlcpy(l->desc, json_object_is_type(v, json_type_string)
                                ? json_object_get_string(v) : "",
                   sizeof(l->desc));
        return;
    }
}

/* Everything that is not the reply being waited for: events are
 * queued, late replies recorded, anything else dropped. */
static void route_message(bc_qmp *q, json_object *msg)
{
    if (json_object_object_get_ex(msg, "event", NULL))
        queue_event(q, msg);
    else if (json_object_object_get_ex(msg, "return", NULL) ||
             json_object_object_get_ex(msg, "error", NULL))
        record_late(q, msg);
}

static void owe_reply(bc_qmp *q, const char *id)
{
    struct late *l = &q->late[q->nlate++ % MAX_LATE];

    memset(l, 0, sizeof(*l));
    bc_strlcpy(l->id, id, sizeof(l->id));
}

int bc_qmp_late_reply(bc_qmp *q, const char *id, bc_error *err)
{
    unsigned int i;

    for (i = 0; i < q->nlate && i < MAX_LATE; i++) {
        struct late *l = &q->late[i];

        if (strcmp(l->id, id) != 0)
            continue;
        if (l->state < 0)
            return bc_set_error_qmp(err, l->cls, l->desc);
        return l->state;
    }
    return 0;
}

const char *bc_qmp_last_id(const bc_qmp *q)
{
    return q->last_id;
}

size_t bc_qmp_drop_events(bc_qmp *q, const char *job)
{
    bc_qmp_event **pp = &q->ev_head, *ev;
    size_t dropped = 0;

    q->ev_tail = NULL;
    while ((ev = *pp)) {
        const char *id = bc_json_event_job(ev->data);

        if (id && strcmp(id, job) == 0) {
            *pp = ev->next;
            bc_qmp_event_free(ev);
            q->ev_count--;
            dropped++;
            continue;
        }
        q->ev_tail = ev;
        pp = &ev->next;
    }
    return dropped;
}

/* ---- writing ------------------------------------------------------- */

static int write_all(bc_qmp *q, const char *buf, size_t len, int64_t deadline,
                     bc_error *err)
{
    struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
    ssize_t n;
    int rc;

    while (len > 0) {
        n = send(q->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            q->broken = true;
            if (errno == EPIPE || errno == ECONNRESET)
                return bc_set_error(err, BC_ERR_CLOSED,
                                    "QEMU closed the monitor connection");
            return bc_set_error_errno(err, BC_ERR_CLOSED, errno,
                                      "cannot write to the monitor");
        }
        do {
            rc = poll(&pfd, 1, bc_ms_until(deadline));
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            q->broken = true;
            return bc_set_error(err, BC_ERR_TIMEOUT,
                                "timed out writing to the monitor");
        }
    }
    return 0;
}

/* The first byte of a command, with descriptor 'fd' attached: QEMU
 * keeps a descriptor that comes with a command for that command. */
static int send_fd(bc_qmp *q, const char *buf, int fd, int64_t deadline,
                   bc_error *err)
{
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control,
                          .msg_controllen = sizeof(control) };
    struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
    struct cmsghdr *cmsg;
    ssize_t n;

    memset(control, 0, sizeof(control));
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    for (;;) {
        n = sendmsg(q->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == 1)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            q->broken = true;
            return bc_set_error_errno(err, BC_ERR_CLOSED, errno,
                                      "cannot pass a file to QEMU");
        }
        if (poll(&pfd, 1, bc_ms_until(deadline)) == 0) {
            q->broken = true;
            return bc_set_error(err, BC_ERR_TIMEOUT,
                                "timed out writing to the monitor");
        }
    }
}

bool bc_qmp_can_pass_fds(const bc_qmp *q)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    return q->fd >= 0 &&
           getsockname(q->fd, (struct sockaddr *)&ss, &len) == 0 &&
           ss.ss_family == AF_UNIX;
}

/* ---- handshake ----------------------------------------------------- */

static int read_greeting(bc_qmp *q, bc_error *err)
{
    json_object *msg = NULL, *qmp, *ver, *qemu, *v;
    int64_t deadline = deadline_after(q->greeting_ms);
    int rc, ret = -1;
    bc_error tmp;

    bc_error_init(&tmp);
    rc = read_message(q, deadline, &msg, &tmp);
    if (rc == 0) {
        bc_set_error(err, BC_ERR_BUSY,
                     "'%s' accepted the connection but QEMU sent no greeting "
                     "within %d ms: the monitor is held by another client "
                     "(libvirtd keeps its own connection open)",
                     q->address ? q->address : "monitor", q->greeting_ms);
        goto out;
    }
    if (rc < 0) {
        if (tmp.code == BC_ERR_CLOSED)
            bc_set_error(err, BC_ERR_PROTOCOL,
                         "'%s' closed the connection before the QMP greeting",
                         q->address ? q->address : "monitor");
        else if (tmp.code == BC_ERR_PROTOCOL)
            bc_set_error(err, BC_ERR_PROTOCOL,
                         "'%s' is not a QMP monitor: it does not speak JSON "
                         "(a human monitor, -monitor, perhaps?)",
                         q->address ? q->address : "monitor");
        else
            bc_set_error(err, tmp.code, "bad QMP greeting from '%s': %s",
                         q->address ? q->address : "monitor", tmp.message);
        goto out;
    }
    if (!json_object_object_get_ex(msg, "QMP", &qmp) ||
        !json_object_is_type(qmp, json_type_object)) {
        q->broken = true;
        bc_set_error(err, BC_ERR_PROTOCOL,
                     "'%s' is not a QMP monitor: its first message is not a "
                     "QMP greeting", q->address ? q->address : "monitor");
        goto out;
    }
    if (json_object_object_get_ex(qmp, "version", &ver) &&
        json_object_object_get_ex(ver, "qemu", &qemu)) {
        if (json_object_object_get_ex(qemu, "major", &v))
            q->version[0] = json_object_get_int(v);
        if (json_object_object_get_ex(qemu, "minor", &v))
            q->version[1] = json_object_get_int(v);
        if (json_object_object_get_ex(qemu, "micro", &v))
            q->version[2] = json_object_get_int(v);
    }
    ret = 0;

 out:
    json_object_put(msg);
    return ret;
}

static int handshake(bc_qmp *q, bc_error *err)
{
    bc_error tmp;

    if (read_greeting(q, err) < 0)
        return -1;
    bc_error_init(&tmp);
    if (bc_qmp_execute(q, "qmp_capabilities", NULL, NULL, &tmp) == 0)
        return 0;
    /* Without the socket's name, "GenericError" or a timeout here would
     * not say which monitor misbehaved. */
    if (err && err->code == BC_ERR_NONE) {
        bc_set_error(err, tmp.code,
                     "cannot negotiate QMP capabilities with '%s': %s",
                     q->address ? q->address : "monitor", tmp.message);
        err->sys_errno = tmp.sys_errno;
        memcpy(err->qmp_class, tmp.qmp_class, sizeof(err->qmp_class));
    }
    return -1;
}

int bc_qmp_connect(bc_qmp *q, const char *address, bc_error *err)
{
    const char *path = address;

    free(q->address);
    if (!(q->address = strdup(address)))
        return bc_set_error_oom(err);
    if (bc_str_has_prefix(address, "tcp:")) {
        if (connect_tcp(q, address + 4, err) < 0)
            return -1;
    } else {
        if (bc_str_has_prefix(address, "unix:"))
            path = address + 5;
        if (connect_unix(q, path, err) < 0)
            return -1;
    }
    return handshake(q, err);
}

int bc_qmp_connect_any(bc_qmp *q, char *const *addresses, size_t n,
                       bc_error *err)
{
    int fds[BC_QMP_MAX_MONITORS];
    struct pollfd pfd[BC_QMP_MAX_MONITORS];
    int64_t deadline = deadline_after(q->greeting_ms);
    size_t i, nopen = 0, pick = n;
    bc_error first;

    if (n == 1 || n > BC_QMP_MAX_MONITORS)
        return bc_qmp_connect(q, addresses[0], err);
    /* Queue at each monitor at once; QEMU greets on the first that is
     * free, and the others are given up. */
    bc_error_init(&first);
    for (i = 0; i < n; i++) {
        bc_error e;

        bc_error_init(&e);
        fds[i] = -1;
        if (!bc_str_has_prefix(addresses[i], "unix:"))
            continue;
        if (connect_unix(q, addresses[i] + 5, &e) == 0) {
            fds[i] = q->fd;
            q->fd = -1;
            nopen++;
        } else if (!bc_error_isset(&first)) {
            first = e;
        }
    }
    while (nopen && pick == n) {
        int ms = bc_ms_until(deadline), rc;

        for (i = 0; i < n; i++) {
            pfd[i].fd = fds[i];
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        rc = poll(pfd, n, ms > 0 ? ms : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        for (i = 0; i < n && pick == n; i++)
            if (pfd[i].revents)
                pick = i;
    }
    for (i = 0; i < n; i++)
        if (fds[i] >= 0 && i != pick)
            close(fds[i]);
    if (pick == n) {
        /* No greeting anywhere: what the first monitor says. */
        for (i = 0; i < n && fds[i] < 0; i++)
            ;
        if (i == n) {
            if (!bc_error_isset(&first))
                return bc_qmp_connect(q, addresses[0], err);
            if (err)
                *err = first;
            return -1;
        }
        return bc_set_error(err, BC_ERR_BUSY, "'%s' accepted the connection "
                            "but QEMU sent no greeting within %d ms: the "
                            "monitor is held by another client",
                            addresses[i], q->greeting_ms);
    }
    free(q->address);
    if (!(q->address = strdup(addresses[pick]))) {
        close(fds[pick]);
        return bc_set_error_oom(err);
    }
    q->fd = fds[pick];
    return handshake(q, err);
}

const char *bc_qmp_address(const bc_qmp *q)
{
    return q->address;
}

void bc_qmp_require_peer(bc_qmp *q, uid_t uid)
{
    q->check_peer = true;
    q->peer_uid = uid;
}

int bc_qmp_attach_fd(bc_qmp *q, int fd, bc_error *err)
{
    q->fd = fd;
    return handshake(q, err);
}

/* ---- commands and events ------------------------------------------ */

static bool reply_id_matches(json_object *msg, const char *id)
{
    json_object *v;

    /* QEMU cannot tag its answer to a request it could not parse. */
    if (!json_object_object_get_ex(msg, "id", &v))
        return true;
    return json_object_is_type(v, json_type_string) &&
           strcmp(json_object_get_string(v), id) == 0;
}

int bc_qmp_execute(bc_qmp *q, const char *cmd, json_object *args,
                   json_object **ret, bc_error *err)
{
    return bc_qmp_execute_fd(q, cmd, args, -1, ret, err);
}

int bc_qmp_execute_fd(bc_qmp *q, const char *cmd, json_object *args,
                      int pass_fd, json_object **ret, bc_error *err)
{
    json_object *req = NULL, *msg = NULL, *v, *e;
    int64_t deadline = deadline_after(q->command_ms);
    char id[32];
    const char *text;
    int rc, result = -1;

    if (ret)
        *ret = NULL;
    if (q->fd < 0 || q->broken)
        return bc_set_error(err, BC_ERR_CLOSED,
                            "the monitor connection is closed");

    snprintf(id, sizeof(id), "bc-%llu", ++q->next_id);
    bc_strlcpy(q->last_id, id, sizeof(q->last_id));
    if (!(req = json_object_new_object()))
        return bc_set_error_oom(err);
    json_object_object_add(req, "execute", json_object_new_string(cmd));
    if (args)
        json_object_object_add(req, "arguments", json_object_get(args));
    json_object_object_add(req, "id", json_object_new_string(id));
    text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    if (q->trace)
        q->trace(BC_QMP_TRACE_SEND, text, q->trace_opaque);
    if (pass_fd >= 0) {
        if (send_fd(q, text, pass_fd, deadline, err) < 0)
            goto out;
        text++;
    }
    if (write_all(q, text, strlen(text), deadline, err) < 0 ||
        write_all(q, "\n", 1, deadline, err) < 0)
        goto out;

    for (;;) {
        rc = read_message(q, deadline, &msg, err);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            /* QEMU may still run it: the reply is owed, not lost. */
            owe_reply(q, id);
            bc_set_error(err, BC_ERR_NO_REPLY,
                         "QEMU did not answer '%s' within %d ms", cmd,
                         q->command_ms);
            goto out;
        }
        if (json_object_object_get_ex(msg, "return", &v)) {
            if (reply_id_matches(msg, id)) {
                if (ret)
                    *ret = json_object_get(v);
                result = 0;
                goto out;
            }
        } else if (json_object_object_get_ex(msg, "error", &e)) {
            if (reply_id_matches(msg, id)) {
                json_object *cls = NULL, *desc = NULL;

                json_object_object_get_ex(e, "class", &cls);
                json_object_object_get_ex(e, "desc", &desc);
                bc_set_error_qmp(err, json_object_get_string(cls),
                                 json_object_get_string(desc));
                goto out;
            }
        } else if (!json_object_object_get_ex(msg, "QMP", NULL) &&
                   !json_object_object_get_ex(msg, "event", NULL)) {
            q->broken = true;
            bc_set_error(err, BC_ERR_PROTOCOL,
                         "unexpected message from QEMU: %.200s",
                         json_object_to_json_string_ext(
                             msg, JSON_C_TO_STRING_PLAIN));
            goto out;
        }
        /* An event, or a late reply to a command that timed out. */
        route_message(q, msg);
        json_object_put(msg);
        msg = NULL;
    }

 out:
    json_object_put(msg);
    json_object_put(req);
    return result;
}

static int read_into_queue(bc_qmp *q, int64_t deadline, bc_error *err)
{
    json_object *msg = NULL;
    int rc;

    rc = read_message(q, deadline, &msg, err);
    if (rc <= 0)
        return rc;
    route_message(q, msg);
    json_object_put(msg);
    return 1;
}

int bc_qmp_next_event(bc_qmp *q, int timeout_ms, bc_qmp_event **ev,
                      bc_error *err)
{
    int64_t deadline = timeout_ms < 0 ? 0 : deadline_after(timeout_ms);
    int rc;

    *ev = NULL;
    while (!q->ev_head) {
        rc = read_into_queue(q, deadline, err);
        if (rc <= 0)
            return rc;
    }
    *ev = q->ev_head;
    q->ev_head = (*ev)->next;
    if (!q->ev_head)
        q->ev_tail = NULL;
    q->ev_count--;
    (*ev)->next = NULL;
    return 1;
}

int bc_qmp_poll(bc_qmp *q, bc_error *err)
{
    int rc;

    do {
        rc = read_into_queue(q, bc_now_us(), err);
    } while (rc > 0);
    return rc < 0 ? -1 : 0;
}

size_t bc_qmp_pending_events(const bc_qmp *q)
{
    return q->ev_count;
}

bool bc_qmp_has_pending(const bc_qmp *q)
{
    return q->ev_head || q->rpos < q->rlen;
}

bool bc_qmp_events_lost(bc_qmp *q)
{
    bool lost = q->ev_lost;

    q->ev_lost = false;
    return lost;
}
