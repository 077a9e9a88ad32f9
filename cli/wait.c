/*
 * Waiting for a block job: progress lines, JSON lines, signals, and what
 * to do once the copy is ready.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

#define PROGRESS_MS 250

struct progress {
    cli_ctx *ctx;
    const char *disk;
    bool verbose;
    bool tty;               /* stderr is a terminal */
    bool line_open;         /* a "\r..." line is on stderr */
    bool ready;
    int last_percent;       /* for output on change only */
    int last_json_percent;
    double rate;            /* measured bytes/s, smoothed */
    unsigned long long prev_cur;
    long long prev_us;
};

static long long wall_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void end_line(struct progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        fflush(stderr);
        p->line_open = false;
    }
}

static json_object *json_event(const char *type, const bc_job_event *ev,
                               const char *disk)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "disk", json_object_new_string(disk));
    if (ev->job)
        json_object_object_add(o, "job", json_object_new_string(ev->job));
    json_object_object_add(o, "offset", json_object_new_uint64(ev->cur));
    json_object_object_add(o, "len", json_object_new_uint64(ev->end));
    json_object_object_add(o, "speed", json_object_new_uint64(ev->bandwidth));
    json_object_object_add(o, "time", json_object_new_double(
        (double)ev->timestamp_us / 1e6));
    return o;
}

static void show_progress(struct progress *p, const bc_job_event *ev)
{
    int pct = cli_percent(ev->cur, ev->end);
    long long now = wall_us();
    char done[32], total[32], rate[32];

    /* Nothing is known before QEMU has counted; an empty disk is done. */
    if (ev->cur == 0 && ev->end == 0 && !p->ready)
        return;
    /* Once everything is copied the guest's writes are all there is to
     * copy: that is no rate of the copy. */
    if (p->prev_us && now > p->prev_us && ev->cur >= p->prev_cur &&
        pct < 100) {
        double inst = (double)(ev->cur - p->prev_cur) * 1e6 /
                      (double)(now - p->prev_us);

        p->rate = p->rate ? 0.7 * p->rate + 0.3 * inst : inst;
    }
    p->prev_cur = ev->cur;
    p->prev_us = now;

    if (p->ctx->json) {
        if (pct != p->last_json_percent) {
            json_object *o = json_event("progress", ev, p->disk);

            json_object_object_add(o, "percent", json_object_new_int(pct));
            json_object_object_add(o, "rate",
                                   json_object_new_uint64((uint64_t)p->rate));
            cli_print_json_obj(o);
            p->last_json_percent = pct;
        }
        return;
    }
    if (!p->verbose)
        return;
    if (p->tty) {
        fprintf(stderr, "\rBlock Copy: [%3d %%] %s of %s", pct,
                cli_human_size((double)ev->cur, done, sizeof(done)),
                cli_human_size((double)ev->end, total, sizeof(total)));
        if (p->rate >= 1) {
            double eta = (double)(ev->end - (ev->cur < ev->end ? ev->cur
                                                                : ev->end)) /
                         p->rate;

            fprintf(stderr, ", %s/s", cli_human_size(p->rate, rate, sizeof(rate)));
            if (pct < 100 && eta < 1e7)
                fprintf(stderr, ", ETA %d:%02d", (int)eta / 60,
                        (int)eta % 60);
        }
        /* Clear what a longer previous line left behind. */
        fputs("\033[K", stderr);
        fflush(stderr);
        p->line_open = true;
    } else if (pct != p->last_percent) {
        /* A log gets one plain line per percent, never more. */
        fprintf(stderr, "Block Copy: [%3d %%]\n", pct);
        fflush(stderr);
    }
    p->last_percent = pct;
}

static void on_event(const bc_job_event *ev, void *opaque)
{
    struct progress *p = opaque;
    static const char *const states[] = {
        [BC_JOB_EVENT_READY] = "ready",
        [BC_JOB_EVENT_PIVOTED] = "pivoted",
        [BC_JOB_EVENT_COPIED] = "copied",
        [BC_JOB_EVENT_COMPLETED] = "completed",
        [BC_JOB_EVENT_ABORTED] = "aborted",
        [BC_JOB_EVENT_FAILED] = "failed",
        [BC_JOB_EVENT_ERROR] = "io-error",
    };

    if (ev->type == BC_JOB_EVENT_PROGRESS) {
        show_progress(p, ev);
        return;
    }
    if (ev->type == BC_JOB_EVENT_READY) {
        bc_job_event last = *ev;

        p->ready = true;
        /* The mirroring phase: everything is copied at this moment. */
        last.type = BC_JOB_EVENT_PROGRESS;
        if (last.cur < last.end)
            last.cur = last.end;
        show_progress(p, &last);
    }
    if (p->ctx->json) {
        json_object *o = json_event("state", ev, p->disk);

        json_object_object_add(o, "state",
                               json_object_new_string(states[ev->type]));
        if (ev->error)
            json_object_object_add(o, "error",
                                   json_object_new_string(ev->error));
        cli_print_json_obj(o);
    }
}

