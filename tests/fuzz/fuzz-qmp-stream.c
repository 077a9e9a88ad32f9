/*
 * The QMP stream reader with any bytes from the monitor: the input is
 * what QEMU sends (greeting, replies, events), fed through a socketpair
 * to the real client, which does its handshake, runs commands and takes
 * events until the stream ends or breaks.  Nothing the peer sends may
 * crash it, leak, or make it wait: the peer's end of the stream is shut
 * down after the input, so every read ends at once.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "qmp.h"

/* More than fits in a socket's buffer would block the write below. */
#define MAX_INPUT (128 * 1024)

static void ignore_trace(bc_qmp_trace_dir dir, const char *json, void *opaque)
{
    FUZZ_ASSERT(json != NULL);
}

static void write_input(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);

        if (n < 0 && errno == EINTR)
            continue;
        FUZZ_ASSERT(n > 0);
        data += n;
        size -= (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const commands[] = {
        "query-block", "query-block-jobs", "query-jobs", "block-job-cancel",
    };
    bc_qmp_event *ev;
    json_object *ret;
    bc_error err;
    bc_qmp *q;
    size_t i;
    int sv[2], rc;

    if (size > MAX_INPUT)
        return 0;
    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    write_input(sv[1], data, size);
    /* The client sees the end of the stream; its own writes still go. */
    shutdown(sv[1], SHUT_WR);

    q = bc_qmp_new();
    FUZZ_ASSERT(q);
    bc_qmp_set_timeouts(q, 0, 5000, 5000);
    bc_qmp_set_trace(q, ignore_trace, NULL);
    bc_error_init(&err);
    if (bc_qmp_attach_fd(q, sv[0], &err) < 0) {
        FUZZ_ASSERT(err.message[0] != '\0');
        FUZZ_ASSERT(err.code != BC_ERR_TIMEOUT && err.code != BC_ERR_BUSY);
        goto out;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        bc_error_init(&err);
        rc = bc_qmp_execute(q, commands[i], NULL, &ret, &err);
        FUZZ_ASSERT(rc == 0 || err.message[0] != '\0');
        FUZZ_ASSERT(rc == 0 || err.code != BC_ERR_TIMEOUT);
        json_object_put(ret);
        /* After QEMU's own error the session goes on; otherwise not. */
        if (rc < 0 && err.code != BC_ERR_QMP)
            break;
    }
    for (;;) {
        bc_error_init(&err);
        rc = bc_qmp_next_event(q, 0, &ev, &err);
        if (rc <= 0)
            break;
        FUZZ_ASSERT(ev->name != NULL);
        bc_qmp_event_free(ev);
    }
    (void)bc_qmp_events_lost(q);

 out:
    bc_qmp_free(q);
    close(sv[1]);
    return 0;
}
