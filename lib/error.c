/*
 * The error object and small utilities every module needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void bc_error_init(bc_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

const char *bc_error_code_name(bc_error_code code)
{
    static const char *const names[] = {
        [BC_ERR_NONE] = "none",
        [BC_ERR_INTERNAL] = "internal",
        [BC_ERR_INVALID_ARG] = "invalid-arg",
        [BC_ERR_XML] = "xml",
        [BC_ERR_NO_DOMAIN] = "no-domain",
        [BC_ERR_NO_DISK] = "no-disk",
        [BC_ERR_JOB_EXISTS] = "job-exists",
        [BC_ERR_NO_JOB] = "no-job",
        [BC_ERR_NOT_READY] = "not-ready",
        [BC_ERR_UNSUPPORTED] = "unsupported",
        [BC_ERR_SYSTEM] = "system",
        [BC_ERR_CONNECT] = "connect",
        [BC_ERR_BUSY] = "busy",
        [BC_ERR_TIMEOUT] = "timeout",
        [BC_ERR_PROTOCOL] = "protocol",
        [BC_ERR_CLOSED] = "closed",
        [BC_ERR_QMP] = "qmp",
        [BC_ERR_JOB_FAILED] = "job-failed",
        [BC_ERR_ABORTED] = "aborted",
        [BC_ERR_INTERRUPTED] = "interrupted",
        [BC_ERR_NO_REPLY] = "no-reply",
        [BC_ERR_UNCERTAIN] = "uncertain",
        [BC_ERR_DEST_CHANGED] = "destination-changed",
    };

    if ((unsigned)code < BC_ARRAY_SIZE(names) && names[code])
        return names[code];
    return "unknown";
}

bool bc_error_is_usage(const bc_error *err)
{
    if (!err)
        return false;
    switch (err->code) {
    case BC_ERR_INVALID_ARG:
    case BC_ERR_XML:
    case BC_ERR_NO_DOMAIN:
    case BC_ERR_NO_DISK:
    case BC_ERR_JOB_EXISTS:
    case BC_ERR_NO_JOB:
    case BC_ERR_UNSUPPORTED:
        return true;
    default:
        return false;
    }
}

static int set_errorv(bc_error *err, bc_error_code code, int errnum,
                      const char *fmt, va_list ap)
{
    size_t len;

    if (!err || err->code != BC_ERR_NONE)
        return -1;
    err->code = code;
    err->sys_errno = errnum;
    err->qmp_class[0] = '\0';
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    if (errnum) {
        len = strlen(err->message);
        snprintf(err->message + len, sizeof(err->message) - len, ": %s",
                 strerror(errnum));
    }
    return -1;
}

int bc_set_error(bc_error *err, bc_error_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_errorv(err, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int bc_set_error_errno(bc_error *err, bc_error_code code, int errnum,
                       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_errorv(err, code, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int bc_set_error_qmp(bc_error *err, const char *cls, const char *desc)
{
    if (!err || err->code != BC_ERR_NONE)
        return -1;
    /* An empty reason (or one that starts with "\u0000") would leave
     * nothing after "error: ". */
    bc_set_error(err, BC_ERR_QMP, "%s",
                 desc && *desc ? desc : "unknown QEMU error");
    bc_strlcpy(err->qmp_class, cls ? cls : "", sizeof(err->qmp_class));
    return -1;
}

int bc_set_error_oom(bc_error *err)
{
    return bc_set_error_errno(err, BC_ERR_INTERNAL, ENOMEM, "out of memory");
}

int64_t bc_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int bc_ms_until(int64_t deadline_us)
{
    int64_t left;

    if (deadline_us == 0)
        return -1;
    left = deadline_us - bc_now_us();
    if (left <= 0)
        return 0;
    /* Round up so that a wait never ends just before the deadline. */
    return (int)((left + 999) / 1000);
}

char *bc_strdup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *bc_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size == 0)
        return dst;
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return dst;
}
