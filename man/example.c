/*
 * Copy a disk of a running VM to a new image and switch the VM over to
 * it, as "blockcopy DOMAIN DISK DEST --bandwidth SIZE --pivot" does.
 *
 *   cc example.c $(pkg-config --cflags --libs libblockcopy) -o example
 *   ./example vm1 vda /srv/fast/vm1.qcow2 64M
 *
 * Ctrl-C while it waits aborts the copy; the VM stays on its disk.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <blockcopy.h>

static int interrupt_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    /* A byte on the pipe makes bc_block_job_wait() return. */
    ssize_t n = write(interrupt_pipe[1], "", 1);

    (void)n;
    (void)sig;
}

static void on_job_event(const bc_job_event *ev, void *opaque)
{
    const char *disk = opaque;

    if (ev->type == BC_JOB_EVENT_PROGRESS && ev->end > 0)
        fprintf(stderr, "%s: %llu of %llu bytes\n", disk, ev->cur, ev->end);
    else if (ev->type == BC_JOB_EVENT_READY)
        fprintf(stderr, "%s: ready\n", disk);
}

static void on_warning(const char *message, void *opaque)
{
    (void)opaque;
    fprintf(stderr, "warning: %s\n", message);
}

int main(int argc, char **argv)
{
    const char *domain, *disk, *dest;
    bc_typed_param *params = NULL;
    int nparams = 0, maxparams = 0;
    unsigned long long bandwidth;
    bc_conn *conn = NULL;
    char *xml = NULL;
    bc_wait_opts opts;
    bc_job_event_type outcome;
    struct sigaction sa;
    bc_error err;
    int ret = 1;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s DOMAIN DISK DEST [BANDWIDTH]\n", argv[0]);
        return 2;
    }
    domain = argv[1];
    disk = argv[2];
    dest = argv[3];
    bc_error_init(&err);

    /* The destination as a libvirt <disk> element: a new file in the
     * format of the source.  bc_block_copy() takes any such XML. */
    if (!(xml = bc_dest_xml_from_path(dest, NULL, false, &err)))
        goto error;
    /* Typed parameters, as virDomainBlockCopy() takes them. */
    if (argc == 5 &&
        (bc_parse_size(argv[4], 1, LLONG_MAX, &bandwidth, &err) < 0 ||
         bc_typed_params_add_ullong(&params, &nparams, &maxparams,
                                    BC_BLOCK_COPY_BANDWIDTH, bandwidth,
                                    &err) < 0))
        goto error;

    if (!(conn = bc_conn_open(domain, &err)))
        goto error;
    bc_conn_set_warning_cb(conn, on_warning, NULL);

    /* From here on a signal must abort the copy, not kill the program. */
    if (pipe(interrupt_pipe) < 0) {
        perror("pipe");
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (bc_block_copy(conn, disk, xml, params, nparams, 0, &err) < 0)
        goto error;

    /* Wait on QEMU's events and pivot the moment the copy is ready. */
    bc_wait_opts_init(&opts);
    opts.until = BC_WAIT_PIVOT;
    opts.interrupt_fd = interrupt_pipe[0];
    opts.progress_ms = 1000;
    opts.cb = on_job_event;
    opts.opaque = (void *)disk;
    if (bc_block_job_wait(conn, disk, &opts, &outcome, &err) < 0) {
        if (err.code != BC_ERR_INTERRUPTED)
            goto error;
        /* Not ready yet: cancel the copy; the VM stays on its disk. */
        bc_error_init(&err);
        if (bc_block_job_abort(conn, disk, 0, &err) < 0)
            goto error;
        printf("Copy aborted\n");
        goto out;
    }

    if (outcome == BC_JOB_EVENT_PIVOTED)
        printf("Successfully pivoted\n");
    else
        printf("Another client ended the copy first\n");
    ret = 0;
    goto out;

 error:
    fprintf(stderr, "error: %s\n", err.message);
    /* Bad input, found before anything was changed. */
    if (bc_error_is_usage(&err))
        ret = 2;
 out:
    bc_conn_free(conn);
    bc_typed_params_free(params, nparams);
    free(xml);
    return ret;
}
