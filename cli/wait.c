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
#define RATE_SAMPLES 32
#define RATE_WINDOW_US 4000000LL
#define RATE_MIN_US 2000000LL

struct progress {
    cli_ctx *ctx;
    const char *disk;
    bool verbose;
    bool tty;               /* stderr is a terminal */
    bool line_open;         /* a "\r..." line is on stderr */
    bool ready;
    int last_percent;       /* for output on change only */
    int last_json_percent;
    /* The rate is the work done (data written, or the distance where
     * that is not known) over the last RATE_WINDOW_US: zero ranges the
     * copy skips in no time count for nothing. */
    struct { long long us; unsigned long long done; } win[RATE_SAMPLES];
    unsigned int nwin;
    bool by_written;        /* the samples are data written */
    double rate;            /* bytes/s, 0 while not measured */
    long long start_us, ready_us, end_us;   /* wait, READY, switch */
    unsigned long long written, end;    /* the latest seen */
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

static void measure_rate(struct progress *p, long long now,
                         unsigned long long done)
{
    unsigned int i = 0;

    /* Drop what is older than the window, keeping one sample before it
     * to measure from; a count that went back starts over. */
    while (p->nwin - i > 1 && now - p->win[i + 1].us >= RATE_WINDOW_US)
        i++;
    if (p->nwin && done < p->win[p->nwin - 1].done)
        i = p->nwin;
    if (i == 0 && p->nwin == RATE_SAMPLES)
        i = 1;
    memmove(p->win, p->win + i, (p->nwin - i) * sizeof(p->win[0]));
    p->nwin -= i;
    p->win[p->nwin].us = now;
    p->win[p->nwin++].done = done;
    /* QEMU keeps to a limit over seconds, in bursts: a shorter span
     * would show the bursts. */
    if (p->nwin > 1 && now - p->win[0].us >= RATE_MIN_US)
        p->rate = (double)(done - p->win[0].done) * 1e6 /
                  (double)(now - p->win[0].us);
}

/* The work still to do: the data not yet written where QEMU tells both,
 * else the distance to go. */
static unsigned long long remaining(const bc_job_event *ev)
{
    if (ev->written && ev->data)
        return ev->data > ev->written ? ev->data - ev->written : 0;
    return ev->end > ev->cur ? ev->end - ev->cur : 0;
}

static void show_progress(struct progress *p, const bc_job_event *ev)
{
    int pct = cli_percent(ev->cur, ev->end);
    long long now = wall_us();
    char done[32], total[32], rate[32];

    /* Nothing is known before QEMU has counted; an empty disk is done. */
    if (ev->cur == 0 && ev->end == 0 && !p->ready)
        return;
    p->end = ev->end;
    if (ev->written)
        p->written = ev->written;
    /* Once everything is copied the guest's writes are all there is to
     * copy: that is no rate of the copy. */
    /* The data written once QEMU tells it, the distance before: never
     * the one against the other. */
    if (ev->written && !p->by_written) {
        p->by_written = true;
        p->nwin = 0;
        p->rate = 0;
    }
    if (pct < 100 && (ev->written || !p->by_written))
        measure_rate(p, now, p->by_written ? ev->written : ev->cur);

    if (p->ctx->json) {
        if (pct != p->last_json_percent) {
            json_object *o = json_event("progress", ev, p->disk);

            json_object_object_add(o, "percent", json_object_new_int(pct));
            json_object_object_add(o, "rate",
                                   json_object_new_uint64((uint64_t)p->rate));
            if (ev->written && ev->data) {
                json_object_object_add(o, "written",
                                       json_object_new_uint64(ev->written));
                json_object_object_add(o, "data",
                                       json_object_new_uint64(ev->data));
            }
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
            double eta = (double)remaining(ev) / p->rate;

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

const char *cli_event_state(bc_job_event_type type)
{
    static const char *const states[] = {
        [BC_JOB_EVENT_PROGRESS] = "progress",
        [BC_JOB_EVENT_READY] = "ready",
        [BC_JOB_EVENT_PIVOTED] = "pivoted",
        [BC_JOB_EVENT_COPIED] = "copied",
        [BC_JOB_EVENT_COMPLETED] = "completed",
        [BC_JOB_EVENT_ABORTED] = "aborted",
        [BC_JOB_EVENT_FAILED] = "failed",
        [BC_JOB_EVENT_ERROR] = "io-error",
        [BC_JOB_EVENT_SWITCHED] = "switched",
        [BC_JOB_EVENT_NOT_CONVERGING] = "not-converging",
    };

    return type > 0 && type < sizeof(states) / sizeof(states[0]) &&
           states[type] ? states[type] : "?";
}

static void on_event(const bc_job_event *ev, void *opaque)
{
    struct progress *p = opaque;
    char dirty[32], copied[32];

    if (ev->type == BC_JOB_EVENT_PROGRESS) {
        show_progress(p, ev);
        return;
    }
    if (ev->type == BC_JOB_EVENT_PIVOTED || ev->type == BC_JOB_EVENT_COPIED)
        p->end_us = ev->timestamp_us;
    if (ev->type == BC_JOB_EVENT_READY) {
        bc_job_event last = *ev;

        p->ready = true;
        p->ready_us = ev->timestamp_us;
        /* The mirroring phase: everything is copied at this moment. */
        last.type = BC_JOB_EVENT_PROGRESS;
        if (last.cur < last.end)
            last.cur = last.end;
        show_progress(p, &last);
    }
    if (ev->type == BC_JOB_EVENT_SWITCHED ||
        ev->type == BC_JOB_EVENT_NOT_CONVERGING) {
        end_line(p);
        cli_human_size((double)ev->dirty_rate, dirty, sizeof(dirty));
        cli_human_size((double)ev->copy_rate, copied, sizeof(copied));
    }
    if (ev->type == BC_JOB_EVENT_SWITCHED)
        fprintf(stderr, "Copy not converging (the guest writes new data at "
                "%s/s, the copy copies %s/s): switched to synchronous "
                "writes\n", dirty, copied);
    if (ev->type == BC_JOB_EVENT_NOT_CONVERGING)
        cli_warn("the copy is not converging: the guest writes new data at "
                 "%s/s, the copy copies %s/s; it cannot be switched to "
                 "synchronous writes (%s); start the copy with "
                 "--synchronous-writes to make it converge", dirty, copied,
                 ev->error);
    if (p->ctx->json) {
        json_object *o = json_event("state", ev, p->disk);

        json_object_object_add(o, "state",
                               json_object_new_string(cli_event_state(ev->type)));
        if (ev->type == BC_JOB_EVENT_SWITCHED ||
            ev->type == BC_JOB_EVENT_NOT_CONVERGING) {
            json_object_object_add(o, "dirty-rate",
                                   json_object_new_uint64(ev->dirty_rate));
            json_object_object_add(o, "copy-rate",
                                   json_object_new_uint64(ev->copy_rate));
        }
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

const char *cli_outcome_words(bc_job_event_type got)
{
    switch (got) {
    case BC_JOB_EVENT_READY: return "Now in mirroring phase";
    case BC_JOB_EVENT_PIVOTED: return "Successfully pivoted";
    case BC_JOB_EVENT_COPIED: return "Successfully copied";
    case BC_JOB_EVENT_ABORTED: return "Copy aborted";
    case BC_JOB_EVENT_FAILED: return "Copy failed";
    default: return "Block job completed";
    }
}

int cli_print_outcome(cli_ctx *ctx, const char *disk, bc_job_event_type got,
                      unsigned int want)
{
    /* What QEMU shows is what is said; the exit status says whether it
     * is what was asked for. */
    int status = (want & CLI_OUTCOME(got)) ? CLI_OK : CLI_FAILED;

    cli_print_result(ctx, "disk", disk,
                     cli_event_state(got == BC_JOB_EVENT_PIVOTED ||
                                     got == BC_JOB_EVENT_COPIED ||
                                     got == BC_JOB_EVENT_READY ||
                                     got == BC_JOB_EVENT_ABORTED
                                         ? got : BC_JOB_EVENT_COMPLETED),
                     cli_outcome_words(got), status);
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

/*
 * What the copy took, once it is in the mirroring phase (and switched or
 * finished): a line with --verbose, members of the JSON result.  Known
 * only where progress was measured.
 */
static void summarize(struct progress *p)
{
    double secs, rate, sw;
    unsigned long long zeroes;
    char a[32], b[32], c[32];

    if (!p->ready_us || !p->written || (!p->verbose && !p->ctx->json))
        return;
    secs = (double)(p->ready_us - p->start_us) / 1e6;
    rate = secs > 0 ? (double)p->written / secs : 0;
    zeroes = p->end > p->written ? p->end - p->written : 0;
    sw = p->end_us > p->ready_us ? (double)(p->end_us - p->ready_us) / 1e6
                                 : -1;
    if (p->ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "duration", json_object_new_double(secs));
        json_object_object_add(o, "written",
                               json_object_new_uint64(p->written));
        json_object_object_add(o, "zeroes-skipped",
                               json_object_new_uint64(zeroes));
        json_object_object_add(o, "average-rate",
                               json_object_new_uint64((uint64_t)rate));
        if (sw >= 0)
            json_object_object_add(o, "switch-time",
                                   json_object_new_double(sw));
        json_object_put(p->ctx->result_extra);
        p->ctx->result_extra = o;
        return;
    }
    fprintf(stderr, "Copied %s in %.1f s (%s of zeroes skipped), %s/s",
            cli_human_size((double)p->written, a, sizeof(a)), secs,
            cli_human_size((double)zeroes, b, sizeof(b)),
            cli_human_size(rate, c, sizeof(c)));
    if (sw >= 0)
        fprintf(stderr, "; switched %.3f s after ready", sw);
    fputc('\n', stderr);
}

/* Stop watching a copy this command did not start: it goes on. */
static int detach(cli_ctx *ctx, bc_conn *conn, struct progress *p)
{
    print_result(ctx, p, "detached", "Stopped watching; the copy goes on",
                 CLI_FAILED);
    fprintf(stderr, "hint: 'blockcopy job %s %s --wait' watches it again; "
            "--abort ends it\n", cli_safe(bc_conn_get_address(conn)),
            cli_safe(p->disk));
    return CLI_FAILED;
}

int cli_wait_job(cli_ctx *ctx, bc_conn *conn, const char *disk,
                 cli_after_ready after, bool verbose, int timeout_s,
                 bool async_abort, bool watching, int converge_s)
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
    p.start_us = wall_us();

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
    opts.converge_ms = converge_s * 1000;

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
        if (err.code == BC_ERR_INTERRUPTED && watching) {
            ctx->last_signal = cli_signals_take(ctx);
            return detach(ctx, conn, &p);
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
    summarize(&p);
    /* A job of another kind may just end; one only watched may end as
     * another client asked. */
    if (after == CLI_AFTER_READY_STAY)
        want |= CLI_OUTCOME(BC_JOB_EVENT_PIVOTED) |
                CLI_OUTCOME(BC_JOB_EVENT_COPIED);
    return cli_print_outcome(ctx, disk, outcome,
                             want | CLI_OUTCOME(BC_JOB_EVENT_COMPLETED));
}
