/*
 * Block jobs.  Internal.
 */
#ifndef BC_JOB_H
#define BC_JOB_H

#include "disk.h"

/*
 * What a copy leaves in QEMU to be read by whichever run of the tool sees
 * its job end: the disk's root node before the copy, the copy's node,
 * and the old chain's nodes to close after a pivot.  It lives in QEMU as
 * a secret object "bc-TOKEN-r" whose data is this record as JSON (a
 * secret object is the one object every QEMU can create that holds a
 * string and gives it back through qom-get; it holds no secret), so that
 * it survives a killed run and goes wherever the VM goes.
 */
typedef struct bc_job_record {
    char *job;              /* the job id */
    char *root;             /* the disk's root node before the copy */
    char *target;           /* the copy's format node, or NULL */
    char **release;         /* nodes to delete after a pivot, parents first */
    char *file;             /* the file the tool created for the copy, or
                               NULL: removed if the copy fails */
    unsigned long long dev, ino;    /* which file that is */
} bc_job_record;

void bc_job_record_clear(bc_job_record *rec);

/* The id of the record's object for 'disk' ("bc-drive0-r"). */
void bc_job_record_id(const bc_disk *disk, char *buf, size_t size);

/* Work out the record of a copy of 'disk' into node 'target' (may be
 * NULL) from the live graph. */
int bc_job_record_make(bc_conn *conn, const bc_disk *disk, const char *job,
                       const char *target, bc_job_record *rec, bc_error *err);

/* Store it in QEMU (replacing one left there). */
int bc_job_record_save(bc_conn *conn, const bc_disk *disk,
                       const bc_job_record *rec, bc_error *err);

/* Remove the record of 'disk' from QEMU, if there is one.  Best effort. */
void bc_job_record_drop(bc_conn *conn, const bc_disk *disk);

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

/*
 * Settle what an earlier run left on 'disk': a guest it left paused, a
 * copy of the tool's that ended with nobody waiting for it (when
 * 'concluded' is true), and the old chain of a pivot whose job is gone.
 * Each finding is reported through the connection's warning callback.
 * A running job is left alone.  Fails only when QEMU cannot be asked.
 */
int bc_job_tidy(bc_conn *conn, const bc_disk *disk, bool concluded,
                bc_error *err);

/*
 * Wait until job 'id' (of any kind: a blockdev-create job too) has
 * concluded or is gone, at most 'timeout_ms' (BC_ERR_TIMEOUT), or until
 * 'interrupt_fd' (-1: none) is readable (BC_ERR_INTERRUPTED).  On
 * success *error is QEMU's reason if the job failed (caller frees), or
 * NULL.  The job is not dismissed.
 */
int bc_job_wait_concluded(bc_conn *conn, const char *id, int timeout_ms,
                          int interrupt_fd, char **error, bc_error *err);

/*
 * Watches: what the wait knows of one job, kept across waits, for the
 * copies of a group.  bc_watch_new() finds the job of disk 'name' (the
 * string is borrowed for as long as the watch lives; 'member' is its
 * place in the group, both told in events) and reads its state.
 */
struct watch;
struct watch *bc_watch_new(bc_conn *conn, const char *name, int member,
                           const bc_wait_opts *opts, bc_error *err);
void bc_watch_free(struct watch *w);
/* Wait for something else now (BC_WAIT_READY, _PIVOT, _FINISH, _ABORT);
 * its state is read again first.  A pivot or finish asked this way is a
 * group's switch: the interrupt does not stop its wait, and the watch is
 * done once the job has ended (bc_watch_ended()), before its outcome is
 * read and its leftovers cleaned up by bc_watch_conclude(). */
void bc_watch_set_until(struct watch *w, bc_wait_until until);
/*
 * The wait loop over several watches, on one monitor or several: returns
 * once one of them reached what it waits for or ended (0), or failed
 * (-1); *which says which.  'deadline' (bc_now_us(); 0: none) counts
 * until an end is asked for.
 */
int bc_watch_any(struct watch **ws, size_t n, int64_t deadline,
                 size_t *which, bc_error *err);
bool bc_watch_ended(const struct watch *w);
int bc_watch_conclude(struct watch *w, bc_error *err);
bc_job_event_type bc_watch_outcome(const struct watch *w);
/* Pause the guest of 'conn' if it runs (*paused: whether it was paused
 * here), leaving a mark that says why (group.c). */
int bc_vm_pause(bc_conn *conn, const char *why, bool *paused, bc_error *err);
/* Resume a guest bc_vm_pause() paused, and remove the mark. */
int bc_vm_resume(bc_conn *conn, bc_error *err);
/* A run killed while the guest was paused left a mark: resume the guest
 * it paused. */
void bc_vm_resume_left_paused(bc_conn *conn);
bool bc_watch_ready(const struct watch *w);
const char *bc_watch_job_id(const struct watch *w);
/* The job's speed limit as last seen or set. */
unsigned long long bc_watch_speed(const struct watch *w);
void bc_watch_set_speed(struct watch *w, unsigned long long speed);

#endif /* BC_JOB_H */
