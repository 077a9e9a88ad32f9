/*
 * Private helpers shared by the library's modules.  Not installed.
 */
#ifndef BC_INTERNAL_H
#define BC_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "blockcopy.h"

#define BC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
# define BC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
# define BC_PRINTF(f, a)
#endif

/*
 * Fill 'err' (which may be NULL) and return -1, so that failing paths can
 * say "return bc_set_error(...)".  A second error does not overwrite the
 * first: the first cause is the one the user needs.
 */
int bc_set_error(bc_error *err, bc_error_code code, const char *fmt, ...)
    BC_PRINTF(3, 4);

/* As bc_set_error(), appending ": strerror(errnum)" and keeping errnum. */
int bc_set_error_errno(bc_error *err, bc_error_code code, int errnum,
                       const char *fmt, ...) BC_PRINTF(4, 5);

/* Record QEMU's error reply.  'cmd' names the command that failed. */
int bc_set_error_qmp(bc_error *err, const char *cls, const char *desc);

/* Report an allocation failure. */
int bc_set_error_oom(bc_error *err);

/* True when 'err' holds an error. */
static inline bool bc_error_isset(const bc_error *err)
{
    return err && err->code != BC_ERR_NONE;
}

/* Microseconds on the monotonic clock. */
int64_t bc_now_us(void);

/* Milliseconds left until 'deadline_us' (monotonic), at least 0; -1 if
 * there is no deadline (deadline_us == 0). */
int bc_ms_until(int64_t deadline_us);

/* "user 'nobody' (uid 65534)", or "uid 1234" for a uid without a user
 * name, in 'buf'; returns 'buf'. */
const char *bc_user_describe(uid_t uid, char *buf, size_t len);

/* strdup() that accepts NULL. */
char *bc_strdup0(const char *s);

/* A string in a fixed buffer, always terminated; returns 'dst'. */
char *bc_strlcpy(char *dst, const char *src, size_t size);

/* True when 's' starts with 'prefix'. */
static inline bool bc_str_has_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (*s != *prefix)
            return false;
    return true;
}

#endif /* BC_INTERNAL_H */
