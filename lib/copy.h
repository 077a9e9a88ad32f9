/*
 * A copy checked before it starts, kept until it is known to stand: the
 * copies of a group.  Internal.
 */
#ifndef BC_COPY_H
#define BC_COPY_H

#include "disk.h"
#include "job.h"

typedef struct copy bc_copy;

/* Make every check bc_block_copy() makes before anything changes. */
bc_copy *bc_copy_new(bc_conn *conn, const char *disk, const char *destxml,
                     const bc_typed_param *params, int nparams,
                     unsigned int flags, bc_error *err);
/* Make the copy and start its job; a failure rolls back what it did. */
int bc_copy_start(bc_copy *c, bc_error *err);
/* Undo a started copy, newest step first: its job cancelled, its nodes
 * and objects removed, the file it made unlinked unless QEMU still uses
 * it.  True when all of it is known to be undone. */
bool bc_copy_undo(bc_copy *c);
const bc_disk *bc_copy_disk(const bc_copy *c);
/* The destination's path (a file or a device), NULL over the network. */
const char *bc_copy_local_path(const bc_copy *c);
const char *bc_copy_job_id(const bc_copy *c);
bc_job_record *bc_copy_record(bc_copy *c);
/* The speed its job starts with, bytes/s. */
void bc_copy_set_bandwidth(bc_copy *c, unsigned long long bandwidth);
void bc_copy_free(bc_copy *c);

#endif /* BC_COPY_H */
