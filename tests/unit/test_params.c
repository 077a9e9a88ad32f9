/*
 * The size parser and typed parameters.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

static unsigned long long size_ok(const char *s, unsigned long long scale,
                                  unsigned long long max)
{
    unsigned long long v = 12345;
    bc_error err;

    bc_error_init(&err);
    ck_assert_msg(bc_parse_size(s, scale, max, &v, &err) == 0,
                  "'%s': %s", s, err.message);
    return v;
}

static const char *size_bad(const char *s, unsigned long long max)
{
    static bc_error err;
    unsigned long long v = 777;

    bc_error_init(&err);
    ck_assert_msg(bc_parse_size(s, 1, max, &v, &err) == -1, "'%s' accepted",
                  s);
    ck_assert_int_eq(err.code, BC_ERR_INVALID_ARG);
    ck_assert_int_eq(v, 777);
    return err.message;
}

START_TEST(test_size_suffixes)
{
    ck_assert_uint_eq(size_ok("0", 1, ULLONG_MAX), 0);
    ck_assert_uint_eq(size_ok("512", 1, ULLONG_MAX), 512);
    ck_assert_uint_eq(size_ok("512b", 1024, ULLONG_MAX), 512);
    ck_assert_uint_eq(size_ok("512B", 1024, ULLONG_MAX), 512);
    ck_assert_uint_eq(size_ok("1k", 1, ULLONG_MAX), 1024);
    ck_assert_uint_eq(size_ok("1K", 1, ULLONG_MAX), 1024);
    ck_assert_uint_eq(size_ok("1KiB", 1, ULLONG_MAX), 1024);
    ck_assert_uint_eq(size_ok("1kib", 1, ULLONG_MAX), 1024);
    ck_assert_uint_eq(size_ok("1KB", 1, ULLONG_MAX), 1000);
    ck_assert_uint_eq(size_ok("1kB", 1, ULLONG_MAX), 1000);
    ck_assert_uint_eq(size_ok("64M", 1, ULLONG_MAX), 64ULL << 20);
    ck_assert_uint_eq(size_ok("64MiB", 1, ULLONG_MAX), 64ULL << 20);
    ck_assert_uint_eq(size_ok("64MB", 1, ULLONG_MAX), 64000000ULL);
    ck_assert_uint_eq(size_ok("3G", 1, ULLONG_MAX), 3ULL << 30);
    ck_assert_uint_eq(size_ok("3GB", 1, ULLONG_MAX), 3000000000ULL);
    ck_assert_uint_eq(size_ok("2T", 1, ULLONG_MAX), 2ULL << 40);
    ck_assert_uint_eq(size_ok("2P", 1, ULLONG_MAX), 2ULL << 50);
    ck_assert_uint_eq(size_ok("2PB", 1, ULLONG_MAX), 2000000000000000ULL);
    ck_assert_uint_eq(size_ok("15E", 1, ULLONG_MAX), 15ULL << 60);
    ck_assert_uint_eq(size_ok("1EB", 1, ULLONG_MAX), 1000000000000000000ULL);
}
END_TEST

START_TEST(test_size_default_scale)
{
    /* A plain number is counted in the caller's unit. */
    ck_assert_uint_eq(size_ok("4", 1024 * 1024, ULLONG_MAX), 4ULL << 20);
    ck_assert_uint_eq(size_ok("4k", 1024 * 1024, ULLONG_MAX), 4096);
}
END_TEST

START_TEST(test_size_limits_and_overflow)
{
    ck_assert_uint_eq(size_ok("18446744073709551615", 1, ULLONG_MAX),
                      ULLONG_MAX);
    ck_assert_uint_eq(size_ok("9223372036854775807", 1, LLONG_MAX), LLONG_MAX);
    ck_assert(strstr(size_bad("9223372036854775808", LLONG_MAX), "too large"));
    ck_assert(strstr(size_bad("18446744073709551616", ULLONG_MAX),
                     "too large"));
    ck_assert(strstr(size_bad("16E", ULLONG_MAX), "too large"));
    ck_assert(strstr(size_bad("8E", LLONG_MAX), "too large"));
    ck_assert(strstr(size_bad("4G", 0xffffffffULL), "too large"));
    ck_assert_uint_eq(size_ok("4294967295", 1, 0xffffffffULL), 0xffffffffULL);
    /* Above 2^32: wrong wherever long is 32 bits and the parser used it. */
    ck_assert_uint_eq(size_ok("5G", 1, ULLONG_MAX), 5ULL << 30);
}
END_TEST

