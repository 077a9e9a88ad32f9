/*
 * Files the tool creates itself and hands to QEMU as descriptors.
 *
 * QEMU opening a path the tool has checked leaves a window: anyone who
 * can write into the directory can put a symbolic link there in between,
 * and QEMU writes the guest's disk wherever it points.  So the tool
 * creates the file (O_CREAT|O_EXCL|O_NOFOLLOW, relative to the directory
 * it opened) and passes the descriptor over the monitor socket ("add-fd");
 * QEMU then opens "/dev/fdset/N", which is that file whatever happens to
 * the path.  The fd set carries a note, "NODE DEV:INO PATH": the
 * protocol node that uses it, the file's identity and its path, so that
 * any later run can name the file again, tell whether the path still
 * leads to it, and remove the set once its node is gone.
 */
#ifndef BC_FDSET_H
#define BC_FDSET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "conn.h"

#define BC_FDSET_PREFIX "/dev/fdset/"

/*
 * Create the absolute 'path' for a copy, mode 0600 (the guest's data is
 * nobody else's), owned by 'uid':'gid' (QEMU's user) when the tool runs
 * as root and 'uid' is not (uid_t)-1.  Refused: an existing name
 * (symbolic links included), a directory that others may write without
 * the sticky bit (they could swap the file under the copy).  Returns the
 * descriptor (O_RDWR, close-on-exec) with *st, or -1 with 'err'.
 */
int bc_file_create(const char *path, uid_t uid, gid_t gid, struct stat *st,
                   bc_error *err);

/* Open the existing 'path' (--reuse-external) read-write: a regular file
 * never through a symbolic link, or a block device ('block').  Returns the
 * descriptor with *st, or -1 with 'err'. */
int bc_file_open_existing(const char *path, bool block, struct stat *st,
                          bc_error *err);

/*
 * Pass 'fd' to QEMU (add-fd) with the note for protocol node 'node', the
 * file *st at 'path'.  On success 'name' (at least 32 bytes) holds the
 * name QEMU opens it by, "/dev/fdset/N", and *fdset the set's id (-1 in
 * dry-run mode).
 */
int bc_fdset_add(bc_conn *conn, int fd, const char *node,
                 const struct stat *st, const char *path, char *name,
                 int64_t *fdset, bc_error *err);

/* Does a set in 'fdsets' (query-fdsets) carry a note for 'node'?  A set
 * QEMU keeps listing after remove-fd (7.2 does while the VM is paused)
 * must not be taken for a new node of that name. */
bool bc_fdset_names_node(json_object *fdsets, const char *node);

/* remove-fd: QEMU closes the set's descriptor once no node uses it. */
void bc_fdset_remove(bc_conn *conn, int64_t fdset);

/* In every string of 'tree', replace "/dev/fdset/N" of a set the tool
 * made by the path of its file.  Best effort: on any failure the names
 * stay as QEMU gave them. */
void bc_fdset_name_files(bc_conn *conn, json_object *tree);

/*
 * Does the path of the file handed to QEMU for protocol node 'node' still
 * lead to that file (not removed, renamed or replaced)?  0 if it does or
 * no file was handed over for 'node'; -1 with 'err' if not or unknown.
 */
int bc_fdset_check(bc_conn *conn, const char *node, bc_error *err);

/* Remove the sets made for nodes named "PREFIX..." that are not in
 * 'nodes' (query-named-block-nodes) any more. */
void bc_fdset_cleanup(bc_conn *conn, const char *prefix, json_object *nodes);

#endif /* BC_FDSET_H */
