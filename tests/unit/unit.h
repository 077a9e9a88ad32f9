/*
 * The unit test suites.  Each file adds one Check suite.
 */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>

Suite *qmp_suite(void);
Suite *size_suite(void);
Suite *typedparams_suite(void);
Suite *diskxml_suite(void);
Suite *words_suite(void);
Suite *job_suite(void);
Suite *domain_suite(void);
Suite *codec_suite(void);

#endif /* UNIT_H */
