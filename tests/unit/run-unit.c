/*
 * Runs every unit test suite; exit status 0 only if all pass.
 */
#include <stdlib.h>

#include "unit.h"

int main(void)
{
    SRunner *sr = srunner_create(qmp_suite());
    int failed;

    srunner_add_suite(sr, size_suite());
    srunner_add_suite(sr, typedparams_suite());
    srunner_add_suite(sr, diskxml_suite());
    srunner_add_suite(sr, words_suite());
    srunner_add_suite(sr, job_suite());
    srunner_add_suite(sr, domain_suite());
    srunner_add_suite(sr, codec_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
