/*
 * QEMU's job states and their transitions (see jobstate.h).
 */
#include <string.h>

#include "internal.h"
#include "jobstate.h"

static const char *const names[BC_JS__MAX] = {
    [BC_JS_UNDEFINED] = "undefined",
    [BC_JS_CREATED] = "created",
    [BC_JS_RUNNING] = "running",
    [BC_JS_PAUSED] = "paused",
    [BC_JS_READY] = "ready",
    [BC_JS_STANDBY] = "standby",
    [BC_JS_WAITING] = "waiting",
    [BC_JS_PENDING] = "pending",
    [BC_JS_ABORTING] = "aborting",
    [BC_JS_CONCLUDED] = "concluded",
    [BC_JS_NULL] = "null",
};

/*
 * One row a state: the states QEMU moves a job to from there.  A ready
 * job may also go back to running (a mirror whose target fell behind
 * again does, in some QEMUs); nothing else goes back.
 */
#define S(x) (1u << BC_JS_##x)
static const unsigned int steps[BC_JS__MAX] = {
    [BC_JS_UNDEFINED] = S(CREATED),
    [BC_JS_CREATED] = S(RUNNING) | S(ABORTING) | S(NULL),
    [BC_JS_RUNNING] = S(PAUSED) | S(READY) | S(WAITING) | S(ABORTING),
    [BC_JS_PAUSED] = S(RUNNING),
    [BC_JS_READY] = S(RUNNING) | S(STANDBY) | S(WAITING) | S(ABORTING),
    [BC_JS_STANDBY] = S(READY),
    [BC_JS_WAITING] = S(PENDING) | S(ABORTING),
    [BC_JS_PENDING] = S(ABORTING) | S(CONCLUDED),
    [BC_JS_ABORTING] = S(ABORTING) | S(CONCLUDED),
    [BC_JS_CONCLUDED] = S(NULL),
    [BC_JS_NULL] = 0,
};
#undef S

bc_job_status bc_job_status_parse(const char *name)
{
    int i;

    for (i = 0; name && i < BC_JS__MAX; i++)
        if (strcmp(names[i], name) == 0)
            return (bc_job_status)i;
    return BC_JS_UNDEFINED;
}

const char *bc_job_status_name(bc_job_status status)
{
    return (unsigned)status < BC_JS__MAX ? names[status] : "?";
}

bool bc_job_status_step(bc_job_status from, bc_job_status to)
{
    if ((unsigned)from >= BC_JS__MAX || (unsigned)to >= BC_JS__MAX)
        return false;
    return steps[from] & (1u << to);
}

bool bc_job_status_reachable(bc_job_status from, bc_job_status to)
{
    unsigned int seen, grown;
    int i;

    if ((unsigned)from >= BC_JS__MAX || (unsigned)to >= BC_JS__MAX)
        return false;
    seen = 1u << from;
    do {
        grown = seen;
        for (i = 0; i < BC_JS__MAX; i++)
            if (seen & (1u << i))
                grown |= steps[i];
        if (grown == seen)
            break;
        seen = grown;
    } while (true);
    return seen & (1u << to);
}

bool bc_job_status_is_ready(bc_job_status status)
{
    return status == BC_JS_READY || status == BC_JS_STANDBY;
}
