/*
 * The job state machine (jobstate.c) and the type checks on what QEMU
 * sends about jobs and the block graph.
 */
#include <string.h>

#include <json-c/json.h>

#include "graph.h"
#include "jobstate.h"
#include "unit.h"

START_TEST(test_status_names_round_trip)
{
    int i;

    for (i = 0; i < BC_JS__MAX; i++)
        ck_assert_int_eq(bc_job_status_parse(bc_job_status_name(i)), i);
    ck_assert_int_eq(bc_job_status_parse("sleeping"), BC_JS_UNDEFINED);
    ck_assert_int_eq(bc_job_status_parse(NULL), BC_JS_UNDEFINED);
    ck_assert_str_eq(bc_job_status_name(BC_JS__MAX), "?");
}
END_TEST

/* Every transition a mirror makes on its way, pivoted, finished,
 * cancelled or failed, is one step of the table. */
START_TEST(test_a_mirror_life_is_steps)
{
    static const bc_job_status lives[][8] = {
        { BC_JS_CREATED, BC_JS_RUNNING, BC_JS_READY, BC_JS_WAITING,
          BC_JS_PENDING, BC_JS_CONCLUDED, BC_JS_NULL, BC_JS__MAX },
        { BC_JS_CREATED, BC_JS_RUNNING, BC_JS_ABORTING, BC_JS_CONCLUDED,
          BC_JS_NULL, BC_JS__MAX },
        { BC_JS_CREATED, BC_JS_RUNNING, BC_JS_PAUSED, BC_JS_RUNNING,
          BC_JS_READY, BC_JS_STANDBY, BC_JS_READY, BC_JS_ABORTING },
        { BC_JS_CREATED, BC_JS_RUNNING, BC_JS_WAITING, BC_JS_PENDING,
          BC_JS_ABORTING, BC_JS_CONCLUDED, BC_JS__MAX },
    };
    size_t l;
    int i;

    for (l = 0; l < sizeof(lives) / sizeof(lives[0]); l++)
        for (i = 1; i < 8 && lives[l][i] != BC_JS__MAX; i++)
            ck_assert_msg(bc_job_status_step(lives[l][i - 1], lives[l][i]),
                          "life %zu: %s -> %s", l,
                          bc_job_status_name(lives[l][i - 1]),
                          bc_job_status_name(lives[l][i]));
}
END_TEST

/* What an earlier job of the same id leaves queued is no step of a job
 * that runs: its dismissal, its end, its readiness after the end. */
START_TEST(test_stale_news_is_no_step)
{
    ck_assert(!bc_job_status_step(BC_JS_RUNNING, BC_JS_NULL));
    ck_assert(!bc_job_status_step(BC_JS_RUNNING, BC_JS_CONCLUDED));
    ck_assert(!bc_job_status_step(BC_JS_READY, BC_JS_NULL));
    ck_assert(!bc_job_status_step(BC_JS_READY, BC_JS_CONCLUDED));
    ck_assert(!bc_job_status_step(BC_JS_CONCLUDED, BC_JS_READY));
    ck_assert(!bc_job_status_step(BC_JS_CONCLUDED, BC_JS_RUNNING));
    ck_assert(!bc_job_status_step(BC_JS_NULL, BC_JS_CREATED));
    ck_assert(!bc_job_status_step(BC_JS_RUNNING, BC_JS_RUNNING));
    ck_assert(!bc_job_status_step(BC_JS__MAX, BC_JS_RUNNING));
    ck_assert(!bc_job_status_step(BC_JS_RUNNING, BC_JS__MAX));
}
END_TEST

/* A query may skip steps, but never goes back. */
START_TEST(test_reachable_is_forward_only)
{
    ck_assert(bc_job_status_reachable(BC_JS_RUNNING, BC_JS_RUNNING));
    ck_assert(bc_job_status_reachable(BC_JS_RUNNING, BC_JS_CONCLUDED));
    ck_assert(bc_job_status_reachable(BC_JS_CREATED, BC_JS_NULL));
    ck_assert(bc_job_status_reachable(BC_JS_READY, BC_JS_NULL));
    ck_assert(bc_job_status_reachable(BC_JS_UNDEFINED, BC_JS_READY));
    ck_assert(!bc_job_status_reachable(BC_JS_CONCLUDED, BC_JS_RUNNING));
    ck_assert(!bc_job_status_reachable(BC_JS_NULL, BC_JS_RUNNING));
    ck_assert(!bc_job_status_reachable(BC_JS_PENDING, BC_JS_READY));
    ck_assert(!bc_job_status_reachable(BC_JS_ABORTING, BC_JS_READY));
    ck_assert(!bc_job_status_reachable(BC_JS_WAITING, BC_JS_RUNNING));
}
END_TEST

START_TEST(test_ready_states)
{
    int i;

    for (i = 0; i < BC_JS__MAX; i++)
        ck_assert_int_eq(bc_job_status_is_ready(i),
                         i == BC_JS_READY || i == BC_JS_STANDBY);
}
END_TEST

/* A graph whose members have the wrong JSON types is no graph: no answer,
 * and no crash. */
START_TEST(test_graph_with_wrong_types)
{
    static const char *const graphs[] = {
        "{\"nodes\": \"x\", \"edges\": 7}",
        "{\"nodes\": {\"id\": 1}, \"edges\": {\"parent\": 1}}",
        "{\"nodes\": [1, \"a\", null, {\"id\": \"1\", \"type\": 5}], "
        "\"edges\": [null, 3, {\"parent\": \"x\", \"child\": []}]}",
        "{\"nodes\": [{\"id\": 1, \"type\": \"block-job\", \"name\": \"j\"},"
        " {\"id\": 2, \"type\": \"block-driver\", \"name\": \"n\"}],"
        " \"edges\": [{\"parent\": 1, \"child\": 2, \"name\": 9},"
        " {\"parent\": 2, \"child\": 2}]}",
        "[]",
        "\"graph\"",
    };
    bc_disk disk;
    size_t i;

    memset(&disk, 0, sizeof(disk));
    disk.drive = "drive0";
    disk.qdev = "virtio-disk0";
    for (i = 0; i < sizeof(graphs) / sizeof(graphs[0]); i++) {
        json_object *g = json_tokener_parse(graphs[i]);
        char **sub;

        ck_assert_ptr_nonnull(g);
        ck_assert(!bc_graph_job_on_disk(g, "j", &disk));
        sub = bc_graph_subtree(g, "n");
        ck_assert_ptr_nonnull(sub);
        ck_assert_str_eq(sub[0], "n");
        bc_strv_free(sub);
        json_object_put(g);
    }
}
END_TEST

Suite *job_suite(void)
{
    Suite *s = suite_create("job");
    TCase *tc = tcase_create("states");

    tcase_add_test(tc, test_status_names_round_trip);
    tcase_add_test(tc, test_a_mirror_life_is_steps);
    tcase_add_test(tc, test_stale_news_is_no_step);
    tcase_add_test(tc, test_reachable_is_forward_only);
    tcase_add_test(tc, test_ready_states);
    tcase_add_test(tc, test_graph_with_wrong_types);
    suite_add_tcase(s, tc);
    return s;
}