START_TEST(test_size_garbage)
{
    ck_assert(strstr(size_bad("", ULLONG_MAX), "empty"));
    ck_assert(strstr(size_bad("-1", ULLONG_MAX), "not a non-negative"));
    ck_assert(strstr(size_bad(" 1", ULLONG_MAX), "not a non-negative"));
    ck_assert(strstr(size_bad("+1", ULLONG_MAX), "not a non-negative"));
    ck_assert(strstr(size_bad("M", ULLONG_MAX), "not a non-negative"));
    ck_assert(strstr(size_bad("1.5G", ULLONG_MAX), "unknown suffix '.5G'"));
    ck_assert(strstr(size_bad("1X", ULLONG_MAX), "unknown suffix 'X'"));
    ck_assert(strstr(size_bad("1MiBx", ULLONG_MAX), "unknown suffix"));
    ck_assert(strstr(size_bad("1 M", ULLONG_MAX), "unknown suffix"));
    ck_assert(strstr(size_bad("1Mb ", ULLONG_MAX), "unknown suffix"));
    ck_assert(strstr(size_bad("0x10", ULLONG_MAX), "unknown suffix"));
}
END_TEST

/* ---- typed parameters ---------------------------------------------- */

static const bc_typed_param_spec spec[] = {
    { "bandwidth", BC_TYPED_PARAM_ULLONG },
    { "granularity", BC_TYPED_PARAM_UINT },
    { "name", BC_TYPED_PARAM_STRING },
    { NULL, 0 }
};

START_TEST(test_params_add_and_get_every_type)
{
    bc_typed_param *p = NULL;
    int n = 0, max = 0;
    bc_error err;
    int i;
    unsigned int ui;
    long long l;
    unsigned long long ul;
    double d;
    bool b;
    const char *s;

    bc_error_init(&err);
    ck_assert_int_eq(bc_typed_params_add_int(&p, &n, &max, "i", -5, &err), 0);
    ck_assert_int_eq(bc_typed_params_add_uint(&p, &n, &max, "ui", 7, &err), 0);
    ck_assert_int_eq(bc_typed_params_add_llong(&p, &n, &max, "l", LLONG_MIN,
                                               &err), 0);
    ck_assert_int_eq(bc_typed_params_add_ullong(&p, &n, &max, "ul",
                                                ULLONG_MAX, &err), 0);
    ck_assert_int_eq(bc_typed_params_add_double(&p, &n, &max, "d", 2.5, &err),
                     0);
    ck_assert_int_eq(bc_typed_params_add_boolean(&p, &n, &max, "b", true,
                                                 &err), 0);
    ck_assert_int_eq(bc_typed_params_add_string(&p, &n, &max, "s", "text",
                                                &err), 0);
    ck_assert_int_eq(n, 7);

    ck_assert_int_eq(bc_typed_params_get_int(p, n, "i", &i, &err), 1);
    ck_assert_int_eq(i, -5);
    ck_assert_int_eq(bc_typed_params_get_uint(p, n, "ui", &ui, &err), 1);
    ck_assert_uint_eq(ui, 7);
    ck_assert_int_eq(bc_typed_params_get_llong(p, n, "l", &l, &err), 1);
    ck_assert(l == LLONG_MIN);
    ck_assert_int_eq(bc_typed_params_get_ullong(p, n, "ul", &ul, &err), 1);
    ck_assert(ul == ULLONG_MAX);
    ck_assert_int_eq(bc_typed_params_get_double(p, n, "d", &d, &err), 1);
    ck_assert(d == 2.5);
    ck_assert_int_eq(bc_typed_params_get_boolean(p, n, "b", &b, &err), 1);
    ck_assert(b);
    ck_assert_int_eq(bc_typed_params_get_string(p, n, "s", &s, &err), 1);
    ck_assert_str_eq(s, "text");
    ck_assert_int_eq(bc_typed_params_get_int(p, n, "absent", &i, &err), 0);

    /* Present with another type. */
    ck_assert_int_eq(bc_typed_params_get_uint(p, n, "ul", &ui, &err), -1);
    ck_assert_str_eq(err.message, "invalid type 'ullong' for parameter 'ul', "
                                  "expected 'uint'");
    bc_typed_params_free(p, n);
}
END_TEST

