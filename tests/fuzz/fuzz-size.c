/*
 * bc_parse_size() with any string, default scale and limit: it either
 * fails with a message or returns a value within the limit that prints
 * back to itself.
 */
#include <limits.h>
#include <stdio.h>

#include "fuzz.h"
#include "internal.h"

static const unsigned long long scales[] = { 0, 1, 1024, 1024 * 1024 };
static const unsigned long long limits[] = {
    ULLONG_MAX, LLONG_MAX, UINT_MAX, 64ULL << 20, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned long long value = 0, again = 0, scale, max;
    char *str, buf[32];
    bc_error err;

    /* The first byte picks the default scale and the limit. */
    if (size < 1)
        return 0;
    scale = scales[data[0] & 3];
    max = limits[(data[0] >> 2) % (sizeof(limits) / sizeof(limits[0]))];
    if (!(str = fuzz_string(data + 1, size - 1)))
        return 0;

    bc_error_init(&err);
    if (bc_parse_size(str, scale, max, &value, &err) < 0) {
        FUZZ_ASSERT(err.code == BC_ERR_INVALID_ARG && err.message[0]);
    } else {
        FUZZ_ASSERT(value <= max);
        snprintf(buf, sizeof(buf), "%llu", value);
        FUZZ_ASSERT(bc_parse_size(buf, 1, max, &again, &err) == 0);
        FUZZ_ASSERT(again == value);
    }
    free(str);
    return 0;
}
