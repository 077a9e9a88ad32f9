/*
 * Sizes with libvirt's scaled-integer suffixes.
 *
 * Everything is unsigned long long so that the parser behaves the same
 * where long is 32 bits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int scale_for(const char *suffix, unsigned long long def,
                     unsigned long long *scale)
{
    unsigned long long base;
    int exp;

    if (!*suffix) {
        *scale = def;
        return 0;
    }
    if (tolower((unsigned char)suffix[0]) == 'b' && !suffix[1]) {
        *scale = 1;
        return 0;
    }
    if (!suffix[1] || strcasecmp(suffix + 1, "iB") == 0)
        base = 1024;
    else if (tolower((unsigned char)suffix[1]) == 'b' && !suffix[2])
        base = 1000;
    else
        return -1;

    switch (tolower((unsigned char)suffix[0])) {
    case 'k': exp = 1; break;
    case 'm': exp = 2; break;
    case 'g': exp = 3; break;
    case 't': exp = 4; break;
    case 'p': exp = 5; break;
    case 'e': exp = 6; break;
    default: return -1;
    }
    for (*scale = 1; exp > 0; exp--)
        *scale *= base;
    return 0;
}

int bc_parse_size(const char *str, unsigned long long default_scale,
                  unsigned long long max, unsigned long long *value,
                  bc_error *err)
{
    unsigned long long v, scale;
    char *end;

    if (!str || !*str)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "empty size");
    /* strtoull() would skip blanks and negate "-1" into a huge number. */
    if (!isdigit((unsigned char)str[0]))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "invalid size '%s': not a non-negative integer",
                            str);
    errno = 0;
    v = strtoull(str, &end, 10);
    if (errno == ERANGE)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "size '%s' is too large", str);
    if (scale_for(end, default_scale ? default_scale : 1, &scale) < 0)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "invalid size '%s': unknown suffix '%s'", str, end);
    if (v > max / scale)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "size '%s' is too large (at most %llu bytes)",
                            str, max);
    *value = v * scale;
    return 0;
}
