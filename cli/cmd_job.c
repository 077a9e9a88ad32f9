/*
 * The job command (virsh blockjob) and the jobs listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

static const char *job_label(const char *type)
{
    if (!type)
        return "Unknown job";
    if (!strcmp(type, "mirror"))
        return "Block Copy";
    if (!strcmp(type, "commit"))
        return "Block Commit";
    if (!strcmp(type, "stream"))
        return "Block Pull";
    if (!strcmp(type, "backup"))
        return "Backup";
    return "Unknown job";
}

static json_object *job_json(const bc_job_info *j)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(j->id));
    json_object_object_add(o, "disk", j->disk ? json_object_new_string(j->disk)
                                              : NULL);
    json_object_object_add(o, "type", json_object_new_string(
        j->type ? j->type : "unknown"));
    json_object_object_add(o, "status", json_object_new_string(
        j->status ? j->status : "unknown"));
    json_object_object_add(o, "offset", json_object_new_uint64(j->cur));
    json_object_object_add(o, "len", json_object_new_uint64(j->end));
    json_object_object_add(o, "speed", json_object_new_uint64(j->bandwidth));
    json_object_object_add(o, "ready", json_object_new_boolean(j->ready));
    json_object_object_add(o, "paused", json_object_new_boolean(j->paused));
    if (j->io_status)
        json_object_object_add(o, "io-status",
                               json_object_new_string(j->io_status));
    if (j->error)
        json_object_object_add(o, "error", json_object_new_string(j->error));
    if (j->actively_synced >= 0)
        json_object_object_add(o, "actively-synced",
                               json_object_new_boolean(j->actively_synced));
    return o;
}

static int show_info(cli_ctx *ctx, bc_conn *conn, const char *disk, bool raw)
{
    bc_job_info info;
    bc_error err;
    int rc;

    bc_error_init(&err);
    if ((rc = bc_block_job_info(conn, disk, &info, &err)) < 0)
        return cli_report(ctx, NULL, &err);
    if (ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("job"));
        json_object_object_add(o, "disk", json_object_new_string(disk));
        json_object_object_add(o, "job", rc ? job_json(&info) : NULL);
        cli_print_json_obj(o);
    } else if (rc == 0) {
        if (!raw && !ctx->quiet)
            printf("No current block job for %s\n", cli_safe(disk));
    } else if (raw) {
        printf(" type=%s\n bandwidth=%llu\n cur=%llu\n end=%llu\n",
               job_label(info.type), info.bandwidth, info.cur, info.end);
    } else {
        double limit = (double)info.bandwidth;
        const char *unit = cli_scale(&limit);

        printf("%s: [%3d %%]", job_label(info.type),
               cli_percent(info.cur, info.end));
        /* virsh's format, in the unit that fits. */
        if (info.bandwidth)
            printf("    Bandwidth limit: %llu bytes/s (%.3f %s/s)",
                   info.bandwidth, limit, unit);
        printf("\n");
        if (info.actively_synced == 1)
            printf("Actively synced: every guest write reaches both images\n");
        if (info.error)
            printf("Failed: %s\n", cli_safe(info.error));
    }
    bc_job_info_clear(&info);
    return CLI_OK;
}

static int end_job(cli_ctx *ctx, bc_conn *conn, const char *disk, bool pivot,
                   bool finish, bool async)
{
    bc_job_info info;
    bc_job_event_type outcome = 0;
    bc_error err;
    unsigned int flags = (async ? BC_BLOCK_JOB_ABORT_ASYNC : 0) |
                         (pivot ? BC_BLOCK_JOB_ABORT_PIVOT : 0);
    unsigned int want;
    int rc;

    bc_error_init(&err);
    /* Ending a ready copy without pivot keeps the copy (a finish); a copy
     * that is not ready cannot finish. */
    if (finish) {
        if ((rc = bc_block_job_info(conn, disk, &info, &err)) < 0)
            return cli_report(ctx, NULL, &err);
        if (rc == 1 && !(info.ready && info.type &&
                         !strcmp(info.type, "mirror"))) {
            cli_error("block job '%s' is not ready yet: it cannot finish",
                      info.id);
            bc_job_info_clear(&info);
            return CLI_FAILED;
        }
        bc_job_info_clear(&info);
    }
    if (bc_block_job_end(conn, disk, flags, &outcome, &err) < 0) {
        /* Cancelled is what --abort asks for. */
        if (err.code == BC_ERR_ABORTED && !pivot)
            outcome = BC_JOB_EVENT_ABORTED;
        else
            return cli_report_on(ctx, pivot ? "failed to pivot: " : NULL,
                                 &err, conn, disk);
    }
    if (!outcome) {
        cli_print_result(ctx, "disk", disk, pivot ? "pivot-requested"
                         : "abort-requested", NULL, CLI_OK);
        return CLI_OK;
    }
    /* --abort asks that the job end: however it ended (a pivot asked
     * for earlier may have won), it has. */
    want = pivot ? CLI_OUTCOME(BC_JOB_EVENT_PIVOTED)
           : finish ? CLI_OUTCOME(BC_JOB_EVENT_COPIED)
           : CLI_OUTCOME(BC_JOB_EVENT_ABORTED) |
             CLI_OUTCOME(BC_JOB_EVENT_COPIED) |
             CLI_OUTCOME(BC_JOB_EVENT_PIVOTED) |
             CLI_OUTCOME(BC_JOB_EVENT_COMPLETED);
    return cli_print_outcome(ctx, disk, outcome, want);
}