static void print_result(cli_ctx *ctx, struct progress *p, const char *status,
                         const char *human, int exit_status)
{
    end_line(p);
    cli_print_result(ctx, "disk", p->disk, status, human, exit_status);
}

/* Report a failure with a result line in JSON mode. */
static int fail(cli_ctx *ctx, struct progress *p, const char *prefix,
                const bc_error *err)
{
    int status;
    bool json = ctx->json;

    end_line(p);
    /* cli_report() prints the JSON result itself. */
    status = cli_report(ctx, prefix, err);
    (void)json;
    return status == CLI_USAGE ? CLI_USAGE : CLI_FAILED;
}

/* The job did not get ready in time or a signal came: abort it. */
static int abort_job(cli_ctx *ctx, bc_conn *conn, struct progress *p,
                     bool async)
{
    bc_error err;

    bc_error_init(&err);
    if (bc_block_job_abort(conn, p->disk, async ? BC_BLOCK_JOB_ABORT_ASYNC : 0,
                           &err) < 0 && err.code != BC_ERR_NO_JOB)
        return fail(ctx, p, "cannot abort the copy: ", &err);
    print_result(ctx, p, "aborted", "Copy aborted", CLI_FAILED);
    return CLI_FAILED;
}

int cli_wait_job(cli_ctx *ctx, bc_conn *conn, const char *disk,
                 cli_after_ready after, bool verbose, int timeout_s,
                 bool async_abort)
{
    struct progress p;
    bc_wait_opts opts;
    bc_job_event_type outcome = 0;
    bc_error err;
    int rc;

    memset(&p, 0, sizeof(p));
    p.ctx = ctx;
    p.disk = disk;
    p.verbose = verbose;
    p.tty = isatty(STDERR_FILENO);
    p.last_percent = -1;
    p.last_json_percent = -1;

    bc_wait_opts_init(&opts);
    /* Pivoting or finishing from inside the wait leaves no round trip
     * between READY and the request. */
    opts.until = after == CLI_AFTER_READY_PIVOT ? BC_WAIT_PIVOT
                 : after == CLI_AFTER_READY_FINISH ? BC_WAIT_FINISH
                 : BC_WAIT_READY;
    opts.timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 0;
    opts.interrupt_fd = ctx->sigpipe[0];
    opts.progress_ms = (verbose || ctx->json) ? PROGRESS_MS : 0;
    opts.cb = on_event;
    opts.opaque = &p;

    /* The caller caught the signals already, so that one that came while
     * the copy started is not lost: it aborts the copy now. */
    cli_signals_catch(ctx);
    bc_error_init(&err);
    rc = bc_block_job_wait(conn, disk, &opts, &outcome, &err);

    if (rc < 0) {
        if (err.code == BC_ERR_TIMEOUT || err.code == BC_ERR_INTERRUPTED) {
            ctx->last_signal = cli_signals_take(ctx);
            rc = abort_job(ctx, conn, &p, async_abort);
            cli_signals_default();
            return rc;
        }
        cli_signals_default();
        if (err.code == BC_ERR_ABORTED) {
            print_result(ctx, &p, "aborted", "Copy aborted", CLI_FAILED);
            return CLI_FAILED;
        }
        if (err.code == BC_ERR_JOB_FAILED)
            return fail(ctx, &p, "Copy failed: ", &err);
        return fail(ctx, &p, NULL, &err);
    }

    cli_signals_default();
    switch (outcome) {
    case BC_JOB_EVENT_READY:
        print_result(ctx, &p, "ready", "Now in mirroring phase", CLI_OK);
        return CLI_OK;
    case BC_JOB_EVENT_PIVOTED:
        print_result(ctx, &p, "pivoted", "Successfully pivoted", CLI_OK);
        return CLI_OK;
    case BC_JOB_EVENT_COPIED:
        print_result(ctx, &p, "copied", "Successfully copied", CLI_OK);
        return CLI_OK;
    default:
        /* A job of another kind that ended by itself. */
        print_result(ctx, &p, "completed", "Block job completed", CLI_OK);
        return CLI_OK;
    }
    return CLI_FAILED;
}
