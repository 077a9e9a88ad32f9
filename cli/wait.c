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
        if (ev->bandwidth)
            fprintf(stderr, ", limit %s/s",
                    cli_human_size((double)ev->bandwidth, rate, sizeof(rate)));
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
static int fail(cli_ctx *ctx, bc_conn *conn, struct progress *p,
                const char *prefix, const bc_error *err)
{
    int status;

    end_line(p);
    /* cli_report() prints the JSON result itself. */
    status = cli_report_on(ctx, prefix, err, conn, p->disk);
    return status == CLI_USAGE ? CLI_USAGE : CLI_FAILED;
}

int cli_print_outcome(cli_ctx *ctx, const char *disk, bc_job_event_type got,
                      unsigned int want)
{
    static const struct {
        bc_job_event_type type;
        const char *status, *human;
    } words[] = {
        { BC_JOB_EVENT_READY, "ready", "Now in mirroring phase" },
        { BC_JOB_EVENT_PIVOTED, "pivoted", "Successfully pivoted" },
        { BC_JOB_EVENT_COPIED, "copied", "Successfully copied" },
        { BC_JOB_EVENT_ABORTED, "aborted", "Copy aborted" },
        { BC_JOB_EVENT_COMPLETED, "completed", "Block job completed" },
    };
    size_t i;
    int status;

    for (i = 0; i < sizeof(words) / sizeof(words[0]) - 1; i++)
        if (words[i].type == got)
            break;
    /* What QEMU shows is what is said; the exit status says whether it
     * is what was asked for. */
    status = (want & CLI_OUTCOME(got)) ? CLI_OK : CLI_FAILED;
    cli_print_result(ctx, "disk", disk, words[i].status, words[i].human,
                     status);
    return status;
}

/* The job did not get ready in time or a signal came: abort it, and say
 * how it really ended (a pivot may have beaten the abort). */
static int abort_job(cli_ctx *ctx, bc_conn *conn, struct progress *p,
                     bool async, unsigned int want)
{
    bc_job_event_type outcome = 0;
    bc_wait_opts opts;
    bc_error err;

    end_line(p);
    bc_error_init(&err);
    if (async) {
        if (bc_block_job_end(conn, p->disk, BC_BLOCK_JOB_ABORT_ASYNC,
                             &outcome, &err) < 0 && err.code != BC_ERR_NO_JOB)
            return fail(ctx, conn, p, "cannot abort the copy: ", &err);
        if (outcome)
            return cli_print_outcome(ctx, p->disk, outcome, want);
        print_result(ctx, p, "aborted", "Copy aborted", CLI_FAILED);
        return CLI_FAILED;
    }
    bc_wait_opts_init(&opts);
    opts.until = BC_WAIT_ABORT;
    opts.interrupt_fd = ctx->sigpipe[0];
    opts.cb = on_event;
    opts.opaque = p;
    cli_signals_catch(ctx);
    if (bc_block_job_wait(conn, p->disk, &opts, &outcome, &err) < 0 &&
        err.code != BC_ERR_NO_JOB) {
        cli_signals_default();
        /* The copy may go on, or may have ended: QEMU can tell. */
        if (err.code == BC_ERR_NO_REPLY || err.code == BC_ERR_CLOSED)
            err.code = BC_ERR_UNCERTAIN;
        return fail(ctx, conn, p, "cannot abort the copy: ", &err);
    }
    cli_signals_default();
    if (!outcome)
        outcome = BC_JOB_EVENT_ABORTED;
    /* Aborted as asked is still a copy that did not happen: exit 1; a
     * pivot or finish that beat the abort is what was asked for. */
    return cli_print_outcome(ctx, p->disk, outcome, want);
}

int cli_wait_job(cli_ctx *ctx, bc_conn *conn, const char *disk,
                 cli_after_ready after, bool verbose, int timeout_s,
                 bool async_abort)
{
    unsigned int want = CLI_OUTCOME(after == CLI_AFTER_READY_PIVOT
                                        ? BC_JOB_EVENT_PIVOTED
                                    : after == CLI_AFTER_READY_FINISH
                                        ? BC_JOB_EVENT_COPIED
                                        : BC_JOB_EVENT_READY);
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
    cli_signals_default();

    if (rc < 0) {
        if (err.code == BC_ERR_DEST_CHANGED) {
            /* The copy cannot be what was asked for: end it. */
            end_line(&p);
            cli_error("%s", err.message);
            return abort_job(ctx, conn, &p, async_abort, want);
        }
        if (err.code == BC_ERR_TIMEOUT || err.code == BC_ERR_INTERRUPTED) {
            ctx->last_signal = cli_signals_take(ctx);
            return abort_job(ctx, conn, &p, async_abort,
                             after == CLI_AFTER_READY_STAY ? 0 : want);
        }
        if (err.code == BC_ERR_ABORTED) {
            print_result(ctx, &p, "aborted", "Copy aborted", CLI_FAILED);
            return CLI_FAILED;
        }
        if (err.code == BC_ERR_JOB_FAILED)
            return fail(ctx, conn, &p, "Copy failed: ", &err);
        /* The copy ran when QEMU stopped answering: it may run still. */
        if (err.code == BC_ERR_NO_REPLY || err.code == BC_ERR_CLOSED)
            err.code = BC_ERR_UNCERTAIN;
        return fail(ctx, conn, &p, NULL, &err);
    }
    end_line(&p);
    /* A job of another kind may just end; one only watched may end as
     * another client asked. */
    if (after == CLI_AFTER_READY_STAY)
        want |= CLI_OUTCOME(BC_JOB_EVENT_PIVOTED) |
                CLI_OUTCOME(BC_JOB_EVENT_COPIED);
    return cli_print_outcome(ctx, disk, outcome,
                             want | CLI_OUTCOME(BC_JOB_EVENT_COMPLETED));
}
