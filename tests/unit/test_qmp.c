/*
 * The QMP client against a scripted peer on a socketpair: the peer is a
 * forked child that writes chunks of bytes, with pauses, as QEMU might.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qmp.h"
#include "unit.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, " \
                 "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, " \
                 "\"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": \"bc-1\"}\r\n"
#define HELLO GREETING CAPS_OK

struct step {
    const char *data;       /* NULL ends the script */
    int delay_ms;           /* pause before writing */
    bool byte_by_byte;      /* one write per byte */
    int after_lines;        /* first wait for this many commands in all */
};

static pid_t peer = -1;

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            _exit(0);
        }
        p += n;
        len -= (size_t)n;
    }
}

static int count_lines(const char *buf, size_t len)
{
    int n = 0;

    while (len--)
        n += *buf++ == '\n';
    return n;
}

/*
 * Start the peer.  After the script it closes its end if 'hang_up',
 * otherwise it drains what the client sends until the client goes.
 */
static int start_peer(const struct step *steps, bool hang_up)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    peer = fork();
    ck_assert_int_ge(peer, 0);
    if (peer == 0) {
        char buf[4096];
        const struct step *s;
        int lines = 0;

        close(sv[0]);
        signal(SIGPIPE, SIG_IGN);
        for (s = steps; s && s->data; s++) {
            while (lines < s->after_lines) {
                ssize_t n = read(sv[1], buf, sizeof(buf));

                if (n <= 0)
                    _exit(0);
                lines += count_lines(buf, (size_t)n);
            }
            if (s->delay_ms)
                usleep(s->delay_ms * 1000);
            if (s->byte_by_byte) {
                const char *p;

                for (p = s->data; *p; p++) {
                    write_all(sv[1], p, 1);
                    usleep(200);
                }
            } else {
                write_all(sv[1], s->data, strlen(s->data));
            }
        }
        if (!hang_up)
            while (read(sv[1], buf, sizeof(buf)) > 0)
                ;
        _exit(0);
    }
    close(sv[1]);
    return sv[0];
}

static void stop_peer(void)
{
    if (peer > 0) {
        kill(peer, SIGKILL);
        waitpid(peer, NULL, 0);
        peer = -1;
    }
}

/* A client connected to a peer that runs 'steps'. */
static bc_qmp *client(const struct step *steps, bool hang_up, bc_error *err)
{
    bc_qmp *q = bc_qmp_new();

    ck_assert_ptr_nonnull(q);
    bc_qmp_set_timeouts(q, 0, 1000, 2000);
    bc_error_init(err);
    if (bc_qmp_attach_fd(q, start_peer(steps, hang_up), err) < 0) {
        bc_qmp_free(q);
        return NULL;
    }
    return q;
}

