/*
 * The libFuzzer entry points.  Each fuzz-*.c defines them for one target;
 * linked with -fsanitize=fuzzer they are driven by libFuzzer, linked with
 * replay.c they run the saved corpus once (make check), no clang needed.
 */
#ifndef BC_FUZZ_H
#define BC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: abort, so that libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond)                                                    \
    do {                                                                     \
        if (!(cond))                                                         \
            fuzz_fail(__FILE__, __LINE__, #cond);                            \
    } while (0)

static inline __attribute__((noreturn)) void
fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

/* The input as a C string: a copy that ends at its first NUL. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif /* BC_FUZZ_H */
