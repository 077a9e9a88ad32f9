/*
 * Several copies at once, for 'copy --all', 'copy vda,vdb' and
 * 'evacuate': one line a copy and a total, redrawn in place on a
 * terminal; JSON lines with --json; a result for each copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

#define REDRAW_US 250000LL

struct row {
    unsigned long long cur, end;
    const char *state;      /* NULL while copying */
    int json_percent;
};

struct view {
    cli_ctx *ctx;
    const char *const *labels;
    size_t n;
    struct row *rows;
    bool verbose, tty;
    int drawn;              /* lines on the terminal to redraw */
    long long last_us;
};

static long long now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void redraw(struct view *v)
{
    unsigned long long cur = 0, end = 0;
    char a[32], b[32];
    size_t i, ready = 0;

    if (v->drawn)
        fprintf(stderr, "\033[%dA", v->drawn);
    for (i = 0; i < v->n; i++) {
        const struct row *r = &v->rows[i];

        cur += r->cur;
        end += r->end;
        ready += r->state != NULL;
        fprintf(stderr, "\r\033[K%s: [%3d %%] %s of %s%s%s\n",
                cli_safe(v->labels[i]), cli_percent(r->cur, r->end),
                cli_human_size((double)r->cur, a, sizeof(a)),
                cli_human_size((double)r->end, b, sizeof(b)),
                r->state ? ", " : "", r->state ? r->state : "");
    }
    fprintf(stderr, "\r\033[KTotal: [%3d %%] %s of %s, %zu of %zu copies "
            "ready\n", cli_percent(cur, end),
            cli_human_size((double)cur, a, sizeof(a)),
            cli_human_size((double)end, b, sizeof(b)), ready, v->n);
    fflush(stderr);
    v->drawn = (int)v->n + 1;
    v->last_us = now_us();
}

static void on_event(const bc_job_event *ev, void *opaque)
{
    struct view *v = opaque;
    struct row *r;
    json_object *o;

    if (ev->member < 0 || (size_t)ev->member >= v->n)
        return;
    r = &v->rows[ev->member];
    r->cur = ev->cur;
    r->end = ev->end;
    if (ev->type == BC_JOB_EVENT_READY && r->cur < r->end)
        r->cur = r->end;
    if (ev->type != BC_JOB_EVENT_PROGRESS && ev->type != BC_JOB_EVENT_ERROR)
        r->state = cli_event_state(ev->type);
    if (v->ctx->json) {
        int pct = cli_percent(r->cur, r->end);

        if (ev->type == BC_JOB_EVENT_PROGRESS && pct == r->json_percent)
            return;
        o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(
            ev->type == BC_JOB_EVENT_PROGRESS ? "progress" : "state"));
        json_object_object_add(o, "disk",
                               json_object_new_string(v->labels[ev->member]));
        if (ev->job)
            json_object_object_add(o, "job", json_object_new_string(ev->job));
        if (ev->type == BC_JOB_EVENT_PROGRESS)
            json_object_object_add(o, "percent", json_object_new_int(pct));
        else
            json_object_object_add(o, "state",
                                   json_object_new_string(cli_event_state(ev->type)));
        json_object_object_add(o, "offset", json_object_new_uint64(ev->cur));
        json_object_object_add(o, "len", json_object_new_uint64(ev->end));
        json_object_object_add(o, "speed",
                               json_object_new_uint64(ev->bandwidth));
        json_object_object_add(o, "time", json_object_new_double(
            (double)ev->timestamp_us / 1e6));
        if (ev->error)
            json_object_object_add(o, "error",
                                   json_object_new_string(ev->error));
        cli_print_json_obj(o);
        r->json_percent = pct;
        return;
    }
    if (!v->verbose)
        return;
    if (v->tty) {
        if (ev->type != BC_JOB_EVENT_PROGRESS ||
            now_us() - v->last_us >= REDRAW_US)
            redraw(v);
    } else if (ev->type != BC_JOB_EVENT_PROGRESS) {
        fprintf(stderr, "%s: %s\n", cli_safe(v->labels[ev->member]),
                ev->type == BC_JOB_EVENT_ERROR ? cli_safe(ev->error)
                                               : r->state);
    }
}

