/*
 * The VM's disks as QEMU reports them.  Internal.
 */
#ifndef BC_DISK_H
#define BC_DISK_H

#include "conn.h"

typedef struct bc_disk {
    char *target;           /* "vda", or NULL if unknown */
    char *qdev;             /* query-block's qdev: an id or a QOM path */
    char *device_id;        /* the qdev id, or NULL for anonymous devices */
    char *drive;            /* the -drive id, or NULL for -blockdev disks */
    char *node;             /* the root node, or NULL when empty */
    char *format;           /* "qcow2" */
    char *filename;         /* the image, as QEMU names it */
    unsigned long long virtual_size;
    unsigned long long cluster_size;    /* 0 if the format has none */
    char *backing_file;     /* absolute name of the backing image, or NULL */
    char *backing_format;
    char **chain;           /* every image file of the chain, top first */
    bool removable;         /* a CD-ROM or floppy drive */
    bool empty;             /* no medium */
    bool readonly;
    char *bus;              /* "virtio", "scsi", ... or NULL */
    char *token;            /* names the tool's job and nodes for this disk */
    int index;              /* place in query-block's list */
} bc_disk;

void bc_disk_clear(bc_disk *disk);
void bc_disks_free_internal(bc_disk *disks, size_t ndisks);

/* Every block device of the VM, in query-block order. */
int bc_disks_query(bc_conn *conn, bc_disk **disks, size_t *ndisks,
                   bc_error *err);

/*
 * Find the disk 'name' refers to and move it into *disk.  Fails with
 * BC_ERR_NO_DISK naming the disks there are, or the candidates when the
 * name is ambiguous.
 */
int bc_disk_lookup(bc_conn *conn, const char *name, bc_disk *disk,
                   bc_error *err);

/* Work out the target names (vda, sda, hda) of 'disks'.  Best effort:
 * a disk whose place cannot be told keeps target NULL. */
void bc_disks_name_targets(bc_conn *conn, bc_disk *disks, size_t ndisks);

/* Sort disks by target name (vd*, sd*, hd*, fd*, then the rest). */
void bc_disks_sort(bc_disk *disks, size_t ndisks);

/* The name to show for a disk: its target, device id, drive or node. */
const char *bc_disk_label(const bc_disk *disk);

/* Are 'a' and 'b' the same disk (as two queries report it)? */
bool bc_disk_same(const bc_disk *a, const bc_disk *b);

/* The tool's job id for a disk ("bc-drive0"); caller frees. */
char *bc_disk_job_id(const bc_disk *disk);

#endif /* BC_DISK_H */