START_TEST(test_params_validate_messages)
{
    bc_typed_param *p = NULL;
    int n = 0, max = 0;
    bc_error err;

    bc_error_init(&err);
    ck_assert_int_eq(bc_typed_params_add_ullong(&p, &n, &max, "bandwidth", 1,
                                                &err), 0);
    ck_assert_int_eq(bc_typed_params_validate(p, n, spec, &err), 0);

    ck_assert_int_eq(bc_typed_params_add_int(&p, &n, &max, "x", 1, &err), 0);
    ck_assert_int_eq(bc_typed_params_validate(p, n, spec, &err), -1);
    ck_assert_str_eq(err.message, "parameter 'x' not supported");
    bc_typed_params_free(p, n);

    p = NULL, n = 0, max = 0;
    bc_error_init(&err);
    bc_typed_params_add_int(&p, &n, &max, "bandwidth", 1, &err);
    ck_assert_int_eq(bc_typed_params_validate(p, n, spec, &err), -1);
    ck_assert_str_eq(err.message, "invalid type 'int' for parameter "
                                  "'bandwidth', expected 'ullong'");
    bc_typed_params_free(p, n);

    p = NULL, n = 0, max = 0;
    bc_error_init(&err);
    bc_typed_params_add_uint(&p, &n, &max, "granularity", 512, &err);
    bc_typed_params_add_uint(&p, &n, &max, "granularity", 1024, &err);
    ck_assert_int_eq(bc_typed_params_validate(p, n, spec, &err), -1);
    ck_assert_str_eq(err.message, "parameter 'granularity' occurs multiple "
                                  "times");
    bc_typed_params_free(p, n);
}
END_TEST

START_TEST(test_params_field_too_long)
{
    char name[BC_TYPED_PARAM_FIELD_LENGTH + 8];
    bc_typed_param *p = NULL, raw;
    int n = 0, max = 0;
    bc_error err;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    bc_error_init(&err);
    ck_assert_int_eq(bc_typed_params_add_int(&p, &n, &max, name, 1, &err), -1);
    ck_assert_msg(strstr(err.message, "too long"), "%s", err.message);
    ck_assert_int_eq(n, 0);
    free(p);

    /* A hand-built array whose field has no terminating NUL. */
    memset(&raw, 0, sizeof(raw));
    memset(raw.field, 'b', sizeof(raw.field));
    raw.type = BC_TYPED_PARAM_INT;
    bc_error_init(&err);
    ck_assert_int_eq(bc_typed_params_validate(&raw, 1, spec, &err), -1);
    ck_assert_msg(strstr(err.message, "too long"), "%s", err.message);
}
END_TEST

START_TEST(test_params_free_accepts_null)
{
    bc_typed_params_free(NULL, 0);
    ck_assert_str_eq(bc_typed_param_type_name(BC_TYPED_PARAM_ULLONG), "ullong");
    ck_assert_str_eq(bc_typed_param_type_name(99), "unknown");
}
END_TEST

Suite *size_suite(void)
{
    Suite *s = suite_create("size");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_size_suffixes);
    tcase_add_test(tc, test_size_default_scale);
    tcase_add_test(tc, test_size_limits_and_overflow);
    tcase_add_test(tc, test_size_garbage);
    suite_add_tcase(s, tc);
    return s;
}

Suite *typedparams_suite(void)
{
    Suite *s = suite_create("typedparams");
    TCase *tc = tcase_create("params");

    tcase_add_test(tc, test_params_add_and_get_every_type);
    tcase_add_test(tc, test_params_validate_messages);
    tcase_add_test(tc, test_params_field_too_long);
    tcase_add_test(tc, test_params_free_accepts_null);
    suite_add_tcase(s, tc);
    return s;
}
