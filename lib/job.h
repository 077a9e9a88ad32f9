/*
 * Block jobs.  Internal.
 */
#ifndef BC_JOB_H
#define BC_JOB_H

#include "disk.h"

/*
 * Find the block job working on 'disk'.  Returns 1 with *job set to its
 * query-block-jobs entry (new reference), 0 when there is none, -1.
 */
int bc_job_find(bc_conn *conn, const bc_disk *disk, json_object **job,
                bc_error *err);

/*
 * Remove the nodes the tool added for 'disk' that nothing uses any more.
 * Best effort: a node still in use is left alone, by QEMU's own check.
 */
void bc_job_cleanup_nodes(bc_conn *conn, const bc_disk *disk);

#endif /* BC_JOB_H */
