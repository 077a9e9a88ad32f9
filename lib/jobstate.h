/*
 * The life of a QEMU job as QEMU's qapi JobStatus describes it, and the
 * transitions QEMU makes between those states.  A watched job is in one
 * of them; an event may move it one step along the table, and a query
 * (which may have missed steps) to any state reachable from it.  A claim
 * that fits neither is about another job of the same id: an earlier one
 * whose events were still queued, or a later one.  Internal.
 */
#ifndef BC_JOBSTATE_H
#define BC_JOBSTATE_H

#include <stdbool.h>

/* In QEMU's order. */
typedef enum {
    BC_JS_UNDEFINED,
    BC_JS_CREATED,
    BC_JS_RUNNING,
    BC_JS_PAUSED,
    BC_JS_READY,
    BC_JS_STANDBY,
    BC_JS_WAITING,
    BC_JS_PENDING,
    BC_JS_ABORTING,
    BC_JS_CONCLUDED,
    BC_JS_NULL,             /* gone: dismissed */
    BC_JS__MAX
} bc_job_status;

/* "running" -> BC_JS_RUNNING; NULL or an unknown name -> BC_JS_UNDEFINED. */
bc_job_status bc_job_status_parse(const char *name);

const char *bc_job_status_name(bc_job_status status);

/* Can QEMU move a job from 'from' to 'to' in one transition? */
bool bc_job_status_step(bc_job_status from, bc_job_status to);

/* ... or in any number of them (none included)? */
bool bc_job_status_reachable(bc_job_status from, bc_job_status to);

/* The job has reached the copy's mirroring phase (ready, or paused
 * while ready). */
bool bc_job_status_is_ready(bc_job_status status);

#endif /* BC_JOBSTATE_H */