START_TEST(test_handshake_reads_version)
{
    struct step s[] = { { HELLO, 0, false, 0 }, { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    int maj, min, mic;

    ck_assert_msg(q != NULL, "%s", err.message);
    bc_qmp_version(q, &maj, &min, &mic);
    ck_assert_int_eq(maj, 7);
    ck_assert_int_eq(min, 2);
    ck_assert_int_eq(mic, 3);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_partial_reads)
{
    struct step s[] = {
        { GREETING, 0, true, 0 },
        { CAPS_OK, 5, true, 0 },
        { "{\"return\": {\"answer\": 42}, \"id\": \"bc-2\"}\r\n", 0, true, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    json_object *ret = NULL, *v;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "query-answer", NULL, &ret, &err), 0);
    ck_assert(json_object_object_get_ex(ret, "answer", &v));
    ck_assert_int_eq(json_object_get_int(v), 42);
    json_object_put(ret);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_several_messages_in_one_read)
{
    struct step s[] = {
        { HELLO
          "{\"timestamp\": {\"seconds\": 100, \"microseconds\": 5}, "
          "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", "
          "\"status\": \"running\"}}\r\n"
          "{\"timestamp\": {\"seconds\": 101, \"microseconds\": 7}, "
          "\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"j\"}}\r\n"
          "{\"return\": {}, \"id\": \"bc-2\"}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    bc_qmp_event *ev;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), 0);
    ck_assert_uint_eq(bc_qmp_pending_events(q), 2);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "JOB_STATUS_CHANGE");
    ck_assert_int_eq(ev->timestamp_us, 100000005);
    bc_qmp_event_free(ev);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "BLOCK_JOB_READY");
    ck_assert_int_eq(ev->timestamp_us, 101000007);
    bc_qmp_event_free(ev);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 0);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

/* Found by the qmp-stream fuzz target: seconds * 10^6 + microseconds
 * overflowed for a hostile timestamp. */
START_TEST(test_absurd_timestamp_is_unknown)
{
    struct step s[] = {
        { HELLO
          "{\"timestamp\": {\"seconds\": 1795639000, \"microseconds\": "
          "99999999999999999999999}, \"event\": \"A\"}\r\n"
          "{\"timestamp\": {\"seconds\": 9223372036854775807, "
          "\"microseconds\": 1}, \"event\": \"B\"}\r\n"
          "{\"timestamp\": {\"seconds\": -1, \"microseconds\": -1}, "
          "\"event\": \"C\"}\r\n"
          "{\"return\": {}, \"id\": \"bc-2\"}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    bc_qmp_event *ev;
    int i;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), 0);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
        ck_assert_int_eq(ev->timestamp_us, 0);
        bc_qmp_event_free(ev);
    }
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_events_interleaved_and_stale_reply_dropped)
{
    struct step s[] = {
        { HELLO, 0, false, 0 },
        { "{\"return\": {\"stale\": true}, \"id\": \"bc-77\"}\r\n", 20, false, 0 },
        { "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, "
          "\"microseconds\": 0}}\r\n", 20, false, 0 },
        { "{\"return\": {\"fresh\": true}, \"id\": \"bc-2\"}\r\n", 20, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    json_object *ret = NULL;
    bc_qmp_event *ev;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, &ret, &err), 0);
    ck_assert(json_object_object_get_ex(ret, "fresh", NULL));
    json_object_put(ret);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "RESUME");
    bc_qmp_event_free(ev);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_error_reply)
{
    struct step s[] = {
        { HELLO "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
          "\"Device 'x' not found\"}, \"id\": \"bc-2\"}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_QMP);
    ck_assert_str_eq(err.qmp_class, "DeviceNotFound");
    ck_assert_str_eq(err.message, "Device 'x' not found");
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

/* Found by the qmp-stream fuzz target: an error without a reason left
 * nothing to print after "error: ". */
START_TEST(test_error_reply_without_reason)
{
    struct step s[] = {
        { HELLO "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"\\u0000x\"}, \"id\": \"bc-2\"}\r\n"
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"\"}, "
          "\"id\": \"bc-3\"}\r\n"
          "{\"error\": {}, \"id\": \"bc-4\"}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    int i;

    ck_assert_msg(q != NULL, "%s", err.message);
    for (i = 0; i < 3; i++) {
        bc_error_init(&err);
        ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
        ck_assert_int_eq(err.code, BC_ERR_QMP);
        ck_assert_str_eq(err.message, "unknown QEMU error");
    }
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_reply_without_id_answers_the_command)
{
    struct step s[] = {
        { HELLO "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"JSON parse error\"}}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_QMP);
    ck_assert_str_eq(err.message, "JSON parse error");
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_garbage_is_a_protocol_error)
{
    struct step s[] = {
        { HELLO "\x01\xff garbage {", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_PROTOCOL);
    ck_assert_msg(strstr(err.message, "malformed JSON"), "%s", err.message);
    /* The stream cannot be trusted after that. */
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_execute(q, "y", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_CLOSED);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_non_object_message)
{
    struct step s[] = { { HELLO "[1, 2, 3]\r\n", 0, false, 0 },
                        { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = client(s, false, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_PROTOCOL);
    ck_assert_msg(strstr(err.message, "not a JSON object"), "%s", err.message);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_eof_in_the_middle_of_a_message)
{
    struct step s[] = { { HELLO, 0, false, 0 },
                        { "{\"return\": {\"a\"", 0, false, 2 },
                        { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = client(s, true, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_CLOSED);
    ck_assert_msg(strstr(err.message, "middle of a message"), "%s",
                  err.message);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_eof_between_messages)
{
    struct step s[] = { { HELLO, 0, false, 0 }, { "\r\n", 0, false, 2 },
                        { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = client(s, true, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_CLOSED);
    ck_assert_str_eq(err.message, "QEMU closed the monitor connection");
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_oversized_message_refused_without_reading_it_all)
{
    const size_t total = 100u * 1024 * 1024;
    struct rusage before, after;
    bc_error err;
    bc_qmp *q;
    int sv[2];

    /* The peer streams one 100 MiB string value; it cannot be scripted
     * from constant steps without holding it all, so it writes chunks. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    peer = fork();
    ck_assert_int_ge(peer, 0);
    if (peer == 0) {
        static char chunk[65536];
        size_t sent;

        close(sv[0]);
        signal(SIGPIPE, SIG_IGN);
        memset(chunk, 'a', sizeof(chunk));
        write_all(sv[1], HELLO, strlen(HELLO));
        write_all(sv[1], "{\"return\": \"", 12);
        for (sent = 0; sent < total; sent += sizeof(chunk))
            write_all(sv[1], chunk, sizeof(chunk));
        write_all(sv[1], "\", \"id\": \"bc-2\"}\r\n", 18);
        _exit(0);
    }
    close(sv[1]);
    q = bc_qmp_new();
    bc_qmp_set_timeouts(q, 0, 1000, 20000);
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_attach_fd(q, sv[0], &err), 0);
    getrusage(RUSAGE_SELF, &before);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), -1);
    getrusage(RUSAGE_SELF, &after);
    ck_assert_int_eq(err.code, BC_ERR_PROTOCOL);
    ck_assert_msg(strstr(err.message, "exceeds 16 MiB"), "%s", err.message);
    /* Well below what holding the message would cost. */
    ck_assert_int_lt(after.ru_maxrss - before.ru_maxrss, 64 * 1024);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_command_timeout)
{
    struct step s[] = { { HELLO, 0, false, 0 }, { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = client(s, false, &err);

    ck_assert_msg(q != NULL, "%s", err.message);
    bc_qmp_set_timeouts(q, 0, 0, 150);
    ck_assert_int_eq(bc_qmp_execute(q, "never", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_NO_REPLY);
    ck_assert_msg(strstr(err.message, "'never'"), "%s", err.message);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

/* A reply that comes after the command's timeout says whether QEMU ran
 * the command after all; events around it stay queued. */
START_TEST(test_late_reply_is_recorded)
{
    struct step s[] = {
        { HELLO, 0, false, 0 },
        { "{\"event\": \"E1\"}\r\n{\"return\": {}, \"id\": \"bc-2\"}\r\n"
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, "
          "\"id\": \"bc-3\"}\r\n{\"return\": 4, \"id\": \"bc-4\"}\r\n",
          0, false, 4 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    bc_qmp_event *ev;

    ck_assert_msg(q != NULL, "%s", err.message);
    bc_qmp_set_timeouts(q, 0, 0, 100);
    ck_assert_int_eq(bc_qmp_execute(q, "slow", NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_NO_REPLY);
    ck_assert_str_eq(bc_qmp_last_id(q), "bc-2");
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_execute(q, "refused", NULL, NULL, &err), -1);
    ck_assert_int_eq(bc_qmp_late_reply(q, "bc-2", &err), 0);
    bc_qmp_set_timeouts(q, 0, 0, 2000);
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_execute(q, "next", NULL, NULL, &err), 0);
    ck_assert_int_eq(bc_qmp_late_reply(q, "bc-2", &err), 1);
    ck_assert_int_eq(bc_qmp_late_reply(q, "bc-3", &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_QMP);
    ck_assert_str_eq(err.message, "no");
    ck_assert_int_eq(bc_qmp_late_reply(q, "bc-9", &err), 0);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "E1");
    bc_qmp_event_free(ev);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

/* Before a new job of an id starts, what was queued about the old one
 * goes; news of other jobs stays, in order. */
START_TEST(test_drop_events_of_a_job)
{
    struct step s[] = {
        { HELLO, 0, false, 0 },
        { "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", "
          "\"status\": \"null\"}}\r\n"
          "{\"event\": \"BLOCK_JOB_COMPLETED\", \"data\": {\"device\": \"k\"}}\r\n"
          "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"j\"}}\r\n"
          "{\"event\": \"RESUME\"}\r\n"
          "{\"return\": {}, \"id\": \"bc-2\"}\r\n", 0, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    bc_qmp_event *ev;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), 0);
    ck_assert_uint_eq(bc_qmp_pending_events(q), 4);
    ck_assert_uint_eq(bc_qmp_drop_events(q, "j"), 2);
    ck_assert_uint_eq(bc_qmp_pending_events(q), 2);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "BLOCK_JOB_COMPLETED");
    bc_qmp_event_free(ev);
    ck_assert_int_eq(bc_qmp_next_event(q, 0, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "RESUME");
    bc_qmp_event_free(ev);
    ck_assert_uint_eq(bc_qmp_drop_events(q, "j"), 0);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

/* A listener whose backlog is full (clients queueing for a monitor that
 * is held) is a busy monitor after the connect timeout, not a hang. */
START_TEST(test_connect_to_a_full_backlog_times_out)
{
    char dir[] = "/tmp/bc-unit.XXXXXX", path[64];
    struct sockaddr_un sun;
    bc_error err;
    bc_qmp *q;
    int lfd, fds[16], i, n = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/full.sock", dir);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    for (i = 0; i < 16; i++) {
        fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fds[n], (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(fds[n]);
            break;
        }
        n++;
    }
    ck_assert_int_lt(n, 16);
    q = bc_qmp_new();
    bc_qmp_set_timeouts(q, 300, 0, 0);
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_connect(q, path, &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_BUSY);
    ck_assert_msg(strstr(err.message, "within 300 ms"), "%s", err.message);
    bc_qmp_free(q);
    for (i = 0; i < n; i++)
        close(fds[i]);
    close(lfd);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_no_greeting_means_busy)
{
    struct step s[] = { { NULL, 0, false, 0 } };
    bc_error err;
    bc_qmp *q = bc_qmp_new();

    bc_qmp_set_timeouts(q, 0, 200, 0);
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_attach_fd(q, start_peer(s, false), &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_BUSY);
    ck_assert_msg(strstr(err.message, "held by another client"), "%s",
                  err.message);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_first_message_not_a_greeting)
{
    struct step s[] = { { "{\"hello\": 1}\r\n", 0, false, 0 },
                        { NULL, 0, false, 0 } };
    bc_error err;

    ck_assert_ptr_null(client(s, false, &err));
    ck_assert_int_eq(err.code, BC_ERR_PROTOCOL);
    ck_assert_msg(strstr(err.message, "not a QMP monitor"), "%s", err.message);
    stop_peer();
}
END_TEST

START_TEST(test_event_queue_is_bounded)
{
    static char flood[6000 * 80];
    struct step s[] = { { HELLO, 0, false, 0 }, { flood, 0, false, 0 },
                        { "{\"return\": {}, \"id\": \"bc-2\"}\r\n", 0, false, 0 },
                        { NULL, 0, false, 0 } };
    size_t len = 0;
    bc_error err;
    bc_qmp *q;
    int i;

    for (i = 0; i < 6000; i++)
        len += (size_t)snprintf(flood + len, sizeof(flood) - len,
                                "{\"event\": \"E%d\"}\r\n", i);
    q = client(s, false, &err);
    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_execute(q, "x", NULL, NULL, &err), 0);
    ck_assert_uint_eq(bc_qmp_pending_events(q), BC_QMP_MAX_EVENTS);
    ck_assert(bc_qmp_events_lost(q));
    ck_assert(!bc_qmp_events_lost(q));
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_next_event_waits_then_times_out)
{
    struct step s[] = {
        { HELLO, 0, false, 0 },
        { "{\"event\": \"LATE\"}\r\n", 100, false, 0 },
        { NULL, 0, false, 0 }
    };
    bc_error err;
    bc_qmp *q = client(s, false, &err);
    bc_qmp_event *ev = NULL;

    ck_assert_msg(q != NULL, "%s", err.message);
    ck_assert_int_eq(bc_qmp_next_event(q, 2000, &ev, &err), 1);
    ck_assert_str_eq(ev->name, "LATE");
    bc_qmp_event_free(ev);
    ck_assert_int_eq(bc_qmp_next_event(q, 50, &ev, &err), 0);
    ck_assert_ptr_null(ev);
    bc_qmp_free(q);
    stop_peer();
}
END_TEST

START_TEST(test_connect_errors_are_distinct)
{
    bc_error err;
    bc_qmp *q = bc_qmp_new();

    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_connect(q, "unix:/nonexistent/bc.sock", &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_CONNECT);
    ck_assert_msg(strstr(err.message, "does not exist"), "%s", err.message);
    bc_qmp_free(q);

    q = bc_qmp_new();
    bc_error_init(&err);
    ck_assert_int_eq(bc_qmp_connect(q, "tcp:nohostport", &err), -1);
    ck_assert_int_eq(err.code, BC_ERR_INVALID_ARG);
    bc_qmp_free(q);
}
END_TEST

Suite *qmp_suite(void)
{
    Suite *s = suite_create("qmp");
    TCase *tc = tcase_create("stream");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_handshake_reads_version);
    tcase_add_test(tc, test_partial_reads);
    tcase_add_test(tc, test_several_messages_in_one_read);
    tcase_add_test(tc, test_absurd_timestamp_is_unknown);
    tcase_add_test(tc, test_events_interleaved_and_stale_reply_dropped);
    tcase_add_test(tc, test_error_reply);
    tcase_add_test(tc, test_error_reply_without_reason);
    tcase_add_test(tc, test_reply_without_id_answers_the_command);
    tcase_add_test(tc, test_garbage_is_a_protocol_error);
    tcase_add_test(tc, test_non_object_message);
    tcase_add_test(tc, test_eof_in_the_middle_of_a_message);
    tcase_add_test(tc, test_eof_between_messages);
    tcase_add_test(tc, test_oversized_message_refused_without_reading_it_all);
    tcase_add_test(tc, test_command_timeout);
    tcase_add_test(tc, test_late_reply_is_recorded);
    tcase_add_test(tc, test_drop_events_of_a_job);
    tcase_add_test(tc, test_connect_to_a_full_backlog_times_out);
    tcase_add_test(tc, test_no_greeting_means_busy);
    tcase_add_test(tc, test_first_message_not_a_greeting);
    tcase_add_test(tc, test_event_queue_is_bounded);
    tcase_add_test(tc, test_next_event_waits_then_times_out);
    tcase_add_test(tc, test_connect_errors_are_distinct);
    suite_add_tcase(s, tc);
    return s;
}