int cli_cmd_job(cli_ctx *ctx, const cli_args *args)
{
    static const char *const actions[] = { "abort", "pivot", "finish",
                                           "bandwidth", "wait",
                                           "synchronous-writes" };
    const char *disk = cli_arg(args, "disk");
    bool wait = cli_flag(args, "wait");
    bool pivot = cli_flag(args, "pivot"), finish = cli_flag(args, "finish");
    bool async = cli_flag(args, "async");
    unsigned long long bw = 0;
    bc_conn *conn = NULL;
    bc_error err;
    int status = CLI_USAGE, timeout = 0;
    size_t i;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (!cli_exclusive(args, "info", actions[i]) ||
            !cli_exclusive(args, "raw", actions[i]))
            return CLI_USAGE;
    if (!cli_exclusive(args, "pivot", "finish") ||
        !cli_exclusive(args, "abort", "finish") ||
        !cli_exclusive(args, "bandwidth", "abort") ||
        !cli_exclusive(args, "bandwidth", "pivot") ||
        !cli_exclusive(args, "bandwidth", "finish") ||
        !cli_exclusive(args, "bandwidth", "wait") ||
        !cli_exclusive(args, "abort", "wait") ||
        !cli_exclusive(args, "synchronous-writes", "abort") ||
        !cli_exclusive(args, "synchronous-writes", "pivot") ||
        !cli_exclusive(args, "synchronous-writes", "finish") ||
        !cli_exclusive(args, "synchronous-writes", "wait"))
        return CLI_USAGE;
    if (!wait && (cli_flag(args, "verbose") || cli_has(args, "timeout"))) {
        cli_error("--%s requires --wait",
                  cli_flag(args, "verbose") ? "verbose" : "timeout");
        return CLI_USAGE;
    }
    if (async && !wait && !pivot && !finish && !cli_flag(args, "abort")) {
        cli_error("--async requires --abort, --pivot, --finish or --wait");
        return CLI_USAGE;
    }
    if (cli_arg_timeout(args, &timeout) < 0 ||
        cli_arg_bandwidth(args, 0x7fffffffffffffffULL, &bw) < 0)
        return CLI_USAGE;

    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        return status;

    bc_error_init(&err);
    if (cli_flag(args, "synchronous-writes")) {
        if (bc_block_job_set_synchronous(conn, disk, &err) < 0 ||
            (cli_has(args, "bandwidth") &&
             bc_block_job_set_speed(conn, disk, bw, &err) < 0)) {
            status = cli_report(ctx, NULL, &err);
        } else {
            cli_print_result(ctx, "disk", disk, "synchronous-writes",
                             "Switched to synchronous writes", CLI_OK);
            status = CLI_OK;
        }
    } else if (cli_has(args, "bandwidth")) {
        if (bc_block_job_set_speed(conn, disk, bw, &err) < 0)
            status = cli_report(ctx, NULL, &err);
        else {
            cli_print_result(ctx, "disk", disk, "speed-set", NULL, CLI_OK);
            status = CLI_OK;
        }
    } else if (wait) {
        cli_signals_take(ctx);
        status = cli_wait_job(ctx, conn, disk,
                              pivot ? CLI_AFTER_READY_PIVOT
                              : finish ? CLI_AFTER_READY_FINISH
                              : CLI_AFTER_READY_STAY,
                              cli_flag(args, "verbose"), timeout, async,
                              true, 0);
    } else if (pivot || finish || cli_flag(args, "abort")) {
        status = end_job(ctx, conn, disk, pivot, finish, async);
    } else {
        status = show_info(ctx, conn, disk, cli_flag(args, "raw"));
    }
    cli_disconnect(ctx, conn);
    return status;
}

static void fmt_speed(unsigned long long bw, char *buf, size_t len)
{
    char human[32];

    if (!bw)
        snprintf(buf, len, "unlimited");
    else
        snprintf(buf, len, "%s/s", cli_human_size((double)bw, human,
                                                  sizeof(human)));
}

int cli_cmd_jobs(cli_ctx *ctx, const cli_args *args)
{
    bc_job_info *jobs = NULL;
    size_t n = 0, i;
    bc_conn *conn;
    bc_error err;
    int status = CLI_OK;

    if (!(conn = cli_connect(ctx, cli_domain(ctx, args), &status)))
        return status;
    bc_error_init(&err);
    if (bc_block_jobs_settle(conn, &err) < 0 ||
        bc_block_jobs_list(conn, &jobs, &n, &err) < 0) {
        status = cli_report(ctx, NULL, &err);
        goto out;
    }
    if (ctx->json) {
        json_object *a = json_object_new_array();

        for (i = 0; i < n; i++)
            json_object_array_add(a, job_json(&jobs[i]));
        cli_print_json_obj(a);
    } else if (n == 0) {
        if (!ctx->quiet)
            printf("No block jobs\n");
    } else {
        printf("%-12s %-20s %-8s %-10s %8s  %s\n", "Disk", "Job", "Type",
               "State", "Progress", "Speed");
        for (i = 0; i < n; i++) {
            char speed[32], pct[16];

            fmt_speed(jobs[i].bandwidth, speed, sizeof(speed));
            snprintf(pct, sizeof(pct), "%d %%",
                     cli_percent(jobs[i].cur, jobs[i].end));
            printf("%-12s %-20s %-8s %-10s %8s  %s\n",
                   jobs[i].disk ? cli_safe(jobs[i].disk) : "-",
                   cli_safe(jobs[i].id),
                   jobs[i].type ? cli_safe(jobs[i].type) : "?",
                   jobs[i].status ? cli_safe(jobs[i].status) : "?", pct,
                   speed);
            if (jobs[i].error)
                printf("%-12s %s\n", "", cli_safe(jobs[i].error));
        }
    }

 out:
    bc_job_infos_free(jobs, n);
    cli_disconnect(ctx, conn);
    return status;
}