/* One result a copy, and the reasons of those that failed. */
static int print_results(cli_ctx *ctx, bc_group *g,
                         const char *const *labels, bc_job_event_type want,
                         bool verbose)
{
    size_t i, n = bc_group_size(g), ok = 0;
    long long paused = 0;
    int status = CLI_OK;

    for (i = 0; i < n; i++) {
        bc_group_result r;
        int exit_status;
        char line[512];

        bc_group_result_get(g, i, &r);
        exit_status = !r.error && r.outcome == want ? CLI_OK : CLI_FAILED;
        if (exit_status != CLI_OK)
            status = CLI_FAILED;
        else
            ok++;
        if (r.paused_us > paused)
            paused = r.paused_us;
        if (ctx->json) {
            ctx->result_extra = json_object_new_object();
            if (r.paused_us) {
                char secs[32];

                snprintf(secs, sizeof(secs), "%.6f",
                         (double)r.paused_us / 1e6);
                json_object_object_add(ctx->result_extra, "paused",
                                       json_object_new_double_s(
                                           (double)r.paused_us / 1e6, secs));
            }
            if (r.error)
                json_object_object_add(ctx->result_extra, "error",
                                       json_object_new_string(
                                           r.error->message));
        } else if (r.error && r.error->code != BC_ERR_ABORTED) {
            snprintf(line, sizeof(line), "%s: ", labels[i]);
            cli_report_on(ctx, line, r.error, r.conn, r.disk);
        }
        snprintf(line, sizeof(line), "%s: %s", cli_safe(labels[i]),
                 cli_outcome_words(r.outcome ? r.outcome
                                             : BC_JOB_EVENT_ABORTED));
        cli_print_result(ctx, "disk", labels[i],
                         cli_event_state(r.outcome ? r.outcome
                                                   : BC_JOB_EVENT_ABORTED),
                         line, exit_status);
    }
    if (verbose && !ctx->json && !ctx->quiet && ok > 1 &&
        (want == BC_JOB_EVENT_PIVOTED || want == BC_JOB_EVENT_COPIED)) {
        printf("%s %zu disks at one instant", want == BC_JOB_EVENT_PIVOTED
                                                  ? "Switched" : "Copied", ok);
        if (paused)
            printf("; the guest was paused for %.1f ms",
                   (double)paused / 1e3);
        printf("\n");
    }
    return status;
}

int cli_run_group(cli_ctx *ctx, bc_group *g, const char *const *labels,
                  bool wait, cli_after_ready after, bool verbose,
                  int timeout_s, bool dry_run)
{
    bc_job_event_type want = after == CLI_AFTER_READY_PIVOT
                                 ? BC_JOB_EVENT_PIVOTED
                             : after == CLI_AFTER_READY_FINISH
                                 ? BC_JOB_EVENT_COPIED
                                 : BC_JOB_EVENT_READY;
    struct view v;
    bc_wait_opts opts;
    bc_error err;
    size_t i;
    int status;

    memset(&v, 0, sizeof(v));
    bc_error_init(&err);
    /* From here a signal must not kill the tool half way: it rolls the
     * copies back once they have started. */
    cli_signals_take(ctx);
    cli_signals_catch(ctx);
    if (bc_group_start(g, &err) < 0) {
        status = print_results(ctx, g, labels, want, false);
        goto out;
    }
    if (dry_run) {
        status = CLI_OK;
        goto out;
    }
    if (!wait) {
        for (i = 0; i < bc_group_size(g); i++) {
            char line[512];

            snprintf(line, sizeof(line), "%s: Block Copy started",
                     cli_safe(labels[i]));
            cli_print_result(ctx, "disk", labels[i], "started", line, CLI_OK);
        }
        status = CLI_OK;
        goto out;
    }

    v.ctx = ctx;
    v.labels = labels;
    v.n = bc_group_size(g);
    v.verbose = verbose;
    v.tty = isatty(STDERR_FILENO);
    if (!(v.rows = calloc(v.n ? v.n : 1, sizeof(*v.rows)))) {
        cli_error("out of memory");
        status = CLI_FAILED;
        goto out;
    }
    for (i = 0; i < v.n; i++)
        v.rows[i].json_percent = -1;
    bc_wait_opts_init(&opts);
    opts.until = after == CLI_AFTER_READY_PIVOT ? BC_WAIT_PIVOT
                 : after == CLI_AFTER_READY_FINISH ? BC_WAIT_FINISH
                 : BC_WAIT_READY;
    opts.timeout_ms = timeout_s * 1000;
    opts.interrupt_fd = ctx->sigpipe[0];
    opts.progress_ms = verbose || ctx->json ? 250 : 0;
    opts.cb = on_event;
    opts.opaque = &v;
    bc_group_wait(g, &opts, &err);
    if (v.tty && verbose && !ctx->json)
        redraw(&v);
    ctx->last_signal = cli_signals_take(ctx);
    status = print_results(ctx, g, labels, want, verbose);

 out:
    cli_signals_default();
    free(v.rows);
    return status;
}
